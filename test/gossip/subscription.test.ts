/** SCAMP's subscription rules, one node at a time (scamp.ts, "Subscription algorithm" and "Indirection"). */
import { describe, expect, test } from 'vitest'
import { effectsOf, heldBy, holdPeers, joinThrough, makeNode, peers, sends } from './helpers.js'

describe('the contact', () => {
  test.each([0, 1, 2, 3])('with c = %i forwards |partial view| + c copies, at least one to every member', (c) => {
    const t = makeNode('x', { c, indirectionHops: 0 })
    const view = peers('p', 7)
    holdPeers(t, view)
    const effects = t.receive('new', { type: 'subscribe', subscriber: 'new', epoch: 5, walk: 0, fromDegree: 0, renewal: false })
    const forwards = sends(effects, 'forward-subscription')
    expect(forwards).toHaveLength(view.length + c)
    expect(new Set(forwards.map((f) => f.to))).toEqual(new Set(view))
    for (const f of forwards) expect(f.message).toEqual({ type: 'forward-subscription', subscriber: 'new', epoch: 5, hops: 0 })
    expect(sends(effects, 'contact')).toEqual([
      { type: 'send', to: 'new', message: { type: 'contact', subscriberEpoch: 5, contactEpoch: t.node.epoch, renewal: false } },
    ])
    // The subscriber's partial view starts with the contact: the contact records it in its in-view.
    expect(t.node.inView()).toEqual(['new'])
    expect(t.node.hasInPartialView('new')).toBe(false)
    expect(t.node.metrics().contactsServed).toBe(1)
  })

  test('with an empty partial view keeps the subscription itself (the second member of a group)', () => {
    const t = makeNode('first')
    t.node.join()
    const effects = t.receive('second', { type: 'subscribe', subscriber: 'second', epoch: 1, walk: 0, fromDegree: 0, renewal: false })
    expect(t.node.partialView()).toEqual(['second'])
    expect(t.node.inView()).toEqual(['second'])
    expect(
      sends(effects)
        .map((s) => s.message.type)
        .sort(),
    ).toEqual(['contact', 'kept'])
    expect(effectsOf(effects, 'neighbour-up')).toEqual([{ type: 'neighbour-up', peer: 'second' }])
  })

  test('a lease renewal gets no extra copies and no in-view entry', () => {
    const t = makeNode('x', { c: 2 })
    holdPeers(t, peers('p', 5))
    const effects = t.receive('old', { type: 'subscribe', subscriber: 'old', epoch: 9, walk: 0, fromDegree: 0, renewal: true })
    expect(sends(effects, 'forward-subscription')).toHaveLength(5)
    expect(sends(effects, 'contact')).toHaveLength(1)
    expect(t.node.inViewSize).toBe(0)
  })

  test('holding the subscriber already, keeps its new subscription in place of the copy it would send it', () => {
    const t = makeNode('x', { c: 1 })
    holdPeers(t, ['a', 'b', 'renewing'])
    const effects = t.receive('renewing', { type: 'subscribe', subscriber: 'renewing', epoch: 9, walk: 0, fromDegree: 0, renewal: false })
    const forwards = sends(effects, 'forward-subscription')
    expect(forwards).toHaveLength(2 + 1)
    expect(forwards.map((f) => f.to)).not.toContain('renewing')
    expect(sends(effects, 'kept')).toEqual([{ type: 'send', to: 'renewing', message: { type: 'kept', epoch: 9 } }])
    expect(t.node.heldEpoch('renewing')).toBe(9)
  })

  test('a stale subscription reaching a contact that holds a newer one leaves the newer one held (views stay mirrored)', () => {
    // The property test's counterexample (graph.property.test.ts, seed 1918301954), reduced: `sub`
    // subscribed through b (epoch 2), then through c (epoch 3). The epoch-3 subscription is kept by
    // x; then the epoch-2 walk ends at x, which serves as its contact while holding sub@3.
    const sub = makeNode('sub')
    sub.node.join('a')
    sub.node.join('b')
    sub.node.join('c')
    expect(sub.node.epoch).toBe(3)
    const x = makeNode('x', { c: 2, indirectionHops: 0 })
    holdPeers(x, ['p0', 'p1'])
    // Messages from x to sub, in order (one direction of a link is FIFO); sub's answers go back to x.
    x.rng.pin(0)
    const toSub = sends(x.receive('c', { type: 'forward-subscription', subscriber: 'sub', epoch: 3, hops: 0 }), 'kept')
    x.rng.pin(undefined)
    expect(toSub.map((s) => s.message)).toEqual([{ type: 'kept', epoch: 3 }])
    const served = x.receive('b', { type: 'subscribe', subscriber: 'sub', epoch: 2, walk: 0, fromDegree: 0, renewal: false })
    toSub.push(...sends(served).filter((s) => s.to === 'sub'))
    expect(x.node.heldEpoch('sub')).toBe(3) // the stale subscription does not overwrite the newer one
    expect(sends(served, 'kept')).toEqual([])
    for (const { message } of toSub) {
      for (const answer of sends(sub.receive('x', message))) {
        expect(answer.to).toBe('x')
        x.receive('sub', answer.message)
      }
    }
    // sub records x as a holder of its subscription: x must still hold it, and sub holds x, its contact.
    expect(sub.node.inView()).toEqual(['x'])
    expect(x.node.heldEpoch('sub')).toBe(3)
    expect(sub.node.partialView()).toEqual(['x'])
    expect(x.node.hasInInView('sub')).toBe(true)
  })
})

