/**
 * Attacks on the signaling server (issue 13), each performed against a real server over loopback
 * sockets, then the outcome asserted: the refusal with its HTTP status or code, and where memory is
 * the point, the growth of `heapUsed + arrayBuffers` (after `global.gc()`) under the attack.
 *
 * Several source addresses (127.0.0.2, 127.0.0.3, …, via `ws`'s `localAddress`) stand for several
 * clients of the internet.
 */
import type { Socket } from 'node:net'
import { WebSocket, type ClientOptions } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import { resolveServerOptions } from '../../signaling/options.js'
import { RoomMembers } from '../../signaling/room.js'
import { Harness, sleep, withTimeout } from '../signaling/helpers.js'

const harness = new Harness()
afterEach(() => harness.dispose())

const from = (address: string): ClientOptions => ({ localAddress: address })

/** Opens a WebSocket and reports the upgrade's outcome: 101 when it opened, else the HTTP status. The socket is kept open until the test ends. */
async function upgradeStatus(url: string, options: ClientOptions = {}): Promise<number> {
  const socket = new WebSocket(url, options)
  socket.on('error', () => {})
  harness.track({ close: () => socket.terminate() })
  return withTimeout(
    new Promise<number>((resolve) => {
      socket.once('open', () => resolve(101))
      socket.once('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0)
        socket.terminate()
      })
      socket.once('close', () => resolve(0))
    }),
    2_000,
    'the upgrade',
  )
}

/** Opens `count` sockets one after another; the statuses in order. */
async function openMany(url: string, count: number, options: ClientOptions = {}): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < count; i++) statuses.push(await upgradeStatus(url, options))
  return statuses
}

