/**
 * The signaling server, end to end over real sockets on 127.0.0.1: joining, relaying, every refusal and
 * its close code, liveness, reconnection, shutdown — and the SignalingClient against it.
 */
import { createServer } from 'node:net'
import { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { MeshscopeError } from '../../src/errors.js'
import { Identity } from '../../src/identity/identity.js'
import { SignalingClient, type SignalingState, type WebSocketConstructor } from '../../src/signaling/client.js'
import { CLOSE_CODES, PROTOCOL_VERSION, SIGNALING_LIMITS, type PeerInfo, type ServerMessage } from '../../src/signaling/protocol.js'
import { toBase64Url } from '../../src/util/bytes.js'
import { resolveServerOptions } from '../../signaling/options.js'
import { createSignalingServer } from '../../signaling/server.js'
import { Harness, RawClient, sleep, withTimeout, type JoinedClient, type MessageOf } from './helpers.js'

const harness = new Harness()
afterEach(() => harness.dispose())

const peerOf = (joined: JoinedClient): PeerInfo => ({ id: joined.identity.id, publicKey: joined.identity.publicKey })
const byId = (a: PeerInfo, b: PeerInfo) => a.id.localeCompare(b.id)
const isSignalFrom =
  (from: string) =>
  (message: ServerMessage): message is MessageOf<'signal'> =>
    message.type === 'signal' && message.from === from
const isPeerLeft =
  (id: string) =>
  (message: ServerMessage): message is MessageOf<'peer-left'> =>
    message.type === 'peer-left' && message.id === id
const isPeerJoined =
  (id: string) =>
  (message: ServerMessage): message is MessageOf<'peer-joined'> =>
    message.type === 'peer-joined' && message.peer.id === id
const refusedLines = (log: string[]) => log.filter((line) => line.includes(' refused '))

describe('signaling server: rooms', () => {
  it('challenges each socket with its own nonce', async () => {
    const { url } = await harness.server()
    const [a, b] = await Promise.all([harness.connect(url), harness.connect(url)])
    const [challengeA, challengeB] = await Promise.all([a.challenge(), b.challenge()])
    expect(challengeA).toMatchObject({ type: 'challenge', version: PROTOCOL_VERSION })
    expect(challengeA.nonce).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(challengeA.nonce).not.toBe(challengeB.nonce)
  })

  it('join gives a welcome with the proven id and the other peers; the others hear peer-joined', async () => {
    const { url, server } = await harness.server()
    const a = await harness.joined(url, 'lobby')
    expect(a.welcome).toEqual({ type: 'welcome', id: a.identity.id, room: 'lobby', peers: [] })

    const b = await harness.joined(url, 'lobby')
    expect(b.welcome).toEqual({ type: 'welcome', id: b.identity.id, room: 'lobby', peers: [peerOf(a)] })
    expect((await a.client.waitFor(isPeerJoined(b.identity.id))).peer).toEqual(peerOf(b))

    const c = await harness.joined(url, 'lobby')
    expect([...c.welcome.peers].sort(byId)).toEqual([peerOf(a), peerOf(b)].sort(byId))
    await a.client.waitFor(isPeerJoined(c.identity.id))
    await b.client.waitFor(isPeerJoined(c.identity.id))

    // A peer in another room is not announced here, and sees nobody from here.
    const elsewhere = await harness.joined(url, 'elsewhere')
    expect(elsewhere.welcome.peers).toEqual([])
    const d = await harness.joined(url, 'lobby')
    await a.client.waitFor(isPeerJoined(d.identity.id))
    expect(a.client.ofType('peer-joined').map((message) => message.peer)).toEqual([peerOf(b), peerOf(c), peerOf(d)])
    expect(elsewhere.client.messages.map((message) => message.type)).toEqual(['challenge', 'welcome'])
    // Nobody is told about themselves.
    expect(b.client.ofType('peer-joined').map((message) => message.peer.id)).toEqual([c.identity.id, d.identity.id])
    expect(server.stats()).toEqual({ rooms: 2, peers: 5, sockets: 5, pendingHellos: 0 })
  })

  it('a socket that closes or drops is announced as peer-left to the rest of its room', async () => {
    const { url, server } = await harness.server()
    const a = await harness.joined(url, 'lobby')
    const b = await harness.joined(url, 'lobby')
    const c = await harness.joined(url, 'lobby')

    b.client.socket.close(1000, 'bye')
    await a.client.waitFor(isPeerLeft(b.identity.id))
    await c.client.waitFor(isPeerLeft(b.identity.id))

    c.client.socket.terminate() // no close handshake
    await a.client.waitFor(isPeerLeft(c.identity.id))
    expect(a.client.ofType('peer-left').map((message) => message.id)).toEqual([b.identity.id, c.identity.id])
    expect(server.stats()).toEqual({ rooms: 1, peers: 1, sockets: 1, pendingHellos: 0 })

    a.client.socket.close()
    await a.client.waitForClose()
    await withTimeout(
      (async () => {
        while (server.stats().sockets > 0) await sleep(5)
      })(),
      1_000,
      'the last session to end',
    )
    expect(server.stats()).toEqual({ rooms: 0, peers: 0, sockets: 0, pendingHellos: 0 })
  })
})

describe('signaling server: relaying signals', () => {
  it('delivers a signal only to the named peer, with from set by the server', async () => {
    const { url } = await harness.server()
    const a = await harness.joined(url, 'lobby')
    const b = await harness.joined(url, 'lobby')
    const c = await harness.joined(url, 'lobby')

    // A claims, inside the payload, to be C: the payload is relayed untouched, `from` is still A.
    const payload = { sdp: 'v=0 offer', from: c.identity.id, nested: [{ candidate: 'x' }] }
    a.client.send({ type: 'signal', to: b.identity.id, payload })
    await b.client.waitFor(isSignalFrom(a.identity.id))
    expect(b.client.rawMessages.at(-1)).toStrictEqual({ type: 'signal', from: a.identity.id, payload })

    // Barrier: B → C arrives after anything A could have caused C to receive.
    b.client.send({ type: 'signal', to: c.identity.id, payload: { barrier: true } })
    await c.client.waitFor(isSignalFrom(b.identity.id))
    expect(c.client.ofType('signal')).toEqual([{ type: 'signal', from: b.identity.id, payload: { barrier: true } }])
    expect(a.client.ofType('signal')).toEqual([])
    expect(a.client.errorCodes()).toEqual([])
  })

  it('refuses a top-level from with BAD_MESSAGE and delivers nothing', async () => {
    const { url } = await harness.server()
    const a = await harness.joined(url, 'lobby')
    const b = await harness.joined(url, 'lobby')
    const c = await harness.joined(url, 'lobby')

    a.client.send({ type: 'signal', to: b.identity.id, from: c.identity.id, payload: { sdp: 'forged' } })
    await a.client.waitForError('BAD_MESSAGE')
    a.client.send({ type: 'signal', to: b.identity.id, payload: { sdp: 'honest' } })
    await b.client.waitFor(isSignalFrom(a.identity.id))
    expect(b.client.ofType('signal')).toEqual([{ type: 'signal', from: a.identity.id, payload: { sdp: 'honest' } }])
    expect(a.client.isOpen).toBe(true)
  })

  it('refuses a signal to a peer of another room with UNKNOWN_PEER, which is not a strike', async () => {
    const { url } = await harness.server({ maxStrikes: 1 })
    const a = await harness.joined(url, 'lobby')
    const b = await harness.joined(url, 'elsewhere')
    const c = await harness.joined(url, 'elsewhere')

    for (let i = 0; i < 3; i++) a.client.send({ type: 'signal', to: b.identity.id, payload: { attempt: i } })
    a.client.send({ type: 'signal', to: 'f'.repeat(32), payload: {} }) // nobody has that id
    await a.client.waitFor(() => a.client.errorCodes().length === 4)
    expect(a.client.errorCodes()).toEqual(['UNKNOWN_PEER', 'UNKNOWN_PEER', 'UNKNOWN_PEER', 'UNKNOWN_PEER'])
    expect(a.client.isOpen).toBe(true) // four refusals with maxStrikes 1: UNKNOWN_PEER costs no strike

    c.client.send({ type: 'signal', to: b.identity.id, payload: { barrier: true } })
    await b.client.waitFor(isSignalFrom(c.identity.id))
    expect(b.client.ofType('signal')).toEqual([{ type: 'signal', from: c.identity.id, payload: { barrier: true } }])
  })

  it('refuses a signal before hello with NOT_JOINED and keeps the socket open', async () => {
    const { url } = await harness.server()
    const b = await harness.joined(url, 'lobby')
    const a = await harness.connect(url)
    await a.challenge()
    a.send({ type: 'signal', to: b.identity.id, payload: { sdp: 'early' } })
    await a.waitForError('NOT_JOINED')
    expect(a.isOpen).toBe(true)
    const identity = await Identity.generate()
    await a.join(identity, 'lobby')
    await b.client.waitFor(isPeerJoined(identity.id))
    expect(b.client.ofType('signal')).toEqual([])
  })
})

describe('signaling server: bad input', () => {
  it('answers garbage text with BAD_JSON; the socket stays open and can still join', async () => {
    const { url } = await harness.server()
    const a = await harness.connect(url)
    a.send('this is not json {')
    await a.waitForError('BAD_JSON')
    expect(a.isOpen).toBe(true)
    const identity = await Identity.generate()
    expect((await a.join(identity, 'lobby')).id).toBe(identity.id)
  })

  it('answers a binary frame with BINARY_NOT_ALLOWED; the socket survives and can still join', async () => {
    const { url } = await harness.server()
    const a = await harness.connect(url)
    a.sendBinary(new TextEncoder().encode(JSON.stringify({ type: 'signal', to: '0'.repeat(32), payload: {} })))
    await a.waitForError('BINARY_NOT_ALLOWED')
    expect(a.isOpen).toBe(true)
    const identity = await Identity.generate()
    expect((await a.join(identity, 'lobby')).id).toBe(identity.id)
  })

  it('accepts a frame of exactly maxPayloadBytes; one byte more closes the socket with 1009 and logs it', async () => {
    const { url, log } = await harness.server({ maxPayloadBytes: 1024 })
    const a = await harness.joined(url, 'lobby')
    const b = await harness.joined(url, 'lobby')

    a.client.send('x'.repeat(1024)) // at the limit: read, and refused only as bad JSON
    await a.client.waitForError('BAD_JSON')
    expect(a.client.isOpen).toBe(true)

    a.client.send('x'.repeat(1025))
    expect((await a.client.waitForClose()).code).toBe(CLOSE_CODES.messageTooBig)
    await b.client.waitFor(isPeerLeft(a.identity.id))
    expect(refusedLines(log)).toEqual([expect.stringContaining('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')])
    expect(refusedLines(log)[0]).toContain(`refused 127.0.0.1:`)
  })

  it('uses SIGNALING_LIMITS.maxMessageBytes as its default frame limit', async () => {
    const { url } = await harness.server()
    const a = await harness.joined(url, 'lobby')
    a.client.send('x'.repeat(SIGNALING_LIMITS.maxMessageBytes))
    await a.client.waitForError('BAD_JSON')
    a.client.send('x'.repeat(SIGNALING_LIMITS.maxMessageBytes + 1))
    expect((await a.client.waitForClose()).code).toBe(CLOSE_CODES.messageTooBig)
  })

  it('closes a socket with 1008 after more than maxStrikes bad messages, with one log line', async () => {
    const { url, log } = await harness.server({ maxStrikes: 3 })
    const a = await harness.connect(url)
    await a.challenge()
    // Strikes of every kind count together.
    a.send('garbage')
    a.sendBinary(new Uint8Array([1, 2, 3]))
    a.send({ type: 'signal', to: '0'.repeat(32), payload: {} })
    await a.waitFor(() => a.errorCodes().length === 3)
    expect(a.errorCodes()).toEqual(['BAD_JSON', 'BINARY_NOT_ALLOWED', 'NOT_JOINED'])
    expect(a.isOpen).toBe(true)
    expect(refusedLines(log)).toEqual([])

    a.send({ type: 'mystery' })
    const closed = await a.waitForClose()
    expect(closed.code).toBe(CLOSE_CODES.policyViolation)
    expect(a.errorCodes()).toEqual(['BAD_JSON', 'BINARY_NOT_ALLOWED', 'NOT_JOINED', 'BAD_MESSAGE'])
    expect(a.ofType('error').at(-1)?.message).toMatch(/too many bad messages/)
    expect(refusedLines(log)).toHaveLength(1)
    expect(refusedLines(log)[0]).toMatch(/refused 127\.0\.0\.1:\d+ code=BAD_MESSAGE too many bad messages/)
  })

  it('answers a flood over the rate limit with RATE_LIMITED, then closes it with 1008', async () => {
    const burst = 5
    const { url, log } = await harness.server({ rateLimitBurst: burst, rateLimitPerSecond: 0.001, maxStrikes: 3 })
    const a = await harness.joined(url, 'lobby') // the hello takes one token
    const b = await harness.joined(url, 'lobby')

    for (let i = 0; i < 20; i++) a.client.send({ type: 'signal', to: b.identity.id, payload: { i } })
    expect((await a.client.waitForClose()).code).toBe(CLOSE_CODES.policyViolation)
    expect(a.client.errorCodes()).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED'])

    await b.client.waitFor(isPeerLeft(a.identity.id))
    // Only the signals the bucket allowed were relayed, in order.
    expect(b.client.ofType('signal').map((message) => message.payload)).toEqual(Array.from({ length: burst - 1 }, (_, i) => ({ i })))
    expect(refusedLines(log)).toEqual([expect.stringMatching(/code=RATE_LIMITED too many bad messages/)])
    expect(b.client.isOpen).toBe(true) // buckets are per socket
  })
})

describe('signaling server: admission', () => {
  it('refuses a peer over the room size limit with ROOM_FULL and close 4003', async () => {
    const { url, log } = await harness.server({ maxRoomSize: 2 })
    const a = await harness.joined(url, 'lobby')
    await harness.joined(url, 'lobby')
    const c = await harness.connect(url)
    await c.sendHello(await Identity.generate(), 'lobby')
    await c.waitForError('ROOM_FULL')
    expect((await c.waitForClose()).code).toBe(CLOSE_CODES.roomFull)
    expect(refusedLines(log)).toEqual([expect.stringContaining('code=ROOM_FULL')])
    // Other rooms still take peers, and nobody in the full room heard of the refused one.
    await harness.joined(url, 'other')
    expect(a.client.ofType('peer-joined')).toHaveLength(1)
  })

  it('a scamp room: each welcome names one random earlier member, nobody hears of joins or leaves, and the room outgrows maxRoomSize', async () => {
    const { url } = await harness.server({ maxRoomSize: 2 })
    const clients = []
    const welcomes = []
    for (let i = 0; i < 6; i++) {
      const client = await harness.connect(url)
      welcomes.push(await client.join(await Identity.generate(), 'swarm', 'scamp'))
      clients.push(client)
    }
    expect(welcomes[0]!.peers).toEqual([])
    const ids = welcomes.map((welcome) => welcome.id)
    welcomes.slice(1).forEach((welcome, i) => {
      expect(welcome.peers).toHaveLength(1)
      expect(ids.slice(0, i + 1)).toContain(welcome.peers[0]!.id)
    })
    clients[5]!.close()
    // A signal still reaches any member: the proof that the room holds them.
    clients[1]!.send({ type: 'signal', to: ids[2]!, payload: { hello: 'there' } })
    await clients[2]!.waitFor((message) => message.type === 'signal')
    expect(clients.flatMap((client) => client.messages.filter((m) => m.type === 'peer-joined' || m.type === 'peer-left'))).toEqual([])
  })

  it('answers a contact request with a random other member of the room, or null when alone; only after the hello', async () => {
    const { url } = await harness.server()
    const early = await harness.connect(url)
    early.send({ type: 'contact' })
    await early.waitForError('NOT_JOINED')
    const a = await harness.connect(url)
    const welcomeA = await a.join(await Identity.generate(), 'swarm', 'scamp')
    a.send({ type: 'contact' })
    expect(await a.waitFor((m) => m.type === 'contact')).toEqual({ type: 'contact', peer: null })
    const b = await harness.connect(url)
    await b.join(await Identity.generate(), 'swarm', 'scamp')
    const since = b.messages.length
    b.send({ type: 'contact' })
    const answer = await b.waitFor((m) => m.type === 'contact', { since, what: 'a contact' })
    expect(answer).toMatchObject({ type: 'contact', peer: { id: welcomeA.id } })
  })

  it.each([
    ['full', 'scamp'],
    ['scamp', 'full'],
    ['scamp', undefined],
  ] as const)('a server running the room as %s refuses a hello asking for %s with TOPOLOGY_MISMATCH and close 4004', async (first, second) => {
    const { url } = await harness.server({ roomTopology: (room) => (room === 'lobby' ? first : 'full') })
    const a = await harness.connect(url)
    await a.join(await Identity.generate(), 'lobby', first)
    const b = await harness.connect(url)
    await b.sendHello(await Identity.generate(), 'lobby', { topology: second })
    await b.waitForError('TOPOLOGY_MISMATCH')
    expect((await b.waitForClose()).code).toBe(CLOSE_CODES.topologyMismatch)
  })

  it('refuses at start-up a maxRoomSize whose welcome would not fit in a client frame', () => {
    const largest = SIGNALING_LIMITS.maxPeersInWelcome + 1 // a welcome lists everyone but the newcomer
    expect(resolveServerOptions({ maxRoomSize: largest }).maxRoomSize).toBe(largest)
    expect(() => resolveServerOptions({ maxRoomSize: largest + 1 })).toThrow(RangeError)
    expect(() => createSignalingServer({ port: 0, maxRoomSize: largest + 1, log: () => {} })).toThrow(/maxRoomSize/)
  })

  it('refuses a new room over maxRooms with ROOM_FULL; an emptied room frees its slot', async () => {
    const { url, server } = await harness.server({ maxRooms: 1 })
    const a = await harness.joined(url, 'first')
    const refused = await harness.connect(url)
    await refused.sendHello(await Identity.generate(), 'second')
    await refused.waitForError('ROOM_FULL')
    expect((await refused.waitForClose()).code).toBe(CLOSE_CODES.roomFull)
    await harness.joined(url, 'first').then(({ client }) => client.close()) // an existing room still takes peers

    a.client.close()
    await withTimeout(
      (async () => {
        while (server.stats().rooms > 0) await sleep(5)
      })(),
      1_000,
      'the emptied room to go',
    )
    expect((await harness.joined(url, 'second')).welcome.room).toBe('second')
  })

  it.each([
    { name: 'signing another nonce', code: 'BAD_SIGNATURE', overrides: { nonce: 'A'.repeat(32) } },
    { name: 'signing another room', code: 'BAD_SIGNATURE', overrides: { signedRoom: 'elsewhere' } },
    { name: 'showing someone else’s public key', code: 'BAD_SIGNATURE', overrides: { publicKey: 'other' } },
    {
      name: 'a public key that is not on the curve',
      code: 'BAD_PUBLIC_KEY',
      overrides: { publicKey: toBase64Url(new Uint8Array([4, ...new Uint8Array(64)])) },
    },
  ])('refuses a hello $name with $code and close 4002', async ({ code, overrides }) => {
    const { url, log } = await harness.server()
    const witness = await harness.joined(url, 'lobby')
    const client = await harness.connect(url)
    const identity = await Identity.generate()
    const publicKey = overrides.publicKey === 'other' ? (await Identity.generate()).publicKey : overrides.publicKey
    await client.sendHello(identity, 'lobby', { ...overrides, publicKey })
    await client.waitForError(code)
    expect((await client.waitForClose()).code).toBe(CLOSE_CODES.authenticationFailed)
    expect(refusedLines(log)).toEqual([expect.stringContaining(`code=${code}`)])
    // Barrier: a later join is announced, the refused one never was.
    const later = await harness.joined(url, 'lobby')
    await witness.client.waitFor(isPeerJoined(later.identity.id))
    expect(witness.client.ofType('peer-joined').map((message) => message.peer.id)).toEqual([later.identity.id])
  })

  it('refuses an unsupported version with UNSUPPORTED_VERSION and close 4002', async () => {
    const { url } = await harness.server()
    const client = await harness.connect(url)
    await client.sendHello(await Identity.generate(), 'lobby', { version: PROTOCOL_VERSION + 1 })
    await client.waitForError('UNSUPPORTED_VERSION')
    expect((await client.waitForClose()).code).toBe(CLOSE_CODES.authenticationFailed)
  })

  it('closes a socket that sends no hello in time with 4001; a joined one stays', async () => {
    const helloTimeoutMs = 150
    const { url, log } = await harness.server({ helloTimeoutMs })
    const joined = await harness.joined(url, 'lobby')
    const started = performance.now()
    const silent = await harness.connect(url)
    const closed = await silent.waitForClose()
    expect(closed.code).toBe(CLOSE_CODES.helloTimeout)
    expect(performance.now() - started).toBeGreaterThanOrEqual(helloTimeoutMs - 20)
    expect(silent.errorCodes()).toEqual(['NOT_JOINED'])
    expect(refusedLines(log)).toEqual([expect.stringContaining('code=NOT_JOINED')])
    await sleep(helloTimeoutMs)
    expect(joined.client.isOpen).toBe(true)
  })
})

describe('signaling server: liveness and reconnection', () => {
  it('terminates a socket that stops answering pings after about two intervals; its room hears peer-left', async () => {
    const pingIntervalMs = 100
    const { url, log } = await harness.server({ pingIntervalMs })
    const alive = await harness.joined(url, 'lobby')
    const dead = await harness.joined(url, 'lobby', { autoPong: false })
    const joinedAt = performance.now()

    await alive.client.waitFor(isPeerLeft(dead.identity.id), { timeoutMs: 10 * pingIntervalMs })
    const elapsedMs = performance.now() - joinedAt
    expect(elapsedMs).toBeGreaterThanOrEqual(pingIntervalMs - 20)
    expect(elapsedMs).toBeLessThan(5 * pingIntervalMs)
    expect((await dead.client.waitForClose()).code).toBe(1006) // terminated: no close frame
    expect(log).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`terminated 127\\.0\\.0\\.1:\\d+ peer=${dead.identity.id}`))]))

    // The live socket keeps answering and is never terminated.
    await sleep(3 * pingIntervalMs)
    expect(alive.client.isOpen).toBe(true)
    expect(log.filter((line) => line.includes('terminated'))).toHaveLength(1)
  })

  it('a second socket proving the same key replaces the first without a leave or a join', async () => {
    const { url, server } = await harness.server({ maxRoomSize: 2 }) // the room is full: a takeover is still allowed
    const first = await harness.joined(url, 'lobby')
    const other = await harness.joined(url, 'lobby')
    await first.client.waitFor(isPeerJoined(other.identity.id))
    const before = other.client.messages.length

    const second = await harness.joined(url, 'lobby', { identity: first.identity })
    expect(second.welcome).toEqual({ type: 'welcome', id: first.identity.id, room: 'lobby', peers: [peerOf(other)] })
    expect((await first.client.waitForClose()).code).toBe(CLOSE_CODES.replaced)
    expect(first.client.errorCodes()).toEqual(['ALREADY_JOINED'])
    expect(server.stats()).toEqual({ rooms: 1, peers: 2, sockets: 2, pendingHellos: 0 })

    // Signals to the id now reach the new socket; and the barrier shows `other` heard no leave or join.
    other.client.send({ type: 'signal', to: first.identity.id, payload: { to: 'second' } })
    await second.client.waitFor(isSignalFrom(other.identity.id))
    second.client.send({ type: 'signal', to: other.identity.id, payload: { barrier: true } })
    await other.client.waitFor(isSignalFrom(first.identity.id), { since: before })
    expect(other.client.messages.slice(before)).toEqual([{ type: 'signal', from: first.identity.id, payload: { barrier: true } }])
    expect(first.client.ofType('signal')).toEqual([])

    // When the successor leaves, the room hears it once.
    second.client.close()
    await other.client.waitFor(isPeerLeft(first.identity.id))
    await sleep(20)
    expect(other.client.ofType('peer-left')).toHaveLength(1)
  })

  it('close() closes every client with 1001, stops listening, and is idempotent', async () => {
    const { url, server } = await harness.server()
    const a = await harness.joined(url, 'lobby')
    const b = await harness.joined(url, 'other')
    const unjoined = await harness.connect(url)
    await unjoined.challenge()

    const closing = server.close()
    const codes = await Promise.all([a.client, b.client, unjoined].map(async (client) => (await client.waitForClose()).code))
    expect(codes).toEqual([CLOSE_CODES.goingAway, CLOSE_CODES.goingAway, CLOSE_CODES.goingAway])
    await withTimeout(closing, 2_000, 'server.close()')
    await withTimeout(server.close(), 500, 'a second server.close()')
    expect(server.stats()).toEqual({ rooms: 0, peers: 0, sockets: 0, pendingHellos: 0 })
    await expect(RawClient.connect(url)).rejects.toThrow()
  })

  it('survives every kind of abuse: afterwards a fresh client can still join and signal', async () => {
    const { url, server, log } = await harness.server({ maxPayloadBytes: 4096, maxStrikes: 3 })
    const resident = await harness.joined(url, 'lobby')
    const abusers: Array<Promise<unknown>> = []
    const abuse = async (act: (client: RawClient) => Promise<void> | void) => {
      const client = await harness.connect(url)
      await client.challenge()
      await act(client)
    }

    abusers.push(
      // every kind of bad frame, past the strike limit
      abuse((client) => {
        for (const frame of ['', 'null', '[]', '{"type":null}', '{"__proto__":{"type":"hello"}}', '{"type":"signal","to":"x","payload":{}}']) client.send(frame)
      }),
      // a payload nested 2 000 deep, inside the size limit
      abuse((client) => client.send(`{"type":"signal","to":"${'0'.repeat(32)}","payload":{"a":${'['.repeat(2000)}${']'.repeat(2000)}}}`)),
      // a frame over the size limit
      abuse((client) => client.send('x'.repeat(5000))),
      // invalid UTF-8 in a text frame (ws closes with 1007)
      abuse((client) => client.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })),
      // a hello with a prototype-polluting key
      abuse((client) =>
        client.send(`{"__proto__":{"admin":true},"type":"hello","version":1,"room":"lobby","publicKey":"${'A'.repeat(87)}","signature":"${'A'.repeat(86)}"}`),
      ),
      // a well-formed key that is no point, and a hello sent twice
      abuse(async (client) => {
        const identity = await Identity.generate()
        client.send({ type: 'hello', version: 1, room: 'lobby', publicKey: 'B'.repeat(87), signature: await identity.sign('x') })
      }),
      abuse(async (client) => {
        const identity = await Identity.generate()
        await client.sendHello(identity, 'lobby')
        client.send({ type: 'hello', version: 1, room: 'lobby', publicKey: identity.publicKey, signature: await identity.sign('x') })
      }),
      // vanishing while the server verifies the hello
      abuse(async (client) => {
        await client.sendHello(await Identity.generate(), 'lobby')
        client.socket.terminate()
      }),
      // vanishing right after connecting
      abuse((client) => client.socket.terminate()),
      // a crowd joining and dropping at once
      ...Array.from({ length: 10 }, () =>
        harness.joined(url, 'crowd').then(({ client }) => {
          client.socket.terminate()
        }),
      ),
    )
    await Promise.all(abusers)
    await sleep(100)

    const fresh = await harness.joined(url, 'lobby')
    await resident.client.waitFor(isPeerJoined(fresh.identity.id))
    fresh.client.send({ type: 'signal', to: resident.identity.id, payload: { ok: true } })
    await resident.client.waitFor(isSignalFrom(fresh.identity.id))
    expect(resident.client.isOpen).toBe(true)
    expect(server.stats().rooms).toBeGreaterThanOrEqual(1)
    expect(log.some((line) => line.includes('WS_ERR_INVALID_UTF8'))).toBe(true)
    expect(log.some((line) => line.includes('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'))).toBe(true)
  })
})

