/**
 * Attacks on a SCAMP node (issue 13, "Relay and SCAMP"), each performed against the sans-IO core
 * by a scripted attacker, asserting that the victim's views and deliveries are unaffected. The
 * forged-origin attack runs against the mesh driver (scamp-gossip.test.ts holds the one over real
 * links).
 */
import { describe, expect, test } from 'vitest'
import { messageIdAt } from '../../src/gossip/dissemination.js'
import { createScampNode, type GossipEffect } from '../../src/gossip/index.js'
import { messageToWire } from '../../src/gossip/protocol.js'
import { PEER_ID_PATTERN } from '../../src/identity/identity.js'
import { createRng } from '../../src/gossip/rng.js'
import { effectsOf, holdPeers, joinThrough, makeNode, peers, sends } from '../gossip/helpers.js'
import { Codec } from '../../src/codec/codec.js'
import type { MeshscopeError } from '../../src/errors.js'
import { Identity } from '../../src/identity/identity.js'
import { encodeGossipEnvelope, gossipSignedText } from '../../src/mesh/gossip-origin.js'
import { ScampDriver, type GossipMessageEvent, type ScampDriverHost } from '../../src/mesh/scamp-driver.js'

/** Heap plus array buffers after a full collection (vitest runs with --expose-gc). */
function memory(): number {
  global.gc?.()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

/** Growth allowed over what the node may keep, for the test's own arrays and V8's noise. */
const SLACK_BYTES = 4 * 1024 * 1024

const refusals = (effects: GossipEffect[]) => effectsOf(effects, 'refused').map((e) => e.code)

describe('an unsolicited contact answer', () => {
  test('does not put its sender into the partial view, and is struck', () => {
    const t = makeNode('me', { maxStrikes: 3 })
    joinThrough(t, 'c') // joined through c; no subscription pending
    const before = t.node.partialView()
    const effects = t.receive('attacker', { type: 'contact', subscriberEpoch: t.node.epoch, contactEpoch: 7, renewal: false })
    expect(t.node.partialView()).toEqual(before)
    expect(t.node.hasInPartialView('attacker')).toBe(false)
    expect(refusals(effects)).toEqual(['GOSSIP_UNSOLICITED'])
    t.receive('attacker', { type: 'contact', subscriberEpoch: t.node.epoch, contactEpoch: 7, renewal: false })
    const third = t.receive('attacker', { type: 'contact', subscriberEpoch: t.node.epoch, contactEpoch: 7, renewal: false })
    expect(effectsOf(third, 'misbehaving')).toEqual([{ type: 'misbehaving', peer: 'attacker', code: 'GOSSIP_UNSOLICITED' }])
  })

  test('a second answer to one subscription is refused: one contact per subscription', () => {
    const t = makeNode('me')
    t.node.join('c')
    const epoch = t.node.epoch
    t.receive('c', { type: 'contact', subscriberEpoch: epoch, contactEpoch: 1, renewal: false })
    const effects = t.receive('attacker', { type: 'contact', subscriberEpoch: epoch, contactEpoch: 1, renewal: false })
    expect(refusals(effects)).toEqual(['GOSSIP_UNSOLICITED'])
    expect(t.node.partialView()).toEqual(['c'])
  })

  test('an answer for a subscription of another epoch is refused while one is pending', () => {
    const t = makeNode('me')
    t.node.join('c')
    const effects = t.receive('attacker', { type: 'contact', subscriberEpoch: t.node.epoch + 1, contactEpoch: 1, renewal: false })
    expect(refusals(effects)).toEqual(['GOSSIP_UNSOLICITED'])
    expect(t.node.state).toBe('subscribing')
    expect(t.node.partialView()).toEqual([])
  })
})

describe('a stale-epoch unsubscription', () => {
  test('cannot insert replacements: ~130 messages do not eclipse the victim', () => {
    const t = makeNode('me', { maxPartialView: 128, maxStrikes: 1_000_000 })
    holdPeers(t, ['attacker'], 5)
    holdPeers(t, peers('honest', 20), 1)
    for (let i = 0; i < 130; i++) {
      t.receive('attacker', { type: 'unsubscribe', epoch: 1, replacement: `sybil${i}`, replacementEpoch: 1 })
    }
    const sybils = t.node.partialView().filter((peer) => peer.startsWith('sybil'))
    expect(sybils).toEqual([])
    expect(t.node.heldEpoch('attacker')).toBe(5) // its newer subscription stays
    expect(t.node.partialView().filter((peer) => peer.startsWith('honest'))).toHaveLength(20)
  })

  test('is refused with a strike; a current one takes exactly one replacement and cannot be repeated', () => {
    const t = makeNode('me', { maxStrikes: 3 })
    holdPeers(t, ['attacker'], 5)
    const stale = t.receive('attacker', { type: 'unsubscribe', epoch: 4, replacement: 'sybil0', replacementEpoch: 1 })
    expect(refusals(stale)).toEqual(['GOSSIP_UNSOLICITED'])
    const current = t.receive('attacker', { type: 'unsubscribe', epoch: 5, replacement: 'sybil1', replacementEpoch: 1 })
    expect(refusals(current)).toEqual([])
    expect(t.node.partialView()).toEqual(['sybil1'])
    const again = t.receive('attacker', { type: 'unsubscribe', epoch: 5, replacement: 'sybil2', replacementEpoch: 1 })
    expect(refusals(again)).toEqual(['GOSSIP_UNSOLICITED'])
    expect(t.node.partialView()).toEqual(['sybil1'])
  })
})

describe('forwarded subscriptions', () => {
  test('are rate-limited per neighbour: past the bucket they are dropped, not forwarded', () => {
    const t = makeNode('me', { forwardBurst: 10, forwardRefillMs: 1000, maxStrikes: 2 })
    holdPeers(t, peers('p', 5))
    t.clock.now = 1_000_000 // the helper's own forwards have long been refilled
    t.rng.pin(0.999) // never keep: every accepted one is forwarded
    const before = memory()
    const effects: GossipEffect[] = []
    for (let i = 0; i < 20_000; i++) effects.push(...t.receive('attacker', { type: 'forward-subscription', subscriber: `s${i}`, epoch: 1, hops: 0 }))
    expect(sends(effects, 'forward-subscription')).toHaveLength(10) // no amplification past the bucket
    const refused = effectsOf(effects, 'refused')
    expect(refused).toHaveLength(20_000 - 10)
    expect(refused[0]).toMatchObject({ code: 'GOSSIP_RATE_LIMITED', peer: 'attacker' })
    expect(effectsOf(effects, 'misbehaving')).toEqual([]) // no strikes: an honest burst is only slowed
    expect(t.node.partialViewSize).toBe(5)
    effects.length = 0
    expect(memory() - before).toBeLessThan(SLACK_BYTES)
    // Another neighbour has its own bucket.
    expect(sends(t.receive('honest', { type: 'forward-subscription', subscriber: 'x', epoch: 1, hops: 0 }), 'forward-subscription')).toHaveLength(1)
    t.clock.now += 1000 // one token back
    expect(sends(t.receive('attacker', { type: 'forward-subscription', subscriber: 'y', epoch: 1, hops: 0 }), 'forward-subscription')).toHaveLength(1)
  })
})

describe('ids that are not mesh ids', () => {
  const ID = (n: number) => n.toString(16).padStart(32, '0')

  test('are refused with GOSSIP_MALFORMED when the host sets a peer id pattern', () => {
    const clock = { now: 0 }
    const node = createScampNode({
      self: ID(1),
      now: () => clock.now,
      rng: createRng(1),
      config: { heartbeatIntervalMs: 0, leaseMs: 0 },
      initialEpoch: 0,
      peerIdPattern: PEER_ID_PATTERN,
    })
    node.join()
    for (const bad of ['not-a-mesh-id', 'A'.repeat(32), `${ID(5)}0`]) {
      const effects = [
        ...node.receive(ID(2), messageToWire({ type: 'forward-subscription', subscriber: bad, epoch: 1, hops: 0 })),
        ...node.receive(ID(2), messageToWire({ type: 'subscribe', subscriber: bad, epoch: 1, walk: 0, fromDegree: 0, renewal: false })),
      ]
      expect(refusals(effects)).toEqual(['GOSSIP_MALFORMED', 'GOSSIP_MALFORMED'])
      expect(sends(effects)).toEqual([])
    }
    expect(node.partialView()).toEqual([])
    expect(node.inView()).toEqual([])
    // A mesh id is taken.
    const effects = node.receive(ID(2), messageToWire({ type: 'subscribe', subscriber: ID(3), epoch: 1, walk: 0, fromDegree: 0, renewal: false }))
    expect(refusals(effects)).toEqual([])
    expect(node.partialView()).toEqual([ID(3)])
  })
})

describe('flushing the seen-cache', () => {
  test('4 096 fresh ids do not bring an old message back', () => {
    const t = makeNode('me', { maxSeenMessages: 4096 })
    t.clock.now = 1_000_000
    holdPeers(t, ['a', 'b'])
    const rng = createRng(5)
    const payload = new Uint8Array([1])
    const old = messageIdAt(t.clock.now, rng)
    expect(effectsOf(t.receive('a', { type: 'gossip', id: old, payload }), 'deliver')).toHaveLength(1)
    t.clock.now += 1
    const before = memory()
    for (let i = 0; i < 10_000; i++) t.receive('attacker', { type: 'gossip', id: messageIdAt(t.clock.now, rng), payload })
    expect(memory() - before).toBeLessThan(SLACK_BYTES + 4096 * 200)
    const again = t.receive('b', { type: 'gossip', id: old, payload })
    expect(effectsOf(again, 'deliver')).toEqual([])
    expect(sends(again)).toEqual([])
  })

  test('a message older than the horizon is refused; one within it is delivered once', () => {
    const t = makeNode('me', { maxMessageAgeMs: 60_000 })
    t.clock.now = 10_000_000
    holdPeers(t, ['a'])
    const rng = createRng(6)
    const payload = new Uint8Array([1])
    const tooOld = messageIdAt(t.clock.now - 60_001, rng)
    const atLimit = messageIdAt(t.clock.now - 60_000, rng)
    const tooNew = messageIdAt(t.clock.now + 60_001, rng)
    expect(effectsOf(t.receive('a', { type: 'gossip', id: tooOld, payload }), 'deliver')).toEqual([])
    expect(effectsOf(t.receive('a', { type: 'gossip', id: tooNew, payload }), 'deliver')).toEqual([])
    expect(effectsOf(t.receive('a', { type: 'gossip', id: atLimit, payload }), 'deliver')).toHaveLength(1)
    expect(t.node.metrics().gossipExpired).toBe(2)
  })
})

describe('a forged gossip origin (the mesh driver)', () => {
  const codec = new Codec()

  /** A victim's driver on a scripted host, holding `held` (so it would forward to them). */
  async function victimDriver(held: string[]) {
    const identity = await Identity.generate()
    const delivered: GossipMessageEvent[] = []
    const reports: MeshscopeError[] = []
    const disconnected: string[] = []
    const sent: Array<{ peer: string; value: unknown }> = []
    const host: ScampDriverHost = {
      selfId: identity.id,
      publicKey: identity.publicKey,
      sign: (text) => identity.sign(text, 'gossip'),
      isJoined: () => true,
      ensureLink: () => {},
      send: async (peer, _mailbox, value) => void sent.push({ peer, value }),
      release: () => {},
      disconnect: (peer) => void disconnected.push(peer),
      randomLinkedPeer: () => undefined,
      outsideContact: () => undefined,
      deliver: (message) => void delivered.push(message),
      report: (error) => void reports.push(error),
      learnRoute: () => {},
    }
    const driver = new ScampDriver(host, { heartbeatIntervalMs: 0, leaseMs: 0, maxStrikes: 3 })
    driver.start(undefined)
    for (const peer of held) driver.receive(peer, messageToWire({ type: 'subscribe', subscriber: peer, epoch: 1, walk: 0, fromDegree: 0, renewal: false }))
    sent.length = 0
    return { driver, delivered, reports, disconnected, gossipSent: () => sent.filter((s) => (s.value as unknown[])[0] === 7) }
  }

  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 2))
  }

  async function signedGossip(
    signer: Identity,
    origin: string,
    publicKey: string,
    value: unknown,
    id = messageIdAt(Date.now(), createRng(Math.floor(Math.random() * 1e9))),
  ) {
    const valueBytes = codec.encode(value)
    const signature = await signer.sign(await gossipSignedText(id, origin, valueBytes), 'gossip')
    return {
      id,
      valueBytes,
      signature,
      wire: messageToWire({ type: 'gossip', id, payload: encodeGossipEnvelope(codec, origin, publicKey, signature, valueBytes) }),
    }
  }

  test('nobody can publish as someone else: forgeries are neither delivered nor forwarded, and the sender is struck', async () => {
    const [victim, attacker, neighbour] = await Promise.all([Identity.generate(), Identity.generate(), Identity.generate()])
    const t = await victimDriver([neighbour.id])
    // The victim's id with the attacker's key; the victim's key with the attacker's signature; the old unsigned form.
    const ownKey = await signedGossip(attacker, victim.id, attacker.publicKey, 'I am the victim')
    const stolenKey = await signedGossip(attacker, victim.id, victim.publicKey, 'I am the victim')
    const unsigned = messageToWire({ type: 'gossip', id: messageIdAt(Date.now(), createRng(9)), payload: codec.encode([victim.id, 'I am the victim']) })
    t.driver.receive(attacker.id, ownKey.wire)
    t.driver.receive(attacker.id, stolenKey.wire)
    t.driver.receive(attacker.id, unsigned)
    await settle()
    expect(t.delivered).toEqual([])
    expect(t.gossipSent()).toEqual([])
    // Three refusals (the unsigned one is refused first: it needs no crypto), then misbehaving, with the third's code.
    expect(t.reports.map((e) => e.code)).toEqual(['GOSSIP_MALFORMED', 'GOSSIP_FORGED', 'GOSSIP_FORGED', 'GOSSIP_FORGED'])
    expect(t.disconnected).toEqual([attacker.id]) // three strikes
    await t.driver.leave()
  })

  test('a neighbour that floods messages to verify is refused past its own quota; another neighbour’s message still gets through; one report a second', async () => {
    const [flooder, honest, neighbour] = await Promise.all([Identity.generate(), Identity.generate(), Identity.generate()])
    const t = await victimDriver([neighbour.id])
    const flood = await Promise.all(Array.from({ length: 100 }, (_, i) => signedGossip(flooder, flooder.id, flooder.publicKey, i)))
    for (const message of flood) t.driver.receive(flooder.id, message.wire) // all at once: 64 may be verifying
    const genuine = await signedGossip(honest, honest.id, honest.publicKey, 'honest')
    t.driver.receive(honest.id, genuine.wire)
    await settle()
    expect(t.delivered.map((m) => m.value)).toContain('honest')
    expect(t.delivered.filter((m) => m.origin === flooder.id)).toHaveLength(64)
    // 36 refusals, one error event for them (at most one a second per neighbour).
    expect(t.reports.filter((e) => e.code === 'GOSSIP_RATE_LIMITED')).toHaveLength(1)
    expect(t.disconnected).toEqual([]) // a rate limit is not a strike
    await t.driver.leave()
  })

  test('a relay that alters a message cannot make it delivered, nor stop the genuine copy', async () => {
    const [origin, relay, neighbour] = await Promise.all([Identity.generate(), Identity.generate(), Identity.generate()])
    const t = await victimDriver([neighbour.id])
    const genuine = await signedGossip(origin, origin.id, origin.publicKey, { amount: 1 })
    const altered = messageToWire({
      type: 'gossip',
      id: genuine.id,
      payload: encodeGossipEnvelope(codec, origin.id, origin.publicKey, genuine.signature, codec.encode({ amount: 1000 })),
    })
    t.driver.receive(relay.id, altered)
    await settle()
    expect(t.delivered).toEqual([])
    t.driver.receive(neighbour.id, genuine.wire)
    await settle()
    expect(t.delivered).toEqual([{ origin: origin.id, via: neighbour.id, id: genuine.id, value: { amount: 1 } }])
    await t.driver.leave()
  })

  test('a replayed genuine message is delivered once, and not at all once older than maxMessageAgeMs', async () => {
    const [origin, neighbour] = await Promise.all([Identity.generate(), Identity.generate()])
    const t = await victimDriver([neighbour.id])
    const fresh = await signedGossip(origin, origin.id, origin.publicKey, 'hello')
    for (let i = 0; i < 5; i++) t.driver.receive(neighbour.id, fresh.wire)
    await settle()
    t.driver.receive(neighbour.id, fresh.wire)
    await settle()
    expect(t.delivered.map((m) => m.id)).toEqual([fresh.id])
    const old = await signedGossip(origin, origin.id, origin.publicKey, 'hello', messageIdAt(Date.now() - 5 * 60_000 - 1000, createRng(3)))
    t.driver.receive(neighbour.id, old.wire)
    await settle()
    expect(t.delivered.map((m) => m.id)).toEqual([fresh.id])
    expect(t.driver.metrics().gossipExpired).toBe(1)
    await t.driver.leave()
  })
})
