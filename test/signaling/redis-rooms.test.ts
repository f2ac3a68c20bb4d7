/**
 * Several signaling server instances sharing rooms through one real redis-server: peers held by
 * different instances see one room (welcomes, joins, leaves, signals, contacts), the room's size limit
 * holds across instances (also when many join at once), a reconnection on another instance replaces
 * the old socket without a leave, and a hostile message published on an instance's channel is refused.
 */
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import { CLOSE_CODES } from '../../src/signaling/protocol.js'
import { Harness, type RawClient, type TestServer, sleep } from './helpers.js'
import { REDIS_MISSING, type RedisProcess, startRedis } from './redis-server.js'

describe.skipIf(REDIS_MISSING !== undefined)('signaling servers sharing rooms through Redis', () => {
  let redis: RedisProcess
  let harness: Harness
  let prefix = 0
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })
  afterEach(async () => {
    await harness.dispose()
  })

  /** `count` instances sharing one key prefix (a fresh one per test: tests never share rooms). */
  async function instances(count: number, options: { maxRoomSize?: number; presenceTtlMs?: number } = {}): Promise<TestServer[]> {
    harness = new Harness()
    const redisOptions = { url: redis.url, keyPrefix: `test${++prefix}:`, presenceTtlMs: options.presenceTtlMs ?? 3_000 }
    const servers: TestServer[] = []
    for (let i = 0; i < count; i++) servers.push(await harness.server({ redis: redisOptions, maxRoomSize: options.maxRoomSize ?? 64 }))
    return servers
  }

  it('peers on two instances share a full room: welcome, joins, signals both ways, leaves', async () => {
    const [a, b] = await instances(2)
    const alice = await harness.joined(a!.url, 'shared')
    expect(alice.welcome.peers).toEqual([])
    const bob = await harness.joined(b!.url, 'shared')
    expect(bob.welcome.peers.map((peer) => peer.id)).toEqual([alice.identity.id])
    expect(bob.welcome.peers[0]!.publicKey).toBe(alice.identity.publicKey)
    const joined = await alice.client.waitForType('peer-joined')
    expect(joined.peer.id).toBe(bob.identity.id)

    alice.client.send({ type: 'signal', to: bob.identity.id, payload: { sdp: 'offer', n: 1 } })
    const atBob = await bob.client.waitForType('signal')
    expect(atBob).toEqual({ type: 'signal', from: alice.identity.id, payload: { sdp: 'offer', n: 1 } })
    bob.client.send({ type: 'signal', to: alice.identity.id, payload: { sdp: 'answer' } })
    expect((await alice.client.waitForType('signal')).from).toBe(bob.identity.id)

    // Signals to one peer keep their order across instances.
    const since = bob.client.messages.length
    for (let n = 0; n < 20; n++) alice.client.send({ type: 'signal', to: bob.identity.id, payload: { n } })
    await bob.client.waitFor(() => bob.client.ofType('signal', since).length === 20)
    expect(bob.client.ofType('signal', since).map((signal) => signal.payload.n)).toEqual([...Array(20).keys()])

    // An id in no instance's room is unknown, as on one server.
    const stranger = await Identity.generate()
    alice.client.send({ type: 'signal', to: stranger.id, payload: {} })
    await alice.client.waitForError('UNKNOWN_PEER')

    bob.client.close()
    const left = await alice.client.waitForType('peer-left')
    expect(left.id).toBe(bob.identity.id)
    const carol = await harness.joined(b!.url, 'shared')
    expect(carol.welcome.peers.map((peer) => peer.id)).toEqual([alice.identity.id])
  })

  it('a scamp room across instances: the welcome and contacts name members held elsewhere, nothing is announced', async () => {
    const [a, b] = await instances(2)
    const alice = await harness.connect(a!.url)
    const aliceId = await Identity.generate()
    expect((await alice.join(aliceId, 'swarm', 'scamp')).peers).toEqual([])
    const bob = await harness.connect(b!.url)
    const bobId = await Identity.generate()
    const welcome = await bob.join(bobId, 'swarm', 'scamp')
    expect(welcome.peers.map((peer) => peer.id)).toEqual([aliceId.id])
    bob.send({ type: 'contact' })
    expect((await bob.waitForType('contact')).peer?.id).toBe(aliceId.id)
    alice.send({ type: 'contact' })
    expect((await alice.waitForType('contact')).peer?.id).toBe(bobId.id)
    await sleep(100)
    expect(alice.ofType('peer-joined')).toEqual([])
  })

  it('the room size limit holds across instances, also when many join at once', async () => {
    const [a, b, c] = await instances(3, { maxRoomSize: 3 })
    await harness.joined(a!.url, 'small')
    await harness.joined(b!.url, 'small')
    await harness.joined(c!.url, 'small')
    for (const server of [a!, b!, c!]) {
      const late = await harness.connect(server.url)
      await late.sendHello(await Identity.generate(), 'small')
      await late.waitForError('ROOM_FULL')
      expect((await late.waitForClose()).code).toBe(CLOSE_CODES.roomFull)
    }

    // Nine hellos at once, spread over the three instances, for a room of three.
    const identities = await Promise.all([...Array(9)].map(() => Identity.generate()))
    const clients = await Promise.all(identities.map((_, i) => harness.connect([a!, b!, c!][i % 3]!.url)))
    const outcomes = await Promise.all(
      clients.map((client, i) =>
        client.join(identities[i]!, 'race').then(
          () => 'joined',
          () => client.errorCodes().join(','),
        ),
      ),
    )
    expect(outcomes.filter((outcome) => outcome === 'joined')).toHaveLength(3)
    expect(outcomes.filter((outcome) => outcome === 'ROOM_FULL')).toHaveLength(6)
  })

  it('a peer that reconnects to another instance replaces its old socket; the room hears no leave and no join', async () => {
    const [a, b] = await instances(2)
    const watcher = await harness.joined(a!.url, 'moving')
    const mover = await harness.joined(a!.url, 'moving')
    await watcher.client.waitForType('peer-joined')
    const since = watcher.client.messages.length
    const again = await harness.connect(b!.url)
    const welcome = await again.join(mover.identity, 'moving')
    expect(welcome.peers.map((peer) => peer.id)).toEqual([watcher.identity.id])
    expect((await mover.client.waitForClose()).code).toBe(CLOSE_CODES.replaced)
    expect(mover.client.errorCodes()).toContain('ALREADY_JOINED')
    // Signals reach the mover on its new instance.
    watcher.client.send({ type: 'signal', to: mover.identity.id, payload: { after: 'move' } })
    expect((await again.waitForType('signal')).payload).toEqual({ after: 'move' })
    expect(watcher.client.messages.slice(since).filter((message) => message.type === 'peer-left' || message.type === 'peer-joined')).toEqual([])
  })

  it('a graceful close of an instance tells the other instances its peers left', async () => {
    const [a, b] = await instances(2)
    const stays = await harness.joined(a!.url, 'closing')
    const goes = await harness.joined(b!.url, 'closing')
    await b!.server.close()
    expect((await stays.client.waitForType('peer-left')).id).toBe(goes.identity.id)
  })

  it('the message budget of an address holds across instances: what it spent on one is not spent again on another', async () => {
    harness = new Harness()
    const redisOptions = { url: redis.url, keyPrefix: `test${++prefix}:` }
    // Each instance alone allows 40 messages from the address; together too, not 80.
    const limits = { redis: redisOptions, rateLimitPerIpBurst: 40, rateLimitPerIpPerSecond: 1, maxStrikes: 1_000 }
    const a = await harness.server(limits)
    const b = await harness.server(limits)
    const answered = (client: { ofType: (type: 'contact') => unknown[]; errorCodes: () => string[] }) =>
      client.ofType('contact').length + client.errorCodes().filter((code) => code === 'RATE_LIMITED').length
    // Each message waits for its answer: the charges keep up, as they do for any sustained rate.
    const sendAll = async (client: RawClient, count: number) => {
      for (let i = 0; i < count; i++) {
        const before = answered(client)
        client.send({ type: 'contact' })
        await client.waitFor(() => answered(client) > before, { what: 'an answer' })
        if (client.errorCodes().includes('RATE_LIMITED')) return
      }
    }
    const x = await harness.joined(a.url, 'budget')
    await sendAll(x.client, 30)
    expect(x.client.errorCodes()).not.toContain('RATE_LIMITED')

    // Without sharing, b's own budget of 40 would answer all 30; shared, 2 hellos and 30 contacts left 8.
    const y = await harness.joined(b.url, 'budget')
    await sendAll(y.client, 30)
    expect(y.client.errorCodes()).toContain('RATE_LIMITED')
    expect(y.client.ofType('contact').length).toBeLessThanOrEqual(10)
  })

  it('a hostile message published on an instance channel is refused, and nothing reaches its peers', async () => {
    const [a] = await instances(1)
    const alice = await harness.joined(a!.url, 'target')
    const instance = /as instance (\S+);/.exec(a!.log.join('\n'))?.[1]
    expect(instance).toBeDefined()
    const channel = `test${prefix}:instance:${instance}`
    const publisher = new Redis(redis.url)
    try {
      const room = 'full/target'
      const deliver = (message: string) => JSON.stringify({ v: 1, kind: 'deliver', room, to: alice.identity.id, message })
      const deep = JSON.stringify({ type: 'signal', from: alice.identity.id, payload: JSON.parse(`${'{"a":'.repeat(20)}1${'}'.repeat(20)}`) })
      const hostile = [
        'not json',
        '[]',
        JSON.stringify({ v: 2, kind: 'deliver', room, to: alice.identity.id, message: '{}' }),
        JSON.stringify({ v: 1, kind: 'deliver', room: '../x', to: alice.identity.id, message: '{}' }),
        deliver(deep), // nested deeper than a client accepts
        deliver(JSON.stringify({ type: 'welcome', id: alice.identity.id, room: 'target', peers: [] })), // not a signal
        deliver(JSON.stringify({ type: 'signal', from: 'not-an-id', payload: {} })),
        JSON.stringify({ v: 1, kind: 'announce', room, message: JSON.stringify({ type: 'signal', from: alice.identity.id, payload: {} }) }),
        JSON.stringify({ v: 1, kind: 'replaced', room, id: alice.identity.id, session: 'x' }), // not a session token
        JSON.stringify({ v: 1, kind: 'deliver', room, to: alice.identity.id, message: '{}', extra: 1 }),
        deliver(JSON.stringify({ type: 'signal', from: alice.identity.id, payload: { big: 'x'.repeat(200 * 1024) } })), // over the bound
      ]
      for (const text of hostile) await publisher.publish(channel, text)
      // A well-formed one after them arrives: the refusals were each dropped, not the channel.
      await publisher.publish(channel, deliver(JSON.stringify({ type: 'signal', from: alice.identity.id, payload: { ok: true } })))
      const signal = await alice.client.waitForType('signal')
      expect(signal.payload).toEqual({ ok: true })
      expect(a!.server.stats().refusedRelays).toBe(hostile.length)
      expect(alice.client.ofType('signal')).toHaveLength(1)
      expect(alice.client.isOpen).toBe(true)
      expect(a!.log.filter((line) => line.includes('refused relay code=BAD_MESSAGE'))).toHaveLength(hostile.length)
    } finally {
      publisher.disconnect()
    }
  })

  it('malformed members written into Redis are left out of welcomes and contacts', async () => {
    const [a] = await instances(1)
    const writer = new Redis(redis.url)
    try {
      const members = `test${prefix}:room:full/planted:members`
      const expiry = `test${prefix}:room:full/planted:expiry`
      const fake = await Identity.generate()
      // A bad id, a holder with too many fields, a holder with a bad key, a holder that is far too long.
      await writer.hset(members, 'not-an-id', `inst00001 sess00001 ${fake.publicKey}`)
      await writer.hset(members, fake.id, `inst00001 sess00001 ${fake.publicKey} extra`)
      const other = await Identity.generate()
      await writer.hset(members, other.id, 'inst00001 sess00001 short-key')
      const third = await Identity.generate()
      await writer.hset(members, third.id, 'x'.repeat(10_000))
      const far = Date.now() + 60_000
      await writer.zadd(expiry, far, 'not-an-id', far, fake.id, far, other.id, far, third.id)
      const alice = await harness.joined(a!.url, 'planted')
      expect(alice.welcome.peers).toEqual([])
      expect(a!.log.filter((line) => line.includes('refused redis member'))).toHaveLength(4)
    } finally {
      writer.disconnect()
    }
  })

  it('an instance whose Redis cannot be reached does not start: ready rejects with SIGNALING_UNAVAILABLE', async () => {
    harness = new Harness()
    const server = await harness.server({ redis: { url: redis.url, keyPrefix: `test${++prefix}:` } })
    const alice = await harness.joined(server.url, 'room')
    expect(alice.welcome.peers).toEqual([])
    // Not reachable from the start: the server does not start.
    const unreachable = harness.server({ redis: 'redis://127.0.0.1:1' })
    await expect(unreachable).rejects.toMatchObject({ code: 'SIGNALING_UNAVAILABLE' })
  })
})
