import { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { MeshscopeError } from '../../src/errors.js'
import { Identity } from '../../src/identity/identity.js'
import { signSignal } from '../../src/mesh/signed-signal.js'
import type { Mesh } from '../../src/mesh/mesh.js'
import * as mpsc from '../../src/channels/mpsc.js'
import { helloSigningText, PROTOCOL_VERSION } from '../../src/signaling/protocol.js'
import type { SignalingServer } from '../../signaling/index.js'
import { closeChecked, fullMesh, joinMesh, startServer, until } from './helpers.js'

describe('Mesh over wrtc and a real signaling server', () => {
  const servers: SignalingServer[] = []
  const meshes: Mesh[] = []
  const sockets: WebSocket[] = []

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate()
    try {
      await closeChecked(meshes.splice(0))
    } finally {
      await Promise.all(servers.splice(0).map((server) => server.close()))
    }
  })

  const server = async (options = {}) => {
    const started = await startServer(options)
    servers.push(started)
    return started
  }
  const join = async (url: string, room = 'unit', options = {}) => {
    const mesh = await joinMesh(url, room, options)
    meshes.push(mesh)
    return mesh
  }

  it('three peers form a full mesh, announce joins and exchange ordered mailbox messages', async () => {
    const { url } = (await server()).address()
    const [a, b, c] = await Promise.all([join(url), join(url), join(url)])
    const joins: string[] = []
    a!.on('peer:join', (id) => joins.push(id))
    await fullMesh([a!, b!, c!])
    expect(a!.peers).toEqual([b!.id, c!.id].sort())
    expect(joins.length).toBeLessThanOrEqual(2)

    const atC: string[] = []
    c!.register<string>('inbox', (value, { from }) => void atC.push(`${from === a!.id ? 'a' : 'b'}:${value}`))
    for (let i = 0; i < 100; i++) void a!.send(c!.id, 'inbox', String(i))
    await b!.send(c!.id, 'inbox', 'from b')
    await until('all messages', () => atC.length === 101)
    expect(atC.filter((m) => m.startsWith('a:'))).toEqual([...Array(100).keys()].map((i) => `a:${i}`))
    expect(atC).toContain('b:from b')
  })

  it('refuses bad sends with codes, reports unknown mailboxes and failing handlers, and keeps working', async () => {
    const { url } = (await server()).address()
    const [a, b] = await Promise.all([join(url), join(url)])
    await fullMesh([a!, b!])
    const errorsAtA: string[] = []
    const errorsAtB: string[] = []
    a!.on('error', (error) => errorsAtA.push(error.code))
    b!.on('error', (error) => errorsAtB.push(error.code))
    await expect(a!.send('0'.repeat(32), 'inbox', 1)).rejects.toMatchObject({ code: 'PEER_NOT_CONNECTED' })
    await expect(a!.send(b!.id, '', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(a!.send(b!.id, 'inbox', { s: Symbol('cannot travel') })).rejects.toMatchObject({ code: expect.stringMatching(/^CODEC_/) })
    expect(() => b!.register('inbox', () => {})).not.toThrow()
    expect(() => b!.register('inbox', () => {})).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))

    await expect(a!.send(b!.id, 'nobody-here', 1)).rejects.toMatchObject({ code: 'UNKNOWN_MAILBOX' })

    b!.register('throws', () => {
      throw new Error('boom')
    })
    await a!.send(b!.id, 'throws', 1)
    await until('HANDLER_FAILED at the receiver', () => errorsAtB.includes('HANDLER_FAILED'))

    const received: number[] = []
    b!.register<Uint8Array>('big', (value) => void received.push(value.byteLength))
    await a!.send(b!.id, 'big', new Uint8Array(2 * 1024 * 1024))
    await until('the 2 MiB message', () => received.length === 1)
    expect(received).toEqual([2 * 1024 * 1024])

    const local: string[] = []
    a!.register<string>('self', (value, { from }) => void local.push(`${from === a!.id}:${value}`))
    await a!.send(a!.id, 'self', 'no network')
    await until('the local delivery', () => local.length === 1)
    expect(local).toEqual(['true:no network'])

    // `once` hears the next event only, `off` removes a listener; the emitter itself is not public.
    // A handler here that throws on a send reports HANDLER_FAILED on this mesh.
    a!.register('throws-here', () => {
      throw new Error('boom')
    })
    const heardOnce: string[] = []
    const heard: string[] = []
    const listener = (error: MeshscopeError) => void heard.push(error.code)
    a!.once('error', (error) => heardOnce.push(error.code))
    a!.on('error', listener)
    await a!.send(a!.id, 'throws-here', 2)
    await until('the first HANDLER_FAILED', () => heard.length === 1)
    a!.off('error', listener)
    await a!.send(a!.id, 'throws-here', 3)
    await until('the second HANDLER_FAILED', () => errorsAtA.filter((code) => code === 'HANDLER_FAILED').length === 2)
    expect(heardOnce).toEqual(['HANDLER_FAILED'])
    expect(heard).toEqual(['HANDLER_FAILED'])
    expect('events' in a!).toBe(false)
  })

  it('a send resolves once the peer accepted it; a full mailbox and a silent handler reach the sender with codes', async () => {
    const { url } = (await server()).address()
    const [a, b] = await Promise.all([join(url, 'unit', { callTimeoutMs: 300 }), join(url)])
    await fullMesh([a!, b!])
    const box = b!.mailbox<number>('small', { capacity: 2 })
    await a!.send(b!.id, 'small', 1)
    expect(box.size).toBe(1) // accepted means queued: no wait needed
    await a!.send(b!.id, 'small', 2)
    await expect(a!.send(b!.id, 'small', 3)).rejects.toMatchObject({ code: 'MAILBOX_FULL' })
    expect([(await box.receive()).value, (await box.receive()).value]).toEqual([1, 2])
    box.close()

    // A call with no timeout of its own gets the mesh's callTimeoutMs.
    b!.register('silent', () => new Promise(() => {}))
    const started = Date.now()
    await expect(a!.call(b!.id, 'silent', 1)).rejects.toMatchObject({ code: 'TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(3_000)
  })

  it('limits given at join bound each peer; stats() shows what each peer holds', async () => {
    const { url } = (await server()).address()
    const limits = { mux: { maxStreams: 4 }, channels: { maxReceivedCapacity: 8 }, serve: { maxCallsInService: 4 } }
    const [a, b] = await Promise.all([join(url), join(url, 'unit', { limits })])
    await fullMesh([a!, b!])
    const session = b!.connectionTo(a!.id)!.session
    expect(session.config.maxStreams).toBe(4)
    expect(session.config.keepaliveIntervalMs).toBe(1_000) // from heartbeatIntervalMs, not limits
    expect(b!.connectionTo(a!.id)!.channelLimits.maxReceivedCapacity).toBe(8)
    // Five calls held by a handler that waits: b serves four of a's calls and refuses the fifth.
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let started = 0
    b!.register('wait', () => {
      started++
      return released
    })
    const calls = Array.from({ length: 5 }, () =>
      a!.call(b!.id, 'wait', 1).then(
        () => 'ok',
        (error: { code: string }) => error.code,
      ),
    )
    await until('b serves four calls', () => started === 4)
    expect(b!.stats().peers[a!.id]?.streams).toBe(1) // a's call stream
    expect(Object.keys(b!.stats().peers)).toEqual([a!.id])
    release()
    expect((await Promise.all(calls)).sort()).toEqual(['TOO_MANY_REQUESTS', 'ok', 'ok', 'ok', 'ok'])
  })

  it("a channel half inside a mailbox message arrives live (the design's counter example)", async () => {
    const { url } = (await server()).address()
    const [client, counter] = await Promise.all([join(url), join(url)])
    await fullMesh([client!, counter!])
    counter!.register<{ upTo: number; tx: mpsc.Sender<number> }>('counter', async ({ upTo, tx }) => {
      for (let i = 0; i < upTo; i++) await tx.send(i)
      tx.close()
    })
    const [tx, rx] = mpsc.channel<number>()
    await client!.send(counter!.id, 'counter', { upTo: 10, tx })
    const received: number[] = []
    for await (const i of rx) received.push(i)
    expect(received).toEqual([...Array(10).keys()])
  })

  it('close says goodbye: the others see the leave at once; close is idempotent and later sends fail', async () => {
    const { url } = (await server()).address()
    const [a, b] = await Promise.all([join(url), join(url)])
    await fullMesh([a!, b!])
    const leaves: string[] = []
    b!.on('peer:leave', (id, reason) => leaves.push(`${id}:${reason}`))
    const started = Date.now()
    await Promise.all([a!.close(), a!.close()])
    await until('the leave', () => leaves.length === 1)
    expect(leaves).toEqual([`${a!.id}:goodbye`])
    expect(Date.now() - started).toBeLessThan(3000)
    expect(a!.state).toBe('closed')
    await expect(a!.send(b!.id, 'inbox', 'late')).rejects.toMatchObject({ code: 'MESH_CLOSED' })
  })

  it('join fails with a code: unreachable server, bad arguments, full room, aborted', async () => {
    const srv = await server({ maxRoomSize: 1 })
    const { url, port } = srv.address()
    await srv.close()
    servers.pop()
    await expect(joinMesh(url, 'unit')).rejects.toMatchObject({ code: 'SIGNALING_UNREACHABLE' })
    await expect(joinMesh(`ws://127.0.0.1:${port}`, 'bad room name!')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(joinMesh('http://127.0.0.1:1', 'unit')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })

    const small = (await server({ maxRoomSize: 1 })).address().url
    await join(small, 'tiny')
    const refused = await joinMesh(small, 'tiny').catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(MeshscopeError)
    expect(refused).toMatchObject({ code: 'SIGNALING_REFUSED' })
    expect(String((refused as Error).message)).toContain('ROOM_FULL')

    const controller = new AbortController()
    controller.abort()
    await expect(joinMesh(small, 'other', { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('keeps its links while the signaling server is gone and rejoins under the same id when it returns', async () => {
    const first = await server()
    const { url, port } = first.address()
    const [a, b] = await Promise.all([join(url), join(url)])
    await fullMesh([a!, b!])
    const states: string[] = []
    a!.on('signaling', (state) => states.push(state))
    await first.close()
    servers.pop()
    await until('a to notice', () => a!.signalingState === 'reconnecting')

    const atB: string[] = []
    b!.register<string>('inbox', (value) => void atB.push(value))
    await a!.send(b!.id, 'inbox', 'during the outage')
    await until('the message', () => atB.length === 1)
    expect(a!.peers).toEqual([b!.id])

    await server({ port })
    await until('both to rejoin', () => a!.signalingState === 'joined' && b!.signalingState === 'joined', 15_000)
    expect(states).toEqual(['reconnecting', 'joined'])
    const c = await join(url)
    await fullMesh([a!, b!, c])
  })

  it('refuses forged and misdirected signals and goes on', async () => {
    const srv = await server()
    const { url } = srv.address()
    const victim = await join(url, 'forge')
    const errors: string[] = []
    victim.on('error', (error) => errors.push(error.code))

    // An intruder with its own key joins the room and sends signals the victim must refuse.
    const intruder = await Identity.generate()
    const socket = new WebSocket(url)
    sockets.push(socket)
    const messages: Array<{ type: string }> = []
    socket.on('message', (data) => messages.push(JSON.parse(String(data))))
    await until('the challenge', () => messages.length === 1)
    const nonce = (messages[0] as unknown as { nonce: string }).nonce
    socket.send(
      JSON.stringify({
        type: 'hello',
        version: PROTOCOL_VERSION,
        room: 'forge',
        publicKey: intruder.publicKey,
        signature: await intruder.sign(helloSigningText(nonce, 'forge'), 'hello'),
      }),
    )
    await until('the welcome', () => messages.some((m) => m.type === 'welcome'))

    const offer = { kind: 'description' as const, type: 'offer' as const, sdp: 'v=0' }
    const lower = intruder.id < victim.id
    // 1. a signature by a different key
    const other = await Identity.generate()
    socket.send(
      JSON.stringify({
        type: 'signal',
        to: victim.id,
        payload: await signSignal(other, { room: 'forge', from: intruder.id, to: victim.id, session: 'session-1', signal: offer }),
      }),
    )
    // 2. correctly signed, but for another recipient
    socket.send(
      JSON.stringify({
        type: 'signal',
        to: victim.id,
        payload: await signSignal(intruder, { room: 'forge', from: intruder.id, to: '0'.repeat(32), session: 'session-2', signal: offer }),
      }),
    )
    // 3. garbage payload
    socket.send(JSON.stringify({ type: 'signal', to: victim.id, payload: { body: 42 } }))
    await until('three refusals', () => errors.filter((code) => code === 'BAD_SIGNAL').length >= 3)
    // 4. a correctly signed offer: accepted only if the intruder has the lower id (the lower id initiates)
    socket.send(
      JSON.stringify({
        type: 'signal',
        to: victim.id,
        payload: await signSignal(intruder, { room: 'forge', from: intruder.id, to: victim.id, session: 'session-4', signal: offer }),
      }),
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    // A higher id's offer is refused; a lower id's garbage SDP fails only that link attempt. Either way nothing crashes.
    expect(errors.filter((code) => code === 'BAD_SIGNAL').length).toBe(lower ? 3 : 4)
    expect(victim.state).toBe('open')

    // The victim still meshes with honest peers.
    const honest = await join(url, 'forge')
    await fullMesh([victim, honest])
  })

  it('a peer that leaves and rejoins with the same identity keeps its id and reconnects', async () => {
    const { url } = (await server()).address()
    const identity = await Identity.generate()
    const [a, b] = await Promise.all([join(url), join(url, 'unit', { identity })])
    await fullMesh([a!, b!])
    // b leaves and comes back with the same (persisted) identity.
    const leaves: string[] = []
    a!.on('peer:leave', (_, reason) => leaves.push(reason))
    await b!.close()
    const b2 = await join(url, 'unit', { identity })
    await fullMesh([a!, b2])
    expect(b2.id).toBe(b!.id)
    expect(leaves[0]).toBe('goodbye')
  })
})