// ── the client against the real server ──────────────────────────────────────

const NodeWebSocket = WebSocket as unknown as WebSocketConstructor

/** A port on 127.0.0.1 that nothing listens on (bound, read, released). */
async function unusedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('SignalingClient against the server', () => {
  const newClient = (url: string, identity: Identity, room = 'lobby') =>
    harness.track(
      new SignalingClient({ url, room, identity, WebSocket: NodeWebSocket, joinTimeoutMs: 3_000, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 }),
    )

  it('start() resolves with the welcome; roster changes and signals arrive as events', async () => {
    const { url } = await harness.server()
    const resident = await harness.joined(url, 'lobby')
    const identity = await Identity.generate()
    const client = newClient(url, identity)
    const welcome = await client.start()
    expect(welcome).toEqual({ type: 'welcome', id: identity.id, room: 'lobby', peers: [peerOf(resident)] })
    expect(client.state).toBe('joined')
    await resident.client.waitFor(isPeerJoined(identity.id))

    const joined = new Promise<PeerInfo>((resolve) => client.events.once('peer-joined', resolve))
    const newcomer = await harness.joined(url, 'lobby')
    expect(await withTimeout(joined, 2_000, 'peer-joined')).toEqual(peerOf(newcomer))

    const signal = new Promise<[string, unknown]>((resolve) => client.events.once('signal', (from, payload) => resolve([from, payload])))
    resident.client.send({ type: 'signal', to: identity.id, payload: { sdp: 'offer' } })
    expect(await withTimeout(signal, 2_000, 'a signal')).toEqual([resident.identity.id, { sdp: 'offer' }])

    expect(client.sendSignal(resident.identity.id, { sdp: 'answer' })).toBe(true)
    expect((await resident.client.waitFor(isSignalFrom(identity.id))).payload).toEqual({ sdp: 'answer' })

    const left = new Promise<string>((resolve) => client.events.once('peer-left', resolve))
    newcomer.client.close()
    expect(await withTimeout(left, 2_000, 'peer-left')).toBe(newcomer.identity.id)
  })

  it('start() against a port nobody listens on rejects with SIGNALING_UNREACHABLE', async () => {
    const client = newClient(`ws://127.0.0.1:${await unusedPort()}`, await Identity.generate())
    const attempt = client.start()
    await expect(attempt).rejects.toBeInstanceOf(MeshscopeError)
    await expect(attempt).rejects.toMatchObject({ code: 'SIGNALING_UNREACHABLE' })
    expect(client.state).toBe('closed')
  })

  it('start() rejects with SIGNALING_REFUSED, carrying the server’s code, when the server refuses the join', async () => {
    const { url } = await harness.server({ maxRoomSize: 1 })
    await harness.joined(url, 'lobby')
    const client = newClient(url, await Identity.generate())
    const error: unknown = await client.start().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(MeshscopeError)
    expect(error).toMatchObject({ code: 'SIGNALING_REFUSED', cause: { code: 'ROOM_FULL' } })
    expect(client.state).toBe('closed')
  })

  it('reconnects by itself when the server comes back on the same port, under the same id', async () => {
    const first = await harness.server()
    const identity = await Identity.generate()
    const client = newClient(first.url, identity)
    const states: SignalingState[] = []
    client.events.on('state', (state) => states.push(state))
    const welcomes: string[] = []
    client.events.on('welcome', (welcome) => welcomes.push(welcome.id))
    await client.start()

    await first.server.close()
    await withTimeout(
      (async () => {
        while (client.state !== 'reconnecting') await sleep(5)
      })(),
      2_000,
      'the client to notice the server is gone',
    )
    await sleep(150) // let it fail to reconnect at least once while nothing listens

    const second = await harness.server({ port: first.port })
    const rejoined = new Promise<string>((resolve) => client.events.once('welcome', (welcome) => resolve(welcome.id)))
    expect(await withTimeout(rejoined, 3_000, 'a welcome from the restarted server')).toBe(identity.id)
    expect(client.state).toBe('joined')
    expect(states).toEqual(['joined', 'reconnecting', 'joined'])
    expect(welcomes).toEqual([identity.id, identity.id])
    expect(second.server.stats()).toMatchObject({ rooms: 1, peers: 1 })
  })

  it('stops, without reconnecting, when another socket proves its key', async () => {
    const { url, server } = await harness.server()
    const identity = await Identity.generate()
    const client = newClient(url, identity)
    await client.start()
    const errors: MeshscopeError[] = []
    client.events.on('error', (error) => errors.push(error))

    const usurper = await harness.joined(url, 'lobby', { identity })
    expect(usurper.welcome.id).toBe(identity.id)
    await withTimeout(
      (async () => {
        while (client.state !== 'closed') await sleep(5)
      })(),
      2_000,
      'the replaced client to close',
    )
    expect(errors.map((error) => error.code)).toEqual(['ALREADY_JOINED', 'SIGNALING_REFUSED'])
    await sleep(200) // several reconnect delays: it must stay away
    expect(server.stats()).toMatchObject({ peers: 1, sockets: 1 })
  })
})
