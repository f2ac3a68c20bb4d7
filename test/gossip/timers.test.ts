/** Heartbeats, isolation recovery and leases (scamp.ts, "Recovery from isolation" and "Lease mechanism"). */
import { describe, expect, test } from 'vitest'
import { viewStats } from '../../sim/graph.js'
import { SimNetwork } from '../../sim/network.js'
import { effectsOf, heldBy, holdPeers, joinThrough, makeNode, peers, sends } from './helpers.js'

const HEARTBEATS = { heartbeatIntervalMs: 1000, isolationTimeoutMs: 5000 }

/** Advances the node's clock to `until`, running every timer on the way; returns all effects. */
function runTimers(t: ReturnType<typeof makeNode>, until: number, between?: (now: number) => void) {
  const effects = []
  for (;;) {
    const next = t.node.nextTimerAt()
    if (next === null || next > until) break
    t.clock.now = Math.max(t.clock.now, next)
    between?.(t.clock.now)
    effects.push(...t.node.tick())
  }
  t.clock.now = until
  return effects
}

describe('heartbeats', () => {
  test('go to every partial-view member with the epoch of its subscription held here', () => {
    const t = makeNode('me', HEARTBEATS)
    t.node.join()
    holdPeers(t, ['a'], 3)
    holdPeers(t, ['b'], 8)
    const beats = sends(runTimers(t, 1000), 'heartbeat')
    expect(beats.map((b) => [b.to, b.message.type === 'heartbeat' && b.message.epoch]).sort()).toEqual([
      ['a', 3],
      ['b', 8],
    ])
  })

  test('record the sender in the in-view (repairing a lost keep notice)', () => {
    const t = makeNode('me', HEARTBEATS)
    joinThrough(t, 'c')
    t.receive('h', { type: 'heartbeat', epoch: t.node.epoch })
    expect(t.node.inView()).toEqual(['h'])
    expect(t.node.metrics().inViewRepaired).toBe(1)
  })

  test('for an older subscription are answered with an unsubscription', () => {
    const t = makeNode('me', HEARTBEATS)
    joinThrough(t, 'c')
    t.node.join('c') // a new subscription, epoch 2; nobody holds epoch 1 as far as this node knows
    expect(sends(t.receive('stale', { type: 'heartbeat', epoch: 1 }))).toEqual([
      { type: 'send', to: 'stale', message: { type: 'unsubscribe', epoch: 1, replacement: null, replacementEpoch: 0 } },
    ])
  })

  test('in-view members that go silent are forgotten', () => {
    const t = makeNode('me', HEARTBEATS)
    joinThrough(t, 'c')
    heldBy(t, ['h1', 'h2'])
    const effects = runTimers(t, 4000, (now) => {
      if (now % 1000 === 0) t.receive('h1', { type: 'heartbeat', epoch: t.node.epoch })
    })
    expect(effects).not.toContainEqual(expect.objectContaining({ type: 'send', message: expect.objectContaining({ type: 'subscribe' }) }))
    runTimers(t, 6000, () => t.receive('h1', { type: 'heartbeat', epoch: t.node.epoch }))
    expect(t.node.inView()).toEqual(['h1'])
    expect(t.node.metrics().inViewExpired).toBe(1)
  })
})