describe('indirection', () => {
  test('a walk with steps left goes on to a neighbour (never the subscriber), one step fewer, carrying this node’s degree', () => {
    const t = makeNode('x', { indirectionHops: 4 })
    holdPeers(t, ['a', 'b'])
    heldBy(t, ['b', 'c'])
    for (let i = 0; i < 50; i++) {
      const [step] = sends(t.receive('a', { type: 'subscribe', subscriber: 'a', epoch: 1, walk: 3, fromDegree: 0, renewal: false }))
      expect(step!.message).toMatchObject({ type: 'subscribe', subscriber: 'a', walk: 2, fromDegree: 3 })
      expect(['b', 'c']).toContain(step!.to)
    }
    expect(t.node.metrics().contactsServed).toBe(0)
  })

  test('a step is accepted with probability min(1, fromDegree / degree); a rejected step goes back unconditionally', () => {
    const t = makeNode('x')
    holdPeers(t, peers('p', 8)) // degree 8
    let rejected = 0
    const runs = 4000
    for (let i = 0; i < runs; i++) {
      const effects = t.receive('q', { type: 'subscribe', subscriber: 's', epoch: 1, walk: 2, fromDegree: 2, renewal: false })
      const [step] = sends(effects, 'subscribe')
      if (step!.to === 'q') {
        rejected++
        expect(step!.message).toMatchObject({ walk: 2, fromDegree: 0 })
      } else {
        expect(step!.message).toMatchObject({ walk: 1, fromDegree: 8 })
      }
    }
    expect(rejected / runs).toBeCloseTo(1 - 2 / 8, 1)
  })

  test('where the walk ends, the node serves as the contact', () => {
    const t = makeNode('x', { c: 1 })
    holdPeers(t, ['a', 'b'])
    const effects = t.receive('a', { type: 'subscribe', subscriber: 's', epoch: 1, walk: 0, fromDegree: 1, renewal: false })
    expect(sends(effects, 'forward-subscription')).toHaveLength(3)
  })

  test('the subscriber sends its request with the configured walk length, and joins when the contact answers', () => {
    const t = makeNode('me', { indirectionHops: 7 })
    const join = t.node.join('bootstrap')
    expect(sends(join)).toEqual([
      { type: 'send', to: 'bootstrap', message: { type: 'subscribe', subscriber: 'me', epoch: 1, walk: 7, fromDegree: 0, renewal: false } },
    ])
    expect(t.node.state).toBe('subscribing')
    const answer = t.receive('somewhere', { type: 'contact', subscriberEpoch: 1, contactEpoch: 4, renewal: false })
    expect(t.node.state).toBe('joined')
    expect(t.node.partialView()).toEqual(['somewhere'])
    expect(t.node.heldEpoch('somewhere')).toBe(4)
    expect(effectsOf(answer, 'subscribed')).toEqual([{ type: 'subscribed', contact: 'somewhere', epoch: 1 }])
  })
})

