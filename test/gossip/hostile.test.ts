/** Hostile peers: bad messages refused with codes, repeat offenders reported, every structure bounded. */
import { describe, expect, test } from 'vitest'
import { DEFAULT_SCAMP_CONFIG, resolveScampConfig } from '../../src/gossip/index.js'
import { StrikeCounter } from '../../src/gossip/strikes.js'
import { effectsOf, holdPeers, joinThrough, makeNode, peers } from './helpers.js'

describe('refusals', () => {
  test('a malformed message is refused with GOSSIP_MALFORMED and changes nothing', () => {
    const t = makeNode('me')
    holdPeers(t, ['a'])
    const effects = t.node.receive('bad', [1, 'a b', 1, 0])
    expect(effects).toEqual([{ type: 'refused', peer: 'bad', code: 'GOSSIP_MALFORMED', reason: 'bad subscriber id' }])
    expect(t.node.partialView()).toEqual(['a'])
    expect(t.node.metrics().refused).toBe(1)
  })

  test('an oversized gossip payload is refused with GOSSIP_TOO_LARGE', () => {
    const t = makeNode('me', { maxPayloadBytes: 10 })
    const [refused] = t.node.receive('big', [7, '0123456789abcdef0123456789abcdef', new Uint8Array(11)])
    expect(refused).toMatchObject({ type: 'refused', peer: 'big', code: 'GOSSIP_TOO_LARGE' })
  })

  test('a peer that keeps sending bad messages is reported misbehaving once per maxStrikes, within the window', () => {
    const t = makeNode('me', { maxStrikes: 3, strikeWindowMs: 1000 })
    const bad = () => effectsOf(t.node.receive('bad', 'garbage'), 'misbehaving')
    expect(bad()).toEqual([])
    expect(bad()).toEqual([])
    expect(bad()).toEqual([{ type: 'misbehaving', peer: 'bad', code: 'GOSSIP_MALFORMED' }])
    expect(bad()).toEqual([]) // the count starts over
    t.clock.now = 5000 // strikes older than the window are forgotten
    expect(bad()).toEqual([])
    expect(bad()).toEqual([])
    expect(t.node.metrics().misbehaving).toBe(1)
  })

  test('strikes are tracked for at most maxTrackedPeers peers', () => {
    const strikes = new StrikeCounter(2, 60_000, 100)
    for (let i = 0; i < 10_000; i++) strikes.strike(`p${i}`, 0)
    expect(strikes.trackedPeers).toBe(100)
    expect(strikes.strike('p9999', 0)).toBe(true)
  })

  test('a node that left ignores everything', () => {
    const t = makeNode('me')
    t.node.leave()
    expect(t.node.receive('x', 'garbage')).toEqual([])
    expect(t.node.tick()).toEqual([])
    expect(t.node.peerUnreachable('x')).toEqual([])
    expect(() => t.node.join('x')).toThrow(expect.objectContaining({ code: 'GOSSIP_CLOSED' }))
  })

  test('bad local arguments throw INVALID_ARGUMENT', () => {
    expect(() => makeNode('has space')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    const t = makeNode('me')
    expect(() => t.node.join('me')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => t.node.join('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})

describe('bounds under a storm', () => {
  test('a forged subscription storm cannot grow the partial view past maxPartialView', () => {
    const t = makeNode('me', { maxPartialView: 20, forwardBurst: 5000 }) // the view bound, not the rate limit (test/attacks/scamp.test.ts)
    t.rng.pin(0) // every coin says keep
    for (let i = 0; i < 5000; i++) t.receive('attacker', { type: 'forward-subscription', subscriber: `fake${i}`, epoch: 1, hops: 0 })
    expect(t.node.partialViewSize).toBe(20)
    expect(t.node.metrics().partialViewFull).toBe(5000 - 20)
    // Each forged subscription costs at most one forward: no amplification.
    expect(t.node.metrics().subscriptionsForwarded).toBe(5000 - 20)
  })

  test('forged keep notices and heartbeats cannot grow the in-view past maxInView', () => {
    const t = makeNode('me', { maxInView: 30 })
    joinThrough(t, 'c')
    for (const peer of peers('k', 500)) t.receive(peer, { type: 'kept', epoch: t.node.epoch })
    for (const peer of peers('h', 500)) t.receive(peer, { type: 'heartbeat', epoch: t.node.epoch })
    expect(t.node.inViewSize).toBe(30)
    expect(t.node.metrics().inViewFull).toBe(970)
  })

  test('contact duty is rate-limited: a subscribe flood is refused with GOSSIP_RATE_LIMITED, without strikes', () => {
    const t = makeNode('me', { contactBurst: 5, contactRefillMs: 1000, maxStrikes: 2 })
    holdPeers(t, peers('p', 10))
    const flood = (n: number) => {
      const refused = []
      for (let i = 0; i < n; i++) {
        refused.push(
          ...effectsOf(t.receive('attacker', { type: 'subscribe', subscriber: `s${i}`, epoch: 1, walk: 0, fromDegree: 0, renewal: false }), 'refused'),
        )
      }
      return refused
    }
    const refused = flood(8)
    expect(refused).toHaveLength(3)
    expect(refused[0]).toMatchObject({ code: 'GOSSIP_RATE_LIMITED', peer: 'attacker' })
    expect(t.node.metrics()).toMatchObject({ contactsServed: 5, contactsRateLimited: 3, misbehaving: 0 })
    t.clock.now = 2000
    expect(flood(3)).toHaveLength(1) // two tokens came back
  })
})

describe('configuration', () => {
  test('defaults are valid and frozen', () => {
    expect(resolveScampConfig()).toEqual(DEFAULT_SCAMP_CONFIG)
    expect(Object.isFrozen(DEFAULT_SCAMP_CONFIG)).toBe(true)
  })

  test.each([
    { c: -1 },
    { c: 1.5 },
    { maxPartialView: 0 },
    { c: 128 },
    { indirectionHops: 40 },
    { leaseJitter: 1 },
    { heartbeatIntervalMs: 10_000, isolationTimeoutMs: 10_000 },
    { maxPayloadBytes: Number.NaN },
  ])('refuses %o with INVALID_ARGUMENT', (overrides) => {
    expect(() => resolveScampConfig(overrides)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  test('0 switches heartbeats and leases off', () => {
    expect(resolveScampConfig({ heartbeatIntervalMs: 0, leaseMs: 0 })).toMatchObject({ heartbeatIntervalMs: 0, leaseMs: 0 })
  })
})