describe('isolation recovery', () => {
  test('a node that hears no heartbeat for isolationTimeoutMs re-subscribes through a partial-view member', () => {
    const t = makeNode('me', HEARTBEATS)
    joinThrough(t, 'c')
    holdPeers(t, ['a', 'b'])
    const epoch = t.node.epoch
    const effects = runTimers(t, 5000)
    const [subscribe] = sends(effects, 'subscribe')
    expect(subscribe!.message).toMatchObject({ type: 'subscribe', subscriber: 'me', epoch: epoch + 1, renewal: false })
    expect(['a', 'b', 'c']).toContain(subscribe!.to)
    expect(t.node.metrics().isolationRecoveries).toBe(1)
    expect(t.node.partialViewSize).toBe(3) // the partial view is kept
  })

  test('heartbeats for the current subscription prevent it', () => {
    const t = makeNode('me', HEARTBEATS)
    joinThrough(t, 'c')
    heldBy(t, ['h'])
    const effects = runTimers(t, 60_000, () => t.receive('h', { type: 'heartbeat', epoch: t.node.epoch }))
    expect(sends(effects, 'subscribe')).toEqual([])
    expect(t.node.metrics().isolationRecoveries).toBe(0)
  })

  test('heartbeats for an older subscription do not', () => {
    const t = makeNode('me', HEARTBEATS)
    joinThrough(t, 'c')
    const old = t.node.epoch
    const effects = runTimers(t, 5000, () => t.receive('h', { type: 'heartbeat', epoch: old - 1 }))
    expect(sends(effects, 'subscribe')).toHaveLength(1)
  })

  test('an isolated node with an empty partial view asks for a contact, once per timeout', () => {
    const t = makeNode('alone', HEARTBEATS)
    t.node.join()
    const effects = runTimers(t, 11_000)
    expect(effectsOf(effects, 'need-contact')).toEqual([
      { type: 'need-contact', reason: 'isolated' },
      { type: 'need-contact', reason: 'isolated' },
    ])
  })

  test('a node whose partial view empties asks for a contact', () => {
    const t = makeNode('me')
    joinThrough(t, 'c')
    expect(t.node.peerUnreachable('c')).toContainEqual({ type: 'need-contact', reason: 'empty-view' })
    joinThrough(t, 'd')
    expect(t.receive('d', { type: 'unsubscribe', epoch: 1, replacement: null, replacementEpoch: 0 })).toContainEqual({
      type: 'need-contact',
      reason: 'empty-view',
    })
  })
})