describe('a forwarded subscription', () => {
  test.each([0, 1, 4, 9])('is kept with probability 1/(1 + k) for a partial view of k = %i (seeded)', (k) => {
    const t = makeNode('x', {}, 42)
    holdPeers(t, peers('p', k))
    const runs = 20_000
    let kept = 0
    for (let i = 0; i < runs; i++) {
      const subscriber = `s${i}`
      t.clock.now += t.node.config.forwardRefillMs // within p0's forwarding budget
      const effects = t.receive('p0', { type: 'forward-subscription', subscriber, epoch: 1, hops: 0 })
      if (sends(effects, 'kept').length > 0) {
        kept++
        t.receive(subscriber, { type: 'unsubscribe', epoch: 1, replacement: null, replacementEpoch: 0 }) // back to k members
      } else {
        expect(sends(effects, 'forward-subscription')).toHaveLength(1)
      }
      expect(t.node.partialViewSize).toBe(k)
    }
    const expected = 1 / (1 + k)
    expect(Math.abs(kept / runs - expected)).toBeLessThan(4 * Math.sqrt((expected * (1 - expected)) / runs) + 1e-9)
  })

  test('a kept subscription is announced to the subscriber, which records the keeper in its in-view', () => {
    const keeper = makeNode('keeper')
    keeper.rng.pin(0)
    const [kept] = sends(keeper.receive('p', { type: 'forward-subscription', subscriber: 'me', epoch: 1, hops: 3 }), 'kept')
    expect(kept).toEqual({ type: 'send', to: 'me', message: { type: 'kept', epoch: 1 } })
    const me = makeNode('me')
    me.node.join('bootstrap') // epoch 1
    me.receive('keeper', kept!.message)
    expect(me.node.inView()).toEqual(['keeper'])
  })

  test('is never kept by the subscriber itself, even when every coin says keep', () => {
    const t = makeNode('me')
    holdPeers(t, ['a', 'b'])
    t.rng.pin(0)
    const effects = t.receive('a', { type: 'forward-subscription', subscriber: 'me', epoch: 1, hops: 0 })
    expect(sends(effects, 'kept')).toHaveLength(0)
    expect(sends(effects, 'forward-subscription')).toEqual([
      { type: 'send', to: 'a', message: { type: 'forward-subscription', subscriber: 'me', epoch: 1, hops: 1 } },
    ])
    expect(t.node.hasInPartialView('me')).toBe(false)
  })

  test('is never kept twice: a subscription already held is forwarded, even when every coin says keep', () => {
    const t = makeNode('x')
    holdPeers(t, ['a', 'b'], 3)
    t.rng.pin(0)
    for (const epoch of [1, 3]) {
      const effects = t.receive('b', { type: 'forward-subscription', subscriber: 'a', epoch, hops: 0 })
      expect(sends(effects, 'kept')).toHaveLength(0)
      expect(sends(effects, 'forward-subscription')).toHaveLength(1)
    }
    expect(t.node.partialViewSize).toBe(2)
    // A newer subscription of a held peer (its lease renewal) replaces the held one.
    expect(sends(t.receive('b', { type: 'forward-subscription', subscriber: 'a', epoch: 4, hops: 0 }), 'kept')).toHaveLength(1)
    expect(t.node.heldEpoch('a')).toBe(4)
    expect(t.node.partialViewSize).toBe(2)
  })

  test('is forwarded with one more hop; at the hop limit it expires, and the expiry is counted', () => {
    const t = makeNode('x', { maxSubscriptionHops: 10 })
    holdPeers(t, ['a'])
    t.rng.pin(0.999_999) // never keep
    expect(sends(t.receive('a', { type: 'forward-subscription', subscriber: 's', epoch: 1, hops: 9 }))).toEqual([
      { type: 'send', to: 'a', message: { type: 'forward-subscription', subscriber: 's', epoch: 1, hops: 10 } },
    ])
    expect(t.node.metrics().subscriptionsExpired).toBe(0)
    expect(sends(t.receive('a', { type: 'forward-subscription', subscriber: 's', epoch: 1, hops: 10 }))).toEqual([])
    expect(t.node.metrics().subscriptionsExpired).toBe(1)
    expect(t.node.metrics().subscriptionsForwarded).toBe(1)
  })

  test('with nowhere to go (its own, and an empty view) it expires, counted', () => {
    const t = makeNode('me')
    expect(t.receive('a', { type: 'forward-subscription', subscriber: 'me', epoch: 1, hops: 0 })).toEqual([])
    expect(t.node.metrics().subscriptionsExpired).toBe(1)
  })

  test('a node with an empty partial view keeps every subscription it may keep', () => {
    const t = makeNode('x')
    const effects = t.receive('a', { type: 'forward-subscription', subscriber: 's', epoch: 1, hops: 0 })
    expect(sends(effects, 'kept')).toHaveLength(1)
  })
})