/** Heap and array buffers after a full collection: what the tests bound. Twice, with a pause: array buffers are freed off the main thread. */
async function memoryBytes(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  await sleep(50)
  gc?.()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

const refusals = (log: string[], status: number) => log.filter((line) => line.includes(' refused ') && line.includes(`status=${status}`))

describe('attack: opening more sockets to get around the per-socket limits', () => {
  it('maxSocketsPerIp: an address gets exactly its sockets, the next is answered 429 with a log line; other addresses are unaffected', async () => {
    const { url, log } = await harness.server({ maxSocketsPerIp: 3, maxPendingHellosPerIp: 3 })
    expect(await openMany(url, 4, from('127.0.0.2'))).toEqual([101, 101, 101, 429])
    expect(refusals(log, 429)).toHaveLength(1)
    expect(refusals(log, 429)[0]).toContain('127.0.0.2')
    expect(await openMany(url, 3, from('127.0.0.3'))).toEqual([101, 101, 101])
  })

  it('maxSockets: the server holds exactly its sockets from all addresses, the next is answered 503', async () => {
    const { url, log, server } = await harness.server({ maxSockets: 4 })
    expect([...(await openMany(url, 2, from('127.0.0.2'))), ...(await openMany(url, 2, from('127.0.0.3')))]).toEqual([101, 101, 101, 101])
    expect(await upgradeStatus(url, from('127.0.0.4'))).toBe(503)
    expect(refusals(log, 503)).toHaveLength(1)
    expect(server.stats()).toMatchObject({ sockets: 4, pendingHellos: 4 })
  })

  it('maxPendingHellosPerIp: sockets that never say hello are capped per address; a hello frees the slot', async () => {
    const { url } = await harness.server({ maxPendingHellosPerIp: 2 })
    expect(await openMany(url, 3, from('127.0.0.2'))).toEqual([101, 101, 429])
    // Another address still gets in, and a socket of the first address that completes its hello makes room.
    expect(await upgradeStatus(url, from('127.0.0.3'))).toBe(101)
    const joined = await harness.joined(url, 'lobby', from('127.0.0.4'))
    expect(joined.welcome.type).toBe('welcome')
  })

  it('maxPendingHellos: the global budget of sockets owing their hello, exactly at the limit, 503 past it', async () => {
    const { url, server } = await harness.server({ maxPendingHellos: 3 })
    expect(await openMany(url, 3, from('127.0.0.2'))).toEqual([101, 101, 101])
    expect(await upgradeStatus(url, from('127.0.0.3'))).toBe(503)
    expect(server.stats().pendingHellos).toBe(3)
  })

  it('rateLimitPerIp: the sockets of one address share one message budget, exactly the burst, RATE_LIMITED past it', async () => {
    const { url } = await harness.server({ rateLimitBurst: 5, rateLimitPerIpBurst: 12, rateLimitPerIpPerSecond: 0.01, maxStrikes: 100 })
    const sockets = await Promise.all([0, 1, 2, 3].map(() => harness.connect(url, from('127.0.0.2'))))
    // 4 sockets × 4 frames: each socket is under its own burst of 5, the address is over its 12.
    for (const socket of sockets) for (let i = 0; i < 4; i++) socket.send('not json')
    await Promise.all(sockets.map((socket) => socket.waitFor(() => socket.errorCodes().length === 4, { what: 'four answers' })))
    const codes = sockets.flatMap((socket) => socket.errorCodes())
    expect(codes.filter((code) => code === 'BAD_JSON')).toHaveLength(12)
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(4)
    // Another address has its own budget.
    const other = await harness.connect(url, from('127.0.0.3'))
    other.send('not json')
    await other.waitForError('BAD_JSON')
  })

  it('bytesPerIp: the sockets of one address share one byte budget, exactly the burst, RATE_LIMITED past it', async () => {
    const { url } = await harness.server({ bytesPerIpBurst: 1_000, bytesPerIpPerSecond: 0.001, maxStrikes: 100 })
    const [a, b] = await Promise.all([harness.connect(url, from('127.0.0.2')), harness.connect(url, from('127.0.0.2'))])
    a.send('x'.repeat(600))
    await a.waitForError('BAD_JSON')
    b.send('x'.repeat(400)) // exactly the burst, over two sockets
    await b.waitForError('BAD_JSON')
    b.send('x')
    await b.waitForError('RATE_LIMITED')
    await sleep(300) // b's socket is not read for a while; a's message is refused all the same
    a.send('x')
    await a.waitForError('RATE_LIMITED')
    // Another address has its own bytes.
    const other = await harness.connect(url, from('127.0.0.3'))
    other.send('x'.repeat(1_000))
    await other.waitForError('BAD_JSON')
  })

  it('a closed socket gives its slot back; a joined one no longer counts as pending', async () => {
    const { url, server } = await harness.server({ maxSocketsPerIp: 2, maxPendingHellosPerIp: 1 })
    const a = await harness.joined(url, 'lobby', from('127.0.0.2'))
    expect(server.stats()).toMatchObject({ sockets: 1, pendingHellos: 0 })
    const b = await harness.connect(url, from('127.0.0.2'))
    expect(await upgradeStatus(url, from('127.0.0.2'))).toBe(429)
    b.close()
    a.client.close()
    await withTimeout(
      (async () => {
        while (server.stats().sockets > 0) await sleep(5)
      })(),
      2_000,
      'the sockets to go',
    )
    await sleep(20) // the TCP close reaches admission after the WebSocket's
    expect(await openMany(url, 1, from('127.0.0.2'))).toEqual([101])
  })

  it('a plain HTTP request is answered 426 and admits nothing', async () => {
    const { port, server } = await harness.server()
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).toBe(426)
    expect(server.stats()).toMatchObject({ sockets: 0 })
  })
})