describe('leases', () => {
  const LEASE = { leaseMs: 60_000, leaseJitter: 0 }

  test('a renewal re-subscribes through a partial-view member, keeps the partial view, and adds no arc to the contact', () => {
    const t = makeNode('me', LEASE)
    joinThrough(t, 'c')
    holdPeers(t, ['a', 'b'])
    heldBy(t, ['h1', 'h2', 'h3'])
    const old = t.node.epoch
    const effects = runTimers(t, 60_000)
    const [subscribe] = sends(effects, 'subscribe')
    expect(subscribe!.message).toMatchObject({ subscriber: 'me', epoch: old + 1, renewal: true })
    expect(['a', 'b', 'c']).toContain(subscribe!.to)
    expect(t.node.metrics().leaseRenewals).toBe(1)
    // Make before break: the old holders keep the old subscription until the new one is kept somewhere.
    expect(sends(effects, 'unsubscribe')).toEqual([])
    t.receive('x', { type: 'contact', subscriberEpoch: old + 1, contactEpoch: 4, renewal: true })
    expect(t.node.partialView().sort()).toEqual(['a', 'b', 'c'])
    const retire = t.receive('k1', { type: 'kept', epoch: old + 1 })
    expect(
      sends(retire, 'unsubscribe')
        .map((u) => [u.to, u.message])
        .sort(),
    ).toEqual(['h1', 'h2', 'h3'].map((h) => [h, { type: 'unsubscribe', epoch: old, replacement: null, replacementEpoch: 0 }]))
    t.receive('k2', { type: 'kept', epoch: old + 1 })
    expect(t.node.inView().sort()).toEqual(['k1', 'k2'])
  })

  test('old holders are told to drop the old subscription renewalOverlapMs after the contact answered, if no keep notice came', () => {
    const t = makeNode('me', { ...LEASE, renewalOverlapMs: 2000 })
    joinThrough(t, 'c')
    heldBy(t, ['h1'])
    runTimers(t, 60_000)
    t.receive('x', { type: 'contact', subscriberEpoch: t.node.epoch, contactEpoch: 4, renewal: true })
    expect(sends(runTimers(t, 61_999), 'unsubscribe')).toEqual([])
    expect(sends(runTimers(t, 62_000), 'unsubscribe').map((u) => u.to)).toEqual(['h1'])
  })

  test('an old holder’s heartbeat during the overlap counts as held and is not answered', () => {
    const t = makeNode('me', LEASE)
    joinThrough(t, 'c')
    heldBy(t, ['h1'])
    const old = t.node.epoch
    runTimers(t, 60_000)
    expect(sends(t.receive('h1', { type: 'heartbeat', epoch: old }))).toEqual([])
  })

  test('a holder drops a subscription not renewed within two leases, and says so', () => {
    const t = makeNode('holder', { leaseMs: 60_000, heartbeatIntervalMs: 10_000, isolationTimeoutMs: 1_000_000 })
    t.node.join()
    holdPeers(t, ['a'], 3)
    const effects = runTimers(t, 130_000) // heartbeats, which check leases, start at a random phase
    expect(t.node.hasInPartialView('a')).toBe(false)
    expect(sends(effects, 'forget')).toEqual([{ type: 'send', to: 'a', message: { type: 'forget', epoch: 3 } }])
    expect(t.node.metrics().leasesExpired).toBe(1)
  })

  function group(leaseMs: number): SimNetwork {
    const sim = new SimNetwork({ seed: 3, config: { c: 1, heartbeatIntervalMs: 0, leaseMs } })
    sim.join(sim.addNode())
    for (let i = 1; i < 200; i++) {
      const index = sim.addNode()
      sim.join(index, sim.randomAlive(index)!.index)
      sim.runUntilSettled(index)
    }
    return sim
  }

  test('keep the views bounded in a network: the mean partial view stays put over many leases', () => {
    const sim = group(10 * 60_000)
    const start = viewStats(sim).meanPartialView
    const renewals = () => sim.nodes.reduce((sum, n) => sum + n.node.metrics().leaseRenewals, 0)
    const renewalsBefore = renewals()
    const means: number[] = []
    for (let lease = 1; lease <= 10; lease++) {
      sim.runUntil(sim.now + 10 * 60_000)
      means.push(viewStats(sim).meanPartialView)
    }
    expect(renewals() - renewalsBefore).toBeGreaterThan(200 * 9) // every node renewed about ten times
    // Naive leases would add about c+1 arcs per node and lease (+20 here); these stay within a few percent.
    for (const mean of means) expect(Math.abs(mean / start - 1)).toBeLessThan(0.2)
    expect(Math.max(...sim.alive().map((n) => n.node.partialViewSize))).toBeLessThan(60)
  })

  test('for contrast: renewing with a full subscription (extra copies and a contact arc) grows the views every lease', () => {
    const sim = group(0)
    const start = viewStats(sim).meanPartialView
    for (let lease = 1; lease <= 10; lease++) {
      for (const { index, node } of sim.alive()) {
        const via = node.partialView()[0]
        if (via !== undefined) sim.at(sim.now + Math.floor(sim.rng.next() * 600_000), () => sim.join(index, Number(via.slice(1))))
      }
      sim.runUntil(sim.now + 600_000)
    }
    // About c+1 = 2 more arcs per node and lease.
    expect(viewStats(sim).meanPartialView - start).toBeGreaterThan(10)
  })
})

describe('neighbours', () => {
  test('neighbour effects follow partial view ∪ in-view', () => {
    const t = makeNode('me')
    const join = joinThrough(t, 'c')
    expect(effectsOf(join, 'neighbour-up')).toEqual([{ type: 'neighbour-up', peer: 'c' }])
    expect(effectsOf(t.receive('c', { type: 'kept', epoch: t.node.epoch }), 'neighbour-up')).toEqual([]) // already a neighbour
    expect(effectsOf(t.receive('d', { type: 'kept', epoch: t.node.epoch }), 'neighbour-up')).toEqual([{ type: 'neighbour-up', peer: 'd' }])
    expect(effectsOf(t.node.peerUnreachable('c'), 'neighbour-down')).toEqual([{ type: 'neighbour-down', peer: 'c' }])
    expect(t.node.neighbours()).toEqual(['d'])
    expect(peers('x', 2)).toEqual(['x0', 'x1'])
  })
})
