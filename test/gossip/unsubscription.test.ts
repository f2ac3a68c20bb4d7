/** SCAMP's unsubscription rule (scamp.ts, "Unsubscription"): of l in-view members, l−c−1 replace the leaver, c+1 drop it. */
import { describe, expect, test } from 'vitest'
import { SimNetwork } from '../../sim/network.js'
import { effectsOf, heldBy, holdPeers, joinThrough, makeNode, peers, sends } from './helpers.js'

describe('leaving', () => {
  test.each([
    [1, 6, 4],
    [0, 5, 3],
    [2, 9, 2],
    [1, 2, 3],
    [1, 6, 0],
  ])('with c = %i, l = %i in-view members and %i partial-view members', (c, l, k) => {
    const t = makeNode('leaver', { c })
    joinThrough(t, 'contact')
    const view = ['contact', ...peers('p', Math.max(0, k - 1))].slice(0, k)
    if (k === 0) t.node.peerUnreachable('contact')
    else holdPeers(t, view.slice(1))
    const holders = peers('h', l)
    heldBy(t, holders)
    expect(t.node.partialViewSize).toBe(k)
    expect(t.node.inViewSize).toBe(l)

    const effects = t.node.leave()
    const unsubscriptions = sends(effects, 'unsubscribe')
    expect(new Set(unsubscriptions.map((u) => u.to))).toEqual(new Set(holders))
    const replacing = unsubscriptions.filter((u) => u.message.type === 'unsubscribe' && u.message.replacement !== null)
    expect(replacing).toHaveLength(k === 0 ? 0 : Math.max(0, l - c - 1))
    for (const u of replacing) {
      if (u.message.type !== 'unsubscribe') throw new Error('unreachable')
      expect(view).toContain(u.message.replacement)
      expect(u.message.replacement).not.toBe(u.to)
      expect(u.message.replacementEpoch).toBe(1) // the epoch each member's subscription is held with
    }
    // Replacements go round the partial view: each member is used ⌈(l−c−1)/k⌉ times at most.
    const uses = new Map<string, number>()
    for (const u of replacing) if (u.message.type === 'unsubscribe') uses.set(u.message.replacement!, (uses.get(u.message.replacement!) ?? 0) + 1)
    for (const count of uses.values()) expect(count).toBeLessThanOrEqual(Math.ceil(replacing.length / k))
    // Partial-view members are told this node no longer holds them.
    expect(
      sends(effects, 'forget')
        .map((f) => f.to)
        .sort(),
    ).toEqual([...view].sort())
    expect(t.node.state).toBe('left')
    expect(t.node.partialViewSize + t.node.inViewSize).toBe(0)
    expect(effectsOf(effects, 'neighbour-down')).toHaveLength(new Set([...holders, ...view]).size)
    expect(t.node.leave()).toEqual([])
    expect(() => t.node.publish(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'GOSSIP_CLOSED' }))
  })

  test('an in-view member told to replace the leaver keeps the replacement and tells it', () => {
    const t = makeNode('holder')
    holdPeers(t, ['leaver', 'other'], 2)
    const effects = t.receive('leaver', { type: 'unsubscribe', epoch: 2, replacement: 'r', replacementEpoch: 7 })
    expect(t.node.hasInPartialView('leaver')).toBe(false)
    expect(t.node.heldEpoch('r')).toBe(7)
    expect(sends(effects)).toEqual([{ type: 'send', to: 'r', message: { type: 'kept', epoch: 7 } }])
  })

  test('a replacement already held, or this node itself, just drops the arc', () => {
    const t = makeNode('holder')
    holdPeers(t, ['leaver', 'r', 'l2'], 2)
    t.receive('leaver', { type: 'unsubscribe', epoch: 2, replacement: 'r', replacementEpoch: 7 })
    t.receive('l2', { type: 'unsubscribe', epoch: 2, replacement: 'holder', replacementEpoch: 1 })
    expect(t.node.partialView()).toEqual(['r'])
    expect(t.node.heldEpoch('r')).toBe(2)
  })

  test('an unsubscription from a peer that is not held changes nothing (a forged one cannot inject arcs)', () => {
    const t = makeNode('holder')
    holdPeers(t, ['a'])
    expect(t.receive('stranger', { type: 'unsubscribe', epoch: 99, replacement: 'evil', replacementEpoch: 1 })).toEqual([
      { type: 'refused', peer: 'stranger', code: 'GOSSIP_UNSOLICITED', reason: 'unsubscription of epoch 99 with a replacement; nothing held' },
    ])
    expect(t.receive('stranger', { type: 'unsubscribe', epoch: 99, replacement: null, replacementEpoch: 0 })).toEqual([])
    expect(t.node.partialView()).toEqual(['a'])
  })

  test('an unsubscription of an older epoch leaves a newer subscription held and takes no replacement', () => {
    const t = makeNode('holder')
    holdPeers(t, ['renewed'], 5)
    expect(t.receive('renewed', { type: 'unsubscribe', epoch: 4, replacement: null, replacementEpoch: 0 })).toEqual([]) // an honest race
    const refused = t.receive('renewed', { type: 'unsubscribe', epoch: 4, replacement: 'r', replacementEpoch: 1 })
    expect(refused).toMatchObject([{ type: 'refused', code: 'GOSSIP_UNSOLICITED' }])
    expect(t.node.heldEpoch('renewed')).toBe(5)
    expect(t.node.hasInPartialView('r')).toBe(false)
  })
})