describe('the subscriber', () => {
  test('holds the contact of a late answer for an abandoned attempt (the contact recorded it), but keeps waiting', () => {
    const t = makeNode('me', { subscribeTimeoutMs: 1000 })
    t.node.join('c1') // epoch 1
    t.clock.now = 1000
    t.node.tick() // retry: epoch 2
    expect(t.node.epoch).toBe(2)
    const late = t.receive('c1', { type: 'contact', subscriberEpoch: 1, contactEpoch: 6, renewal: false })
    expect(sends(late)).toEqual([])
    expect(t.node.partialView()).toEqual(['c1'])
    expect(t.node.state).toBe('subscribing')
    t.receive('c1', { type: 'contact', subscriberEpoch: 2, contactEpoch: 6, renewal: false })
    expect(t.node.state).toBe('joined')
    expect(t.node.partialView()).toEqual(['c1'])
  })

  test('a renewal answer adds nothing to the partial view', () => {
    const t = makeNode('me')
    t.node.join('c1')
    t.receive('x', { type: 'contact', subscriberEpoch: 1, contactEpoch: 6, renewal: true })
    expect(t.node.partialViewSize).toBe(0)
    expect(t.node.state).toBe('joined')
  })

  test('answers a keep notice for an older subscription with an unsubscription', () => {
    const t = makeNode('me')
    joinThrough(t, 'c') // epoch 1
    t.node.join('c') // epoch 2
    expect(sends(t.receive('k', { type: 'kept', epoch: 1 }))).toEqual([
      { type: 'send', to: 'k', message: { type: 'unsubscribe', epoch: 1, replacement: null, replacementEpoch: 0 } },
    ])
    expect(t.node.inViewSize).toBe(0)
  })

  test('retries an unanswered subscription with a new epoch, then asks for a contact', () => {
    const t = makeNode('me', { subscribeTimeoutMs: 1000, maxSubscribeAttempts: 3 })
    t.node.join('c')
    expect(t.node.nextTimerAt()).toBe(1000)
    const epochs = [t.node.epoch]
    for (let attempt = 2; attempt <= 3; attempt++) {
      t.clock.now += 1000
      const [retry] = sends(t.node.tick(), 'subscribe')
      expect(retry!.to).toBe('c')
      epochs.push(t.node.epoch)
    }
    expect(epochs).toEqual([1, 2, 3])
    t.clock.now += 1000
    expect(t.node.tick()).toEqual([{ type: 'need-contact', reason: 'no-answer' }])
    expect(t.node.metrics().subscribeRetries).toBe(2)
    expect(t.node.nextTimerAt()).toBeNull()
  })

  test('a contact that is unreachable makes the retry come at once', () => {
    const t = makeNode('me', { subscribeTimeoutMs: 10_000 })
    t.node.join('c')
    t.node.peerUnreachable('c')
    expect(t.node.nextTimerAt()).toBe(0)
  })
})
