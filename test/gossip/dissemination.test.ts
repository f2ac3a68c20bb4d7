/** Gossip dissemination: publish, deliver once, forward once to the partial view, bounded dedupe cache. */
import { describe, expect, test } from 'vitest'
import { Dissemination, messageIdAt, messageIdTime, SeenCache } from '../../src/gossip/dissemination.js'
import { createRng, isMessageId } from '../../src/gossip/index.js'
import { SimNetwork } from '../../sim/network.js'
import { effectsOf, holdPeers, makeNode, sends } from './helpers.js'

const ID = '000000000000bbbbccccccccdddddddd' // sent at time 0, the test clock's

describe('publish', () => {
  test('sends the payload once to every partial-view member and delivers nothing locally', () => {
    const t = makeNode('me')
    holdPeers(t, ['a', 'b', 'c'])
    const payload = new Uint8Array([1, 2, 3])
    const { id, effects } = t.node.publish(payload)
    expect(isMessageId(id)).toBe(true)
    expect(
      sends(effects)
        .map((s) => s.to)
        .sort(),
    ).toEqual(['a', 'b', 'c'])
    for (const s of sends(effects)) expect(s.message).toEqual({ type: 'gossip', id, payload })
    expect(effectsOf(effects, 'deliver')).toEqual([])
    // It is not delivered back here either.
    expect(t.receive('a', { type: 'gossip', id, payload })).toEqual([])
  })

  test('refuses a payload over maxPayloadBytes (at the limit is fine) and non-bytes', () => {
    const t = makeNode('me', { maxPayloadBytes: 100 })
    expect(() => t.node.publish(new Uint8Array(100))).not.toThrow()
    expect(() => t.node.publish(new Uint8Array(101))).toThrow(expect.objectContaining({ code: 'GOSSIP_TOO_LARGE' }))
    expect(() => t.node.publish('text' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})

describe('receiving gossip', () => {
  test('a new message is delivered once and forwarded once to every partial-view member but the sender', () => {
    const t = makeNode('me')
    holdPeers(t, ['a', 'b', 'c'])
    const payload = new Uint8Array([9])
    const first = t.receive('a', { type: 'gossip', id: ID, payload })
    expect(effectsOf(first, 'deliver')).toEqual([{ type: 'deliver', from: 'a', id: ID, payload }])
    expect(
      sends(first)
        .map((s) => s.to)
        .sort(),
    ).toEqual(['b', 'c'])
    expect(t.receive('b', { type: 'gossip', id: ID, payload })).toEqual([])
    expect(t.receive('a', { type: 'gossip', id: ID, payload })).toEqual([])
    expect(t.node.metrics()).toMatchObject({ gossipDelivered: 1, gossipDuplicates: 2 })
  })

  test('a flood over a simulated group reaches everyone exactly once', () => {
    const sim = new SimNetwork({ seed: 11, config: { heartbeatIntervalMs: 0, leaseMs: 0 }, detectionDelayMs: null })
    sim.join(sim.addNode())
    for (let i = 1; i < 300; i++) {
      const index = sim.addNode()
      sim.join(index, sim.randomAlive(index)!.index)
      sim.runUntilIdle()
    }
    const arcs = sim.alive().reduce((sum, n) => sum + n.node.partialViewSize, 0)
    const sentBefore = sim.stats.sent.gossip
    const id = sim.publish(5, new Uint8Array([1]))
    sim.runUntilIdle()
    expect(sim.deliveries.get(id)).toBe(299) // everyone but the publisher
    // Each node forwards once: at most one message per arc.
    expect(sim.stats.sent.gossip - sentBefore).toBeLessThanOrEqual(arcs)
  })
})

describe('the dedupe cache', () => {
  test('remembers at most its capacity, forgetting the oldest first; a forgotten id stays refused', () => {
    const cache = new SeenCache(3, 1000)
    const rng = createRng(3)
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((time) => messageIdAt(time, rng)) as [string, string, string, string, string]
    for (const id of [a, b, c, d]) expect(cache.add(id, 10)).toBe('new')
    expect(cache.size).toBe(3)
    expect(cache.has(a)).toBe(false)
    expect(cache.add(b, 10)).toBe('duplicate')
    expect(cache.add(a, 10)).toBe('expired') // forgotten, but not fresh: never delivered again
    expect(cache.add(e, 10)).toBe('new')
    expect(cache.has(b)).toBe(false)
  })

  test('refuses ids outside the horizon (exactly at it is fine) and forgets those that leave it', () => {
    const cache = new SeenCache(100, 1000)
    const rng = createRng(4)
    expect(cache.add(messageIdAt(8999, rng), 10_000)).toBe('expired')
    expect(cache.add(messageIdAt(11_001, rng), 10_000)).toBe('expired')
    expect(cache.add(messageIdAt(9000, rng), 10_000)).toBe('new')
    expect(cache.add(messageIdAt(11_000, rng), 10_000)).toBe('new')
    expect(cache.add(messageIdAt(10_500, rng), 10_500)).toBe('new')
    expect(cache.size).toBe(2) // the one from 9000 fell out of the horizon
  })

  test('a node flooded with distinct messages keeps its cache at maxSeenMessages', () => {
    const t = makeNode('me', { maxSeenMessages: 64 })
    t.clock.now = 1000
    const rng = createRng(5)
    for (let i = 0; i < 1000; i++) t.receive('a', { type: 'gossip', id: messageIdAt(i, rng), payload: new Uint8Array(0) })
    const dissemination = new Dissemination(64, 60_000, rng)
    for (let i = 0; i < 1000; i++) dissemination.receive('a', messageIdAt(i, rng), [], 1000)
    expect(dissemination.seen.size).toBe(64)
    expect(t.node.metrics().gossipDelivered).toBe(1000)
  })

  test('message ids are the time and 80 random bits in hex, reproducible from the seed', () => {
    const a = createRng(1)
    const b = createRng(1)
    const ids = Array.from({ length: 100 }, () => messageIdAt(1_700_000_000_000, a))
    expect(Array.from({ length: 100 }, () => messageIdAt(1_700_000_000_000, b))).toEqual(ids)
    expect(new Set(ids).size).toBe(100)
    for (const id of ids) {
      expect(isMessageId(id)).toBe(true)
      expect(messageIdTime(id)).toBe(1_700_000_000_000)
    }
  })
})

describe('the seen-cache cannot be turned against honest messages (floors per origin)', () => {
  const rng = { next: () => Math.random() }
  const now = 1_700_000_000_000

  test('4 097 ids dated 299 s ahead (inside the horizon) do not lift the floor: an honest message is still delivered, once', () => {
    const dissemination = new Dissemination(4096, 300_000, rng)
    for (let i = 0; i <= 4096; i++) dissemination.receive('attacker', messageIdAt(now + 299_000, rng), ['x'], now, 'attacker')
    const honest = messageIdAt(now, rng)
    expect(dissemination.receive('z', honest, ['x', 'y'], now, 'honest')).toEqual({ deliver: true, forwardTo: ['x', 'y'] })
    expect(dissemination.receive('other', honest, ['x'], now + 10, 'honest')).toEqual({ deliver: false, expired: true }) // forgotten, never redelivered
    expect(dissemination.receive('z', messageIdAt(now + 1_000, rng), ['x'], now + 1_000, 'honest')).toMatchObject({ deliver: true })
    // The attacker's own ids are what its flood holds back.
    expect(dissemination.receive('z', messageIdAt(now, rng), ['x'], now, 'attacker')).toEqual({ deliver: false, expired: true })
  })

  test('an honest peer whose clock runs 60 s fast, in a busy room, does not block the others', () => {
    const cache = new SeenCache(4096, 300_000)
    for (let i = 0; i < 4097; i++) cache.add(messageIdAt(now + 60_000, rng), now, 'fast clock')
    expect(cache.add(messageIdAt(now, rng), now, 'on time')).toBe('new')
  })

  test('a forgotten id is refused (the floor), whatever order ids arrived in', () => {
    const cache = new SeenCache(3, 300_000)
    const ids = [now - 4, now - 3, now - 2, now - 1].map((t) => messageIdAt(t, rng))
    for (const id of [ids[2]!, ids[0]!, ids[3]!, ids[1]!]) expect(cache.add(id, now, 'origin')).toBe('new')
    // The oldest by time (ids[0]) was forgotten, though it was not the first to arrive.
    expect(cache.has(ids[0]!)).toBe(false)
    expect(cache.add(ids[0]!, now, 'origin')).toBe('expired')
    expect(cache.add(ids[2]!, now, 'origin')).toBe('duplicate')
  })
})