describe('arc counts in a network', () => {
  test.each([0, 1, 2])('with c = %i a leave removes the leaver’s k out-arcs and c+1 of its l in-arcs; l−c−1 are redirected', (c) => {
    const sim = new SimNetwork({ seed: 7 + c, config: { c, heartbeatIntervalMs: 0, leaseMs: 0 }, detectionDelayMs: null, contactDelayMs: null })
    sim.join(sim.addNode())
    for (let i = 1; i < 150; i++) {
      const index = sim.addNode()
      sim.join(index, sim.randomAlive(index)!.index)
      sim.runUntilIdle()
    }
    const arcs = () => sim.alive().reduce((sum, n) => sum + n.node.partialViewSize, 0)
    const total = (pick: (m: ReturnType<(typeof sim.nodes)[number]['node']['metrics']>) => number) =>
      sim.nodes.reduce((sum, n) => sum + pick(n.node.metrics()), 0)
    let checked = 0
    for (let round = 0; round < 20; round++) {
      const leaver = sim.randomAlive()!
      const k = leaver.node.partialViewSize
      const l = leaver.node.inViewSize
      const before = arcs()
      const keptBefore = total((m) => m.replacementsKept)
      const droppedBefore = total((m) => m.replacementsDropped)
      sim.leave(leaver.index)
      sim.runUntilIdle()
      const redirected = total((m) => m.replacementsKept) - keptBefore
      const collided = total((m) => m.replacementsDropped) - droppedBefore
      // l−c−1 holders were asked to redirect; each did, unless it already held that replacement.
      expect(redirected + collided).toBe(k === 0 ? 0 : Math.max(0, l - c - 1))
      expect(before - arcs()).toBe(k + l - redirected)
      if (collided === 0) {
        expect(before - arcs()).toBe(k + Math.min(l, c + 1))
        checked++
      }
    }
    expect(checked).toBeGreaterThan(0)
  })
})

describe('crashes', () => {
  function heldNode(c = 1) {
    const t = makeNode('me', { c })
    joinThrough(t, 'contact')
    holdPeers(t, peers('p', 9))
    heldBy(t, peers('h', 6))
    return t
  }

  test('a holder lost without an unsubscription is replaced by a new copy of the subscription, sent into the partial view', () => {
    const t = heldNode()
    t.rng.pin(0)
    const forwards = sends(t.node.peerUnreachable('h0'), 'forward-subscription')
    expect(forwards).toHaveLength(1)
    expect(forwards[0]!.message).toEqual({ type: 'forward-subscription', subscriber: 'me', epoch: t.node.epoch, hops: 0 })
    expect(t.node.hasInPartialView(forwards[0]!.to)).toBe(true)
    expect(t.node.metrics().lostArcsReplaced).toBe(1)
  })

  test('the copy is sent with probability 1 − (c+1)/|partial view|: never when the partial view has at most c+1 members', () => {
    const t = heldNode()
    t.rng.pin(0.85) // 1 − 2/10 = 0.8: the coin says no
    expect(sends(t.node.peerUnreachable('h0'), 'forward-subscription')).toHaveLength(0)
    t.rng.pin(0.75)
    expect(sends(t.node.peerUnreachable('h1'), 'forward-subscription')).toHaveLength(1)

    const small = makeNode('me', { c: 1 })
    joinThrough(small, 'contact')
    holdPeers(small, ['p0'])
    heldBy(small, ['h0'])
    small.rng.pin(0)
    expect(sends(small.node.peerUnreachable('h0'), 'forward-subscription')).toHaveLength(0)
  })

  test('a holder that unsubscribed (a graceful leave), a partial-view member, or a holder of an older subscription is not replaced', () => {
    const t = heldNode()
    t.rng.pin(0)
    t.receive('h0', { type: 'forget', epoch: t.node.epoch })
    expect(t.node.hasInInView('h0')).toBe(false)
    expect(sends(t.node.peerUnreachable('h0'), 'forward-subscription')).toHaveLength(0)
    expect(sends(t.node.peerUnreachable('p0'), 'forward-subscription')).toHaveLength(0)
    expect(t.node.metrics().lostArcsReplaced).toBe(0)
  })

  test('in a network, each replacement ends as exactly one new arc: a crash removes k + l arcs minus the replacements', () => {
    const sim = new SimNetwork({ seed: 11, config: { c: 1, heartbeatIntervalMs: 0, leaseMs: 0 }, detectionDelayMs: 1_000, contactDelayMs: null })
    sim.join(sim.addNode())
    for (let i = 1; i < 150; i++) {
      const index = sim.addNode()
      sim.join(index, sim.randomAlive(index)!.index)
      sim.runUntilIdle()
    }
    const arcs = () => sim.alive().reduce((sum, n) => sum + n.node.partialViewSize, 0)
    const total = (pick: (m: ReturnType<(typeof sim.nodes)[number]['node']['metrics']>) => number) =>
      sim.nodes.reduce((sum, n) => sum + pick(n.node.metrics()), 0)
    let replacedAll = 0
    for (let round = 0; round < 20; round++) {
      const victim = sim.randomAlive()!
      const k = victim.node.partialViewSize
      const l = victim.node.inViewSize
      const before = arcs()
      const replacedBefore = total((m) => m.lostArcsReplaced)
      const expiredBefore = total((m) => m.subscriptionsExpired)
      sim.crash(victim.index)
      sim.runUntilIdle()
      const replaced = total((m) => m.lostArcsReplaced) - replacedBefore
      const expired = total((m) => m.subscriptionsExpired) - expiredBefore
      expect(before - arcs()).toBe(k + l - (replaced - expired))
      replacedAll += replaced
    }
    expect(replacedAll).toBeGreaterThan(0)
  })
})