describe('attack: a web page using its visitors’ browsers against the server', () => {
  it('allowedOrigins (a list): another origin is refused at the upgrade with 403; the allowed one and non-browsers get in', async () => {
    const { url, log } = await harness.server({ allowedOrigins: ['https://app.example'] })
    expect(await upgradeStatus(url, { origin: 'https://evil.example' })).toBe(403)
    expect(refusals(log, 403)[0]).toContain('https://evil.example')
    expect(await upgradeStatus(url, { origin: 'https://app.example' })).toBe(101)
    expect(await upgradeStatus(url)).toBe(101)
  })

  it('allowedOrigins (a predicate) decides, also for requests without an Origin; a predicate that throws refuses', async () => {
    const { url } = await harness.server({ allowedOrigins: (origin) => origin?.endsWith('.app.example') === true })
    expect(await upgradeStatus(url, { origin: 'https://eu.app.example' })).toBe(101)
    expect(await upgradeStatus(url, { origin: 'https://app.example.evil' })).toBe(403)
    expect(await upgradeStatus(url)).toBe(403)
    const throwing = await harness.server({
      allowedOrigins: () => {
        throw new Error('boom')
      },
    })
    expect(await upgradeStatus(throwing.url, { origin: 'https://app.example' })).toBe(403)
  })

  it('without allowedOrigins any origin gets in (the default, for development)', async () => {
    const { url } = await harness.server()
    expect(await upgradeStatus(url, { origin: 'https://anyone.example' })).toBe(101)
  })
})

describe('attack: a member that never reads', () => {
  it('is cut once its outgoing buffer passes maxBufferedBytesPerSocket; its room hears it left; memory stays bounded', async () => {
    const capBytes = 512 * 1024
    const { url, log } = await harness.server({
      maxBufferedBytesPerSocket: capBytes,
      rateLimitBurst: 10_000,
      rateLimitPerSecond: 10_000,
      bytesPerIpBurst: 64 * 1024 * 1024,
    })
    const victim = await harness.joined(url, 'lobby', from('127.0.0.2'))
    const sender = await harness.joined(url, 'lobby', from('127.0.0.3'))
    const witness = await harness.joined(url, 'lobby', from('127.0.0.4'))
    // The victim's client stops reading: what the server sends it piles up in the server.
    ;(victim.client.socket as unknown as { _socket: Socket })._socket.pause()

    const before = await memoryBytes()
    const blob = 'x'.repeat(60_000)
    const messages = 600 // 36 MB for the victim
    for (let i = 0; i < messages; i++) {
      sender.client.send({ type: 'signal', to: victim.identity.id, payload: { blob, i } })
      if (i % 50 === 49) {
        while (sender.client.socket.bufferedAmount > 0) await sleep(2)
      }
    }
    while (sender.client.socket.bufferedAmount > 0) await sleep(2)
    await sleep(200)
    const growth = (await memoryBytes()) - before
    console.log(`slow reader: ${((messages * blob.length) / 1e6).toFixed(0)} MB sent to it; server-side growth ${(growth / 1e6).toFixed(1)} MB`)

    await witness.client.waitFor((message) => message.type === 'peer-left' && message.id === victim.identity.id, { what: 'peer-left for the victim' })
    expect(log.some((line) => line.includes(' cut ') && line.includes(victim.identity.id))).toBe(true)
    // The cap, one message over it, and slack for the sockets' own buffers and allocator noise.
    const slackBytes = 6 * 1024 * 1024
    expect(growth).toBeLessThan(capBytes + 64 * 1024 + slackBytes)
  })
})

describe('attack: contact requests in a large scamp room', () => {
  it('a contact pick copies nothing: 100 000 picks in a room of 10 000 take milliseconds, never the asker, and cover the room', () => {
    const room = new RoomMembers<string>('scamp')
    for (let i = 0; i < 10_000; i++) room.set(`id${i}`, `member${i}`)
    const seen = new Set<string>()
    const started = performance.now()
    for (let i = 0; i < 100_000; i++) {
      const picked = room.randomOther('id7')!
      seen.add(picked)
    }
    const elapsedMs = performance.now() - started
    expect(seen.has('member7')).toBe(false)
    expect(seen.size).toBeGreaterThan(9_900)
    // Copying the room per pick (the old way) takes seconds here; O(1) picks take a few milliseconds.
    expect(elapsedMs).toBeLessThan(500)
  })

  it('removal swaps the last member in: every remaining member stays reachable by id and by pick', () => {
    const room = new RoomMembers<string>('scamp')
    for (const id of ['a', 'b', 'c', 'd']) room.set(id, id.toUpperCase())
    expect(room.delete('b')).toBe(true)
    expect(room.delete('b')).toBe(false)
    expect([...room.values()].sort()).toEqual(['A', 'C', 'D'])
    expect(room.get('d')).toBe('D')
    room.delete('a')
    room.delete('d')
    expect(room.randomOther('c')).toBeUndefined()
    expect(room.randomOther(undefined)).toBe('C')
    expect(room.randomOther('x', () => 0.99)).toBe('C')
    room.set('c', 'C2')
    expect([...room.values()]).toEqual(['C2'])
  })
})

