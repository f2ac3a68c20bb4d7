/**
 * A small, bounded load test of shared rooms on loopback: simulated clients (real sockets, real
 * hellos signed with real keys) join rooms of ten spread over two instances sharing one real
 * redis-server, then signals are timed from send to delivery within one instance and across the two.
 * The same joins against one instance without Redis give the ratio's baseline in the same run.
 *
 * `npm test` runs it with 200 clients; `npm run bench:redis-signaling` with 1 000
 * (REDIS_LOAD_CLIENTS, REDIS_LOAD_SIGNALS override). Run it under the shared lock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import type { SignalingServerOptions } from '../../signaling/options.js'
import { Harness, type RawClient } from './helpers.js'
import { REDIS_MISSING, type RedisProcess, startRedis } from './redis-server.js'

const CLIENTS = Number(process.env.REDIS_LOAD_CLIENTS ?? 200)
const SIGNALS = Number(process.env.REDIS_LOAD_SIGNALS ?? 200)
const ROOM_SIZE = 10
const IN_FLIGHT = 50

/** Every client from 127.0.0.1: the per-address caps are raised to let one address be a crowd, and one socket time many signals. */
const CROWD_LIMITS: SignalingServerOptions = {
  rateLimitBurst: 1_000_000,
  rateLimitPerSecond: 1_000_000,
  maxSocketsPerIp: 10_000,
  maxPendingHellosPerIp: 10_000,
  rateLimitPerIpBurst: 1_000_000,
  rateLimitPerIpPerSecond: 1_000_000,
  bytesPerIpBurst: 1024 ** 3,
  bytesPerIpPerSecond: 1024 ** 3,
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

describe.skipIf(REDIS_MISSING !== undefined)('shared rooms under load (loopback, bounded)', () => {
  let redis: RedisProcess
  let identities: Identity[]
  beforeAll(async () => {
    redis = await startRedis()
    identities = await Promise.all([...Array(CLIENTS)].map(() => Identity.generate()))
  }, 120_000)
  afterAll(async () => {
    await redis?.stop()
  })

  /** Joins every identity to room `i / ROOM_SIZE` on `urls[i % urls.length]`, IN_FLIGHT at a time; returns joins per second. */
  async function joinAll(harness: Harness, urls: string[], room: string): Promise<{ clients: RawClient[]; joinsPerSecond: number }> {
    const clients: RawClient[] = new Array(CLIENTS)
    let next = 0
    const started = performance.now()
    const worker = async () => {
      while (next < CLIENTS) {
        const i = next++
        const client = await harness.connect(urls[i % urls.length]!)
        await client.join(identities[i]!, `${room}-${Math.floor(i / ROOM_SIZE)}`)
        clients[i] = client
      }
    }
    await Promise.all([...Array(IN_FLIGHT)].map(worker))
    return { clients, joinsPerSecond: CLIENTS / ((performance.now() - started) / 1000) }
  }

  /** Times SIGNALS signals one at a time from `from` to `to` (send → delivery, one clock). */
  async function relayLatency(from: RawClient, to: RawClient, toId: string): Promise<{ p50: number; p99: number }> {
    const times: number[] = []
    for (let n = 0; n < SIGNALS; n++) {
      const since = to.messages.length
      const sent = performance.now()
      from.send({ type: 'signal', to: toId, payload: { n } })
      await to.waitFor((message) => message.type === 'signal' && message.payload.n === n, { since, what: `signal ${n}` })
      times.push(performance.now() - sent)
    }
    times.sort((a, b) => a - b)
    return { p50: percentile(times, 50), p99: percentile(times, 99) }
  }

  it(`${CLIENTS} clients join rooms of ${ROOM_SIZE} over two instances; signals relay within and across instances`, async () => {
    // Baseline: one instance, rooms in memory.
    const alone = new Harness()
    const single = await alone.server({ ...CROWD_LIMITS })
    const baseline = await joinAll(alone, [single.url], 'alone')
    expect(single.server.stats().peers).toBe(CLIENTS)
    await alone.dispose()

    const shared = new Harness()
    try {
      const redisOptions = { url: redis.url, keyPrefix: 'load:' }
      const a = await shared.server({ ...CROWD_LIMITS, redis: redisOptions })
      const b = await shared.server({ ...CROWD_LIMITS, redis: redisOptions })
      const { clients, joinsPerSecond } = await joinAll(shared, [a.url, b.url], 'shared')
      expect(a.server.stats().peers + b.server.stats().peers).toBe(CLIENTS)
      // Every member of room 0 knows the nine others (from its welcome or a peer-joined), wherever they are held.
      for (const client of clients.slice(0, ROOM_SIZE)) {
        const known = () => new Set([...client.ofType('welcome')[0]!.peers.map((peer) => peer.id), ...client.ofType('peer-joined').map((m) => m.peer.id)])
        await client.waitFor(() => known().size === ROOM_SIZE - 1, { what: 'the nine others' })
      }

      // Room 0: clients 0, 2, 4… on a; 1, 3, 5… on b.
      const within = await relayLatency(clients[0]!, clients[2]!, identities[2]!.id)
      const across = await relayLatency(clients[0]!, clients[1]!, identities[1]!.id)
      const line = [
        `[redis load] ${CLIENTS} clients, rooms of ${ROOM_SIZE}, ${IN_FLIGHT} joining at a time:`,
        `joins/s one instance in memory ${baseline.joinsPerSecond.toFixed(0)}, two instances on Redis ${joinsPerSecond.toFixed(0)}`,
        `(ratio ${(joinsPerSecond / baseline.joinsPerSecond).toFixed(2)});`,
        `signal relay over ${SIGNALS}: within one instance p50 ${within.p50.toFixed(2)} ms p99 ${within.p99.toFixed(2)} ms,`,
        `across instances p50 ${across.p50.toFixed(2)} ms p99 ${across.p99.toFixed(2)} ms`,
      ].join(' ')
      console.log(line)
    } finally {
      await shared.dispose()
    }
  }, 300_000)
})