describe('attack: squatting a room name with the other topology', () => {
  it('without a policy, a squatter asking scamp first no longer makes the full room refuse everyone', async () => {
    const { url } = await harness.server()
    const squatter = await harness.connect(url, from('127.0.0.2'))
    await squatter.join(await Identity.generate(), 'lobby', 'scamp')
    const a = await harness.joined(url, 'lobby', from('127.0.0.3'))
    const b = await harness.joined(url, 'lobby', from('127.0.0.4'))
    // The honest members form their full room; the squatter is in a scamp room of its own.
    expect(b.welcome.peers.map((peer) => peer.id)).toEqual([a.identity.id])
  })

  it('with roomTopology, the server decides: a hello asking another topology is refused with TOPOLOGY_MISMATCH, whoever came first', async () => {
    const { url } = await harness.server({ roomTopology: (room) => (room.startsWith('swarm.') ? 'scamp' : 'full') })
    const squatter = await harness.connect(url, from('127.0.0.2'))
    await squatter.sendHello(await Identity.generate(), 'lobby', { topology: 'scamp' })
    await squatter.waitForError('TOPOLOGY_MISMATCH')
    expect((await squatter.waitForClose()).code).toBe(4004)
    const a = await harness.joined(url, 'lobby', from('127.0.0.3'))
    expect(a.welcome.peers).toEqual([])
    const swarm = await harness.connect(url, from('127.0.0.4'))
    expect((await swarm.join(await Identity.generate(), 'swarm.big', 'scamp')).type).toBe('welcome')
  })

  it('a policy that throws or returns nonsense refuses the join with TOPOLOGY_MISMATCH instead of crashing', async () => {
    const { url } = await harness.server({
      roomTopology: (room) => {
        if (room === 'boom') throw new Error('boom')
        return 'ring' as 'full'
      },
    })
    for (const room of ['boom', 'lobby']) {
      const client = await harness.connect(url)
      await client.sendHello(await Identity.generate(), room)
      await client.waitForError('TOPOLOGY_MISMATCH')
    }
    expect((await harness.joined(url, 'lobby').catch((error: Error) => error.message)).toString()).toContain('TOPOLOGY_MISMATCH')
  })
})

describe('the new limits are validated once, at start-up', () => {
  it.each([
    'maxSockets',
    'maxSocketsPerIp',
    'maxPendingHellos',
    'maxPendingHellosPerIp',
    'maxBufferedBytesPerSocket',
    'rateLimitPerIpBurst',
    'rateLimitPerIpPerSecond',
    'bytesPerIpBurst',
    'bytesPerIpPerSecond',
  ] as const)('refuses a %s that is not a positive number', (key) => {
    expect(() => resolveServerOptions({ [key]: 0 })).toThrow(RangeError)
    expect(() => resolveServerOptions({ [key]: Number.NaN })).toThrow(RangeError)
    expect(resolveServerOptions({ [key]: 1 })[key]).toBe(1)
  })

  it('refuses a roomTopology or allowedOrigins of the wrong kind', () => {
    expect(() => resolveServerOptions({ roomTopology: 'ring' as 'full' })).toThrow(TypeError)
    expect(() => resolveServerOptions({ allowedOrigins: 'https://app.example' as unknown as string[] })).toThrow(TypeError)
  })
})
