/**
 * One SCAMP node: the membership state machine of Ganesh, Kermarrec and Massoulié, "Peer-to-Peer
 * Membership Management for Gossip-Based Protocols" (IEEE Trans. Computers, 2003), plus gossip
 * dissemination over its partial view. Pure: events in (`join`, `receive`, `peerUnreachable`,
 * `tick`, `publish`, `leave`), effects out (effects.ts); the clock and the RNG are injected.
 *
 * The paper's mechanisms and where each lives here:
 * - Subscription algorithm: a contact forwards a new subscription to every partial-view member
 *   and c extra copies to random members (`#serveAsContact`); a node keeps a forwarded subscription
 *   with probability 1/(1 + |partial view|), never its own or one it holds, and otherwise forwards
 *   it to a random member (`#onForwardSubscription`). It is never dropped before being kept, except
 *   at the hop limit, which is counted. The keeper tells the subscriber (`kept`), which records it in
 *   its in-view. A contact with an empty view keeps the subscription itself (the second node).
 * - Unsubscription: of the l in-view members, the first l−c−1 replace the leaver by members of its
 *   partial view, the last c+1 just drop it (`#unsubscribeAll`).
 * - Recovery from isolation: heartbeats go to the partial view; a node that hears none for its
 *   current subscription for `isolationTimeoutMs` subscribes again (through a contact from outside
 *   the views if the host gives one, `randomContact`, else through a partial-view member).
 * - Indirection: a subscription first takes `indirectionHops` steps of a random walk over the
 *   neighbour graph, corrected (Metropolis–Hastings) so that where it stops, the contact, is close
 *   to uniformly random even when the first node is not (`#onSubscribe`).
 * - Lease mechanism: every lease, a node's subscription expires — every in-view member is told to
 *   drop it — and the node subscribes again, keeping its partial view (`#renewLease`), through an
 *   outside contact or a partial-view member. The renewed subscription goes only to the contact's
 *   partial view: no c extra copies and no arc to the contact. So a renewal removes the node's l
 *   in-arcs and adds about as many (a uniform contact's view size, which is what l was after the
 *   previous renewal), and views keep their size lease after lease. Re-subscribing with a full
 *   subscription adds about c+1 arcs per node and lease, towards a complete graph; unsubscribing
 *   and joining afresh drops the node's grown-up partial view and shrinks the graph towards c+2
 *   (both measured with the simulator; test/gossip/timers.test.ts shows the first). The old
 *   subscription is retired once the new one is kept somewhere (make before break, see
 *   `#retireOldSubscriptions`); holders also drop a subscription not renewed within two leases.
 *   Renewals through outside contacts are also what repairs a partition, which SCAMP alone cannot.
 *
 * Epochs: each subscription of a node carries a larger epoch, and views record it, so that a
 * message about an older subscription (a late keep notice, a heartbeat from a holder that missed
 * the unsubscription) is recognised and answered with an unsubscription.
 */
import { MeshscopeError } from '../errors.js'
import { resolveScampConfig, type ScampConfig } from './config.js'
import { Dissemination } from './dissemination.js'
import type { GossipEffect, ScampMetrics } from './effects.js'
import { NeighbourRates } from './neighbour-rates.js'
import {
  GOSSIP_MESSAGE_TYPES,
  isMessageId,
  isPeerId,
  parseGossipMessage,
  type GossipMessage,
  type GossipMessageType,
  type GossipRefusal,
  type PeerId,
  type WireLimits,
} from './protocol.js'
import { shuffle, type Rng } from './rng.js'
import { StrikeCounter } from './strikes.js'
import { TokenBucket } from '../util/token-bucket.js'
import { InView, PartialView, type PartialViewEntry } from './views.js'

export type ScampState = 'idle' | 'subscribing' | 'joined' | 'left'

export interface ScampNodeOptions {
  /** This node's peer id. */
  self: PeerId
  /** Milliseconds on a monotonic-enough clock (the mesh passes Date.now, the simulator its virtual time). */
  now: () => number
  rng: Rng
  config?: Partial<ScampConfig>
  /**
   * The epoch before the first subscription. The default, the clock in whole seconds, lets a node
   * that restarts with the same id still outnumber its old subscriptions.
   * @default Math.floor(now() / 1000)
   */
  initialEpoch?: number
  /**
   * A random member known from outside the views (the mesh: a contact from the signaling server),
   * or undefined. Lease renewals and isolation recovery go through it when it gives one, else
   * through a partial-view member. It is what repairs a partition: SCAMP alone cannot rejoin two
   * parts that no longer hold each other.
   */
  randomContact?: () => PeerId | undefined
  /**
   * Peer ids in messages (and `self`, and contacts) must match this, besides the protocol's own
   * syntax (protocol.ts `isPeerId`). The mesh sets PEER_ID_PATTERN, so that no peer can make it
   * ask the signaling server for a link to an id that cannot be a member.
   */
  peerIdPattern?: RegExp
}

/** Subscription attempts whose contact answer is still awaited, beyond the current one (older ones are forgotten). */
const AWAITED_ATTEMPTS = 8

interface Subscription {
  contact: PeerId
  attempts: number
  deadline: number
  renewal: boolean
}

const countersByType = (): Record<GossipMessageType, number> =>
  Object.fromEntries(GOSSIP_MESSAGE_TYPES.map((type) => [type, 0])) as Record<GossipMessageType, number>

/** Creates a SCAMP node; throws INVALID_ARGUMENT for a bad id or configuration. */
export function createScampNode(options: ScampNodeOptions): ScampNode {
  return new ScampNode(options)
}

export class ScampNode {
  readonly self: PeerId
  readonly config: ScampConfig
  readonly #now: () => number
  readonly #rng: Rng
  readonly #randomContact: (() => PeerId | undefined) | undefined
  readonly #partialView = new PartialView()
  readonly #inView = new InView()
  readonly #dissemination: Dissemination
  readonly #strikes: StrikeCounter
  readonly #contactBucket: TokenBucket
  readonly #forwardRates: NeighbourRates
  readonly #wireLimits: WireLimits
  /**
   * Epochs of this node's subscriptions still awaiting their contact's answer: only such an answer
   * is taken (one per subscription), so no peer can put itself in the partial view by claiming to
   * be a contact. Abandoned attempts stay (their contact recorded this node all the same), bounded.
   */
  readonly #awaitedContacts = new Set<number>()
  readonly #metrics: ScampMetrics
  #state: ScampState = 'idle'
  #epoch: number
  #subscription: Subscription | null = null
  #lastHeldAt = 0
  #nextHeartbeatAt = Infinity
  #nextRenewalAt = Infinity
  /** When the holders of older subscriptions are told to drop them (after a new subscription took). */
  #retireAt = Infinity
  // Per call: the effects being collected and each touched peer's neighbour status before the call.
  #out: GossipEffect[] = []
  readonly #touched = new Map<PeerId, boolean>()

  constructor(options: ScampNodeOptions) {
    this.config = resolveScampConfig(options.config)
    this.#wireLimits = { ...this.config, peerIdPattern: options.peerIdPattern }
    if (!this.#isPeerId(options.self)) throw new MeshscopeError('INVALID_ARGUMENT', `scamp: bad peer id ${JSON.stringify(options.self)}`)
    this.self = options.self
    this.#now = options.now
    this.#rng = options.rng
    this.#randomContact = options.randomContact
    const now = this.#now()
    const initialEpoch = options.initialEpoch ?? Math.max(0, Math.floor(now / 1000))
    if (!Number.isSafeInteger(initialEpoch) || initialEpoch < 0)
      throw new MeshscopeError('INVALID_ARGUMENT', 'scamp: initialEpoch must be a non-negative integer')
    this.#epoch = initialEpoch
    this.#dissemination = new Dissemination(this.config.maxSeenMessages, this.config.maxMessageAgeMs, this.#rng)
    this.#strikes = new StrikeCounter(this.config.maxStrikes, this.config.strikeWindowMs, this.config.maxTrackedPeers)
    this.#contactBucket = new TokenBucket(this.config.contactBurst, this.config.contactRefillMs, now)
    this.#forwardRates = new NeighbourRates(this.config.forwardBurst, this.config.forwardRefillMs, this.config.maxTrackedPeers)
    this.#metrics = {
      sent: countersByType(),
      received: countersByType(),
      refused: 0,
      misbehaving: 0,
      contactsServed: 0,
      contactsRateLimited: 0,
      walksForwarded: 0,
      subscriptionsKept: 0,
      subscriptionsForwarded: 0,
      subscriptionsExpired: 0,
      subscriptionsRateLimited: 0,
      unsolicited: 0,
      replacementsKept: 0,
      replacementsDropped: 0,
      partialViewFull: 0,
      inViewFull: 0,
      inViewRepaired: 0,
      inViewExpired: 0,
      leasesExpired: 0,
      subscribeRetries: 0,
      isolationRecoveries: 0,
      leaseRenewals: 0,
      lostArcsReplaced: 0,
      gossipPublished: 0,
      gossipDelivered: 0,
      gossipDuplicates: 0,
      gossipExpired: 0,
    }
  }

  get state(): ScampState {
    return this.#state
  }

  /** The epoch of this node's current (or pending) subscription. */
  get epoch(): number {
    return this.#epoch
  }

  /** Peers this node sends gossip to (holds the subscriptions of). */
  partialView(): PeerId[] {
    return this.#partialView.peers()
  }

  /** Peers known to hold this node's subscription. */
  inView(): PeerId[] {
    return this.#inView.peers()
  }

  get partialViewSize(): number {
    return this.#partialView.size
  }

  get inViewSize(): number {
    return this.#inView.size
  }

  hasInPartialView(peer: PeerId): boolean {
    return this.#partialView.has(peer)
  }

  hasInInView(peer: PeerId): boolean {
    return this.#inView.has(peer)
  }

  /** The epoch of `peer`'s subscription held in the partial view. */
  heldEpoch(peer: PeerId): number | undefined {
    return this.#partialView.get(peer)?.epoch
  }

  /** Partial view ∪ in-view: the peers the mesh keeps links to. */
  isNeighbour(peer: PeerId): boolean {
    return this.#partialView.has(peer) || this.#inView.has(peer)
  }

  neighbours(): PeerId[] {
    return [...new Set([...this.#partialView.peers(), ...this.#inView.peers()])]
  }

  /** A snapshot of the counters. */
  metrics(): ScampMetrics {
    return { ...this.#metrics, sent: { ...this.#metrics.sent }, received: { ...this.#metrics.received } }
  }

  /**
   * Joins the group. Without a contact this node is the first member and waits to be contacted;
   * with one it subscribes through it (the contact comes from outside: the signaling server, or the
   * answer to a `need-contact` effect — calling `join(contact)` again starts a new subscription and
   * keeps the partial view). Throws GOSSIP_CLOSED after `leave`, INVALID_ARGUMENT for a bad contact.
   */
  join(contact?: PeerId): GossipEffect[] {
    this.#assertOpen()
    if (contact !== undefined && (!this.#isPeerId(contact) || contact === this.self)) {
      throw new MeshscopeError('INVALID_ARGUMENT', `scamp: bad contact ${JSON.stringify(contact)}`)
    }
    return this.#run(() => {
      const now = this.#now()
      if (this.#nextHeartbeatAt === Infinity && this.config.heartbeatIntervalMs > 0) {
        // A random phase, so nodes started together do not send heartbeats together.
        this.#nextHeartbeatAt = now + Math.ceil(this.config.heartbeatIntervalMs * this.#rng.next())
      }
      if (contact !== undefined) {
        this.#subscribe(contact, 1, false)
      } else if (this.#state === 'idle') {
        this.#becomeJoined(now)
      }
    })
  }

  /**
   * A message from `from` (a decoded codec value, checked here). Refusals come back as effects, never
   * as throws. `origin`: for a gossip message, its publisher as the host verified it (the seen-cache
   * keeps a floor per origin, so one origin's ids cannot hold back another's).
   */
  receive(from: PeerId, wire: unknown, origin?: PeerId): GossipEffect[] {
    return this.#run(() => {
      if (this.#state === 'left' || from === this.self) return
      const parsed = parseGossipMessage(wire, this.#wireLimits)
      if (!parsed.ok) {
        this.#refuse(from, parsed.code, parsed.reason)
        return
      }
      const message = parsed.message
      this.#metrics.received[message.type]++
      switch (message.type) {
        case 'subscribe':
          return this.#onSubscribe(from, message)
        case 'forward-subscription':
          return this.#onForwardSubscription(from, message)
        case 'contact':
          return this.#onContact(from, message)
        case 'kept':
          return this.#onKept(from, message.epoch)
        case 'unsubscribe':
          return this.#onUnsubscribe(from, message)
        case 'forget':
          if ((this.#inView.get(from)?.epoch ?? Infinity) <= message.epoch) this.#inViewDelete(from)
          return
        case 'heartbeat':
          return this.#onHeartbeat(from, message.epoch)
        case 'gossip':
          return this.#onGossip(from, message.id, message.payload, origin)
      }
    })
  }

  /** The host found `peer` unreachable (its link failed, a link could not be opened): forget it. */
  peerUnreachable(peer: PeerId): GossipEffect[] {
    return this.#run(() => {
      if (this.#state === 'left') return
      this.#partialViewDelete(peer)
      const lostArc = this.#holdsCurrentSubscription(peer)
      this.#inViewDelete(peer)
      if (lostArc) this.#replaceLostArc()
      if (this.#subscription?.contact === peer) this.#subscription.deadline = this.#now()
    })
  }

  /** Runs the timers that are due: subscription retries, heartbeats, isolation recovery, leases. */
  tick(): GossipEffect[] {
    return this.#run(() => {
      if (this.#state === 'left' || this.#state === 'idle') return
      const now = this.#now()
      const config = this.config
      const subscription = this.#subscription
      if (subscription && now >= subscription.deadline) this.#retrySubscription(subscription)
      if (now >= this.#retireAt) this.#retireOldSubscriptions()
      if (config.heartbeatIntervalMs > 0 && now >= this.#nextHeartbeatAt) {
        this.#nextHeartbeatAt = now + config.heartbeatIntervalMs
        this.#heartbeat(now)
      }
      if (config.heartbeatIntervalMs > 0 && this.#state === 'joined' && now - this.#lastHeldAt >= config.isolationTimeoutMs) {
        this.#metrics.isolationRecoveries++
        const via = this.#outsideContact() ?? this.#partialView.random(this.#rng)
        if (via !== undefined) {
          this.#subscribe(via, 1, false)
        } else {
          this.#lastHeldAt = now
          this.#out.push({ type: 'need-contact', reason: 'isolated' })
        }
      }
      if (config.leaseMs > 0 && this.#state === 'joined' && now >= this.#nextRenewalAt) this.#renewLease(now)
    })
  }

  /** When `tick` next has something to do (ms on the node's clock), or null when nothing is scheduled. */
  nextTimerAt(): number | null {
    if (this.#state === 'left' || this.#state === 'idle') return null
    let next = Math.min(this.#subscription?.deadline ?? Infinity, this.#retireAt)
    if (this.config.heartbeatIntervalMs > 0) {
      next = Math.min(next, this.#nextHeartbeatAt)
      if (this.#state === 'joined') next = Math.min(next, this.#lastHeldAt + this.config.isolationTimeoutMs)
    }
    if (this.config.leaseMs > 0 && this.#state === 'joined') next = Math.min(next, this.#nextRenewalAt)
    return next === Infinity ? null : next
  }

  /**
   * A fresh id for a message to publish: the clock's time and random bits. A host that signs its
   * messages takes one here, signs it with the payload, then passes it to `publish`.
   */
  newMessageId(): string {
    return this.#dissemination.newId(this.#now())
  }

  /**
   * What receiving a gossip message of this id would do, without recording it: 'new' (deliver and
   * forward), 'duplicate' or 'expired' (drop). A host that checks messages before the node does (the
   * mesh verifies origin signatures) spends that work on new ones only.
   */
  gossipStatus(id: string): 'new' | 'duplicate' | 'expired' {
    return this.#dissemination.seen.status(id, this.#now())
  }

  /**
   * Gossips `payload` to the group: one send per partial-view member. The publisher gets no
   * `deliver` effect for its own message. `id` is one from `newMessageId` (a fresh one by default).
   * Throws GOSSIP_TOO_LARGE over `maxPayloadBytes`, INVALID_ARGUMENT for a non-Uint8Array payload or
   * an id that is not fresh (seen already, or outside `maxMessageAgeMs`), GOSSIP_CLOSED after `leave`.
   */
  publish(payload: Uint8Array, id: string = this.newMessageId()): { id: string; effects: GossipEffect[] } {
    this.#assertOpen()
    if (!(payload instanceof Uint8Array)) throw new MeshscopeError('INVALID_ARGUMENT', 'gossip payload must be a Uint8Array')
    if (payload.byteLength > this.config.maxPayloadBytes) {
      throw new MeshscopeError('GOSSIP_TOO_LARGE', `gossip payload of ${payload.byteLength} bytes is over ${this.config.maxPayloadBytes}`)
    }
    if (!isMessageId(id) || !this.#dissemination.publish(id, this.#now(), this.self)) {
      throw new MeshscopeError('INVALID_ARGUMENT', `gossip id ${JSON.stringify(id)} is not a fresh message id`)
    }
    const effects = this.#run(() => {
      this.#metrics.gossipPublished++
      for (const peer of this.#partialView.peers()) this.#send(peer, { type: 'gossip', id, payload })
    })
    return { id, effects }
  }

  /**
   * The host refused a message from `peer` that the node cannot check itself (the mesh: a gossip
   * message whose origin signature fails, GOSSIP_FORGED): counted and struck like the node's own
   * refusals; the effects say whether the peer is now misbehaving.
   */
  refuse(peer: PeerId, code: GossipRefusal, reason: string): GossipEffect[] {
    return this.#run(() => this.#refuse(peer, code, reason))
  }

  /** Leaves the group by unsubscribing (the paper's rule); the node is then inert. Idempotent. */
  leave(): GossipEffect[] {
    return this.#run(() => {
      if (this.#state === 'left') return
      this.#unsubscribeAll()
      this.#state = 'left'
      this.#subscription = null
    })
  }

  // ── message handlers ──────────────────────────────────────────────────────────────────────────

  /**
   * Indirection: a Metropolis–Hastings random walk over the neighbour graph (partial view ∪
   * in-view), so where it stops — the contact — is close to uniform over the group whatever node
   * it started from. A step to this node is accepted with probability min(1, fromDegree / degree);
   * a rejected step goes back to the proposer, where the walk stays for that step.
   */
  #onSubscribe(from: PeerId, message: { subscriber: PeerId; epoch: number; walk: number; fromDegree: number; renewal: boolean }): void {
    const { subscriber, epoch, renewal } = message
    if (subscriber === this.self) return // our own request walked back to us: nothing to do
    const degree = this.#degree()
    if (message.fromDegree > 0 && degree > message.fromDegree && this.#rng.next() * degree >= message.fromDegree) {
      this.#metrics.walksForwarded++
      this.#send(from, { type: 'subscribe', subscriber, epoch, walk: message.walk, fromDegree: 0, renewal })
      return
    }
    if (message.walk > 0) {
      const next = this.#randomNeighbour(subscriber)
      if (next !== undefined) {
        this.#metrics.walksForwarded++
        this.#send(next, { type: 'subscribe', subscriber, epoch, walk: message.walk - 1, fromDegree: degree, renewal })
        return
      }
    }
    if (!this.#contactBucket.take(this.#now())) {
      this.#metrics.contactsRateLimited++
      this.#refuse(from, 'GOSSIP_RATE_LIMITED', 'too many subscriptions to handle as a contact')
      return
    }
    this.#serveAsContact(subscriber, epoch, renewal)
  }

  /** |partial view ∪ in-view|. */
  #degree(): number {
    let degree = this.#partialView.size
    for (const peer of this.#inView.peers()) if (!this.#partialView.has(peer)) degree++
    return degree
  }

  #randomNeighbour(except: PeerId): PeerId | undefined {
    const candidates = this.neighbours().filter((peer) => peer !== except)
    return candidates.length === 0 ? undefined : candidates[Math.floor(this.#rng.next() * candidates.length)]
  }

  /**
   * The subscription rule at the contact: forward to every partial-view member plus c random extra
   * copies. A lease renewal gets no extra copies, and the subscriber does not add the contact.
   */
  #serveAsContact(subscriber: PeerId, epoch: number, renewal: boolean): void {
    const now = this.#now()
    this.#metrics.contactsServed++
    if (!renewal) this.#inViewSet(subscriber, this.#epoch, now) // the subscriber's view starts with this contact
    const targets = this.#partialView.peers().filter((peer) => peer !== subscriber)
    if (targets.length === 0 || this.#partialView.has(subscriber)) {
      // Keep it here when there is nobody else to forward to (the first members of a group), or in
      // place of the copy that would go to the subscriber itself (held here, it re-subscribes):
      // either way no copy is lost, which keeps the arc count right.
      this.#keep(subscriber, epoch, now)
    }
    if (targets.length > 0) {
      for (const peer of targets) this.#send(peer, { type: 'forward-subscription', subscriber, epoch, hops: 0 })
      for (let i = 0; i < (renewal ? 0 : this.config.c); i++) {
        const peer = targets[Math.floor(this.#rng.next() * targets.length)]!
        this.#send(peer, { type: 'forward-subscription', subscriber, epoch, hops: 0 })
      }
    }
    this.#send(subscriber, { type: 'contact', subscriberEpoch: epoch, contactEpoch: this.#epoch, renewal })
  }

  /**
   * Keep with probability 1/(1 + |partial view|) unless it is ours or already held; else forward to
   * a random member. Each neighbour has a budget of them (`forwardBurst`): past it they are dropped,
   * so no neighbour can make this node forward (or keep) without end.
   */
  #onForwardSubscription(from: PeerId, message: { subscriber: PeerId; epoch: number; hops: number }): void {
    if (!this.#forwardRates.take(from, this.#now())) {
      this.#metrics.subscriptionsRateLimited++
      this.#refuse(from, 'GOSSIP_RATE_LIMITED', 'too many forwarded subscriptions')
      return
    }
    const { subscriber, epoch, hops } = message
    const held = this.#partialView.get(subscriber)
    const known = subscriber === this.self || (held !== undefined && held.epoch >= epoch)
    if (!known) {
      if (this.#rng.next() * (1 + this.#partialView.size) < 1) {
        if (held !== undefined || this.#partialView.size < this.config.maxPartialView) {
          this.#keep(subscriber, epoch, this.#now())
          return
        }
        this.#metrics.partialViewFull++
      }
    }
    const next = hops < this.config.maxSubscriptionHops ? this.#partialView.random(this.#rng) : undefined
    if (next === undefined) {
      this.#metrics.subscriptionsExpired++
      return
    }
    this.#metrics.subscriptionsForwarded++
    this.#send(next, { type: 'forward-subscription', subscriber, epoch, hops: hops + 1 })
  }

  #keep(subscriber: PeerId, epoch: number, now: number): void {
    // A held epoch never goes back. A contact reached by a stale subscription (an abandoned attempt
    // whose walk ended here) may hold the subscriber's newer one already: keeping the stale one
    // would overwrite it, and the subscriber's answer to the stale keep notice (an unsubscription
    // of that epoch) would then delete the entry while its in-view still records this node as a
    // holder of the newer one. The newer subscription stands for the stale one; nothing to keep.
    const held = this.#partialView.get(subscriber)
    if (held !== undefined && held.epoch > epoch) return
    this.#metrics.subscriptionsKept++
    this.#partialViewSet(subscriber, epoch, now)
    this.#send(subscriber, { type: 'kept', epoch })
  }

  #onContact(from: PeerId, message: { subscriberEpoch: number; contactEpoch: number; renewal: boolean }): void {
    // Only the answer to a subscription this node sent, once: anyone else claiming to be its
    // contact would otherwise put itself into the partial view.
    if (!this.#awaitedContacts.delete(message.subscriberEpoch)) {
      this.#unsolicited(from, `contact answer for subscription ${message.subscriberEpoch}, which awaits none`)
      return
    }
    const now = this.#now()
    if (!message.renewal) {
      // The contact recorded this node in its in-view: hold the contact, even when the answer is
      // for an abandoned attempt (both attempts may have reached the same contact, and its in-view
      // cannot tell them apart; an extra arc is harmless, a one-sided one is not).
      const held = this.#partialView.get(from)
      if (held !== undefined || this.#partialView.size < this.config.maxPartialView) {
        this.#partialViewSet(from, Math.max(held?.epoch ?? 0, message.contactEpoch), now)
      } else {
        this.#metrics.partialViewFull++
        this.#send(from, { type: 'forget', epoch: message.contactEpoch })
      }
    }
    if (this.#state !== 'subscribing' || message.subscriberEpoch !== this.#epoch) return // a late answer: nothing more to do
    this.#subscription = null
    this.#retireAt = now + this.config.renewalOverlapMs
    this.#becomeJoined(now)
    this.#out.push({ type: 'subscribed', contact: from, epoch: this.#epoch })
  }

  #onKept(from: PeerId, epoch: number): void {
    if (epoch === this.#epoch) {
      this.#lastHeldAt = this.#now()
      this.#inViewSet(from, epoch, this.#lastHeldAt)
      // The new subscription is held: the older ones can go now (see #retireOldSubscriptions).
      this.#retireOldSubscriptions()
    } else if (epoch < this.#epoch) {
      this.#send(from, { type: 'unsubscribe', epoch, replacement: null, replacementEpoch: 0 })
    }
  }

  /**
   * The unsubscription rule at an in-view member of the leaver: drop it, and put the replacement in
   * its place if given. Only a subscription actually dropped here is replaced, so each held arc
   * yields at most one replacement.
   */
  #onUnsubscribe(from: PeerId, message: { epoch: number; replacement: PeerId | null; replacementEpoch: number }): void {
    const held = this.#partialView.get(from)
    const replacement = message.replacement
    if (held === undefined || held.epoch > message.epoch) {
      // Nothing of that epoch is held. Without a replacement it is an honest race (a newer
      // subscription of the sender overtook it; a holder that already dropped it): nothing to do.
      // With one it is an attempt to fill the view: an honest leaver unsubscribes its current epoch,
      // which is never older than what is held, and once.
      if (replacement !== null)
        this.#unsolicited(from, `unsubscription of epoch ${message.epoch} with a replacement; ${held === undefined ? 'nothing' : `epoch ${held.epoch}`} held`)
      return
    }
    this.#partialViewDelete(from)
    if (replacement === null) return
    if (replacement === this.self || replacement === from || this.#partialView.has(replacement) || this.#partialView.size >= this.config.maxPartialView) {
      this.#metrics.replacementsDropped++
      return
    }
    this.#metrics.replacementsKept++
    this.#partialViewSet(replacement, message.replacementEpoch, this.#now())
    this.#send(replacement, { type: 'kept', epoch: message.replacementEpoch })
  }

  #onHeartbeat(from: PeerId, epoch: number): void {
    if (epoch > this.#epoch) return
    const now = this.#now()
    const recorded = this.#inView.get(from)
    if (epoch === this.#epoch || recorded?.epoch === epoch) {
      // Held: under the current subscription, or under an older one still waiting to be retired.
      this.#lastHeldAt = now
      if (recorded === undefined && this.#inView.size < this.config.maxInView) this.#metrics.inViewRepaired++
      this.#inViewSet(from, epoch, now)
    } else {
      // A holder that missed our unsubscription (or the retirement of an older subscription).
      this.#send(from, { type: 'unsubscribe', epoch, replacement: null, replacementEpoch: 0 })
    }
  }

  #onGossip(from: PeerId, id: string, payload: Uint8Array, origin: PeerId | undefined): void {
    const decision = this.#dissemination.receive(from, id, this.#partialView.peers(), this.#now(), origin)
    if (!decision.deliver) {
      // An expired one is not struck: an honest message can arrive late, or from a skewed clock.
      if (decision.expired) this.#metrics.gossipExpired++
      else this.#metrics.gossipDuplicates++
      return
    }
    this.#metrics.gossipDelivered++
    this.#out.push({ type: 'deliver', from, id, payload })
    for (const peer of decision.forwardTo) this.#send(peer, { type: 'gossip', id, payload })
  }

  // ── subscriptions, unsubscriptions, timers ────────────────────────────────────────────────────

  /**
   * Starts a subscription of a new epoch through `contact`. Make before break: the holders of older
   * subscriptions keep them until the new one is kept somewhere (`#retireOldSubscriptions`), so the
   * node stays reachable throughout.
   */
  #subscribe(contact: PeerId, attempts: number, renewal: boolean): void {
    this.#retireAt = Infinity
    const now = this.#now()
    this.#epoch++
    this.#state = 'subscribing'
    this.#lastHeldAt = now
    this.#subscription = { contact, attempts, deadline: now + this.config.subscribeTimeoutMs, renewal }
    this.#awaitedContacts.add(this.#epoch)
    for (const epoch of this.#awaitedContacts) {
      if (this.#awaitedContacts.size <= AWAITED_ATTEMPTS) break
      this.#awaitedContacts.delete(epoch) // the oldest attempt: its answer is long overdue
    }
    this.#send(contact, { type: 'subscribe', subscriber: this.self, epoch: this.#epoch, walk: this.config.indirectionHops, fromDegree: 0, renewal })
  }

  #retrySubscription(subscription: Subscription): void {
    if (subscription.attempts >= this.config.maxSubscribeAttempts) {
      subscription.deadline = Infinity // wait for join(contact)
      this.#out.push({ type: 'need-contact', reason: 'no-answer' })
      return
    }
    this.#metrics.subscribeRetries++
    const via = this.#outsideContact() ?? this.#partialView.random(this.#rng) ?? subscription.contact
    this.#subscribe(via, subscription.attempts + 1, subscription.renewal)
  }

  /** A contact from the host's `randomContact`, if it gives a usable one. */
  #outsideContact(): PeerId | undefined {
    const contact = this.#randomContact?.()
    return contact !== undefined && contact !== this.self && this.#isPeerId(contact) ? contact : undefined
  }

  #becomeJoined(now: number): void {
    this.#state = 'joined'
    this.#lastHeldAt = now
    if (this.config.leaseMs > 0) this.#nextRenewalAt = now + this.#leaseDuration()
  }

  #leaseDuration(): number {
    return Math.ceil(this.config.leaseMs * (1 - this.config.leaseJitter * this.#rng.next()))
  }

  /** Lease renewal: the subscription expires everywhere it is held and is renewed through an outside contact or a partial-view member. */
  #renewLease(now: number): void {
    const via = this.#outsideContact() ?? this.#partialView.random(this.#rng)
    if (via === undefined) {
      // Nobody to renew through; try again next lease (isolation recovery asks for a contact meanwhile).
      this.#nextRenewalAt = now + this.#leaseDuration()
      return
    }
    this.#metrics.leaseRenewals++
    this.#nextRenewalAt = Infinity
    this.#subscribe(via, 1, true)
  }

  /**
   * The unsubscription rule: of the l in-view members, the first l−c−1 are told to replace this node
   * by a member of its partial view (round robin, never by themselves), the last c+1 to drop it.
   * Partial-view members are told this node no longer holds them. Both views end empty.
   */
  #unsubscribeAll(): void {
    const holders = shuffle(this.#rng, this.#inView.peers())
    const members: PartialViewEntry[] = shuffle(this.#rng, this.#partialView.entries())
    const replacing = Math.max(0, holders.length - this.config.c - 1)
    holders.forEach((holder, k) => {
      let replacement: PartialViewEntry | undefined
      for (let i = 0; k < replacing && i < members.length; i++) {
        const candidate = members[(k + i) % members.length]!
        if (candidate.peer !== holder) {
          replacement = candidate
          break
        }
      }
      this.#send(holder, { type: 'unsubscribe', epoch: this.#epoch, replacement: replacement?.peer ?? null, replacementEpoch: replacement?.epoch ?? 0 })
      this.#inViewDelete(holder)
    })
    for (const member of members) {
      this.#send(member.peer, { type: 'forget', epoch: member.epoch })
      this.#partialViewDelete(member.peer)
    }
  }

  /**
   * The expiry of older subscriptions: their holders are told to drop them. This runs as soon as the
   * new subscription is kept somewhere (or `renewalOverlapMs` after the contact answered, if no keep
   * notice came). Not later: while a node is held twice, contacts count its duplicate arcs in their
   * view sizes and each renewal copies that inflated size, so a long overlap grows the views lease
   * after lease (measured: +2% per lease with a 5 s overlap at n = 300); without overlap the node
   * would be unreachable while its new subscription spreads.
   */
  #retireOldSubscriptions(): void {
    this.#retireAt = Infinity
    for (const holder of this.#inView.peers()) {
      const epoch = this.#inView.get(holder)!.epoch
      if (epoch >= this.#epoch) continue
      this.#send(holder, { type: 'unsubscribe', epoch, replacement: null, replacementEpoch: 0 })
      this.#inViewDelete(holder)
    }
  }

  /** Whether `peer` holds this node's current subscription (an arc peer → self of this epoch). */
  #holdsCurrentSubscription(peer: PeerId): boolean {
    return this.#state === 'joined' && this.#inView.get(peer)?.epoch === this.#epoch
  }

  /**
   * A holder of this node's subscription vanished without unsubscribing (it crashed, or the link
   * failed). A graceful leave keeps all but c+1 of the leaver's in-view arcs (its holders take
   * replacements); a crash would lose them all, and over hours of churn the views would shrink (the
   * simulator measured −19% to −26% after four hours with half the departures crashes). So the
   * nodes that lose an arc restore it the way a leave would have: each sends one new copy of its
   * subscription into the graph with probability 1 − (c+1)/k, where k (the partial-view size, at
   * least c+1) estimates the crashed node's degree, so about c+1 arcs per crash are still dropped.
   */
  #replaceLostArc(): void {
    const degree = Math.max(this.config.c + 1, this.#partialView.size)
    if (this.#rng.next() >= 1 - (this.config.c + 1) / degree) return
    const via = this.#partialView.random(this.#rng)
    if (via === undefined) return
    this.#metrics.lostArcsReplaced++
    this.#send(via, { type: 'forward-subscription', subscriber: this.self, epoch: this.#epoch, hops: 0 })
  }

  /** Heartbeats to the partial view; drops held subscriptions whose lease ran out and in-view members gone silent. */
  #heartbeat(now: number): void {
    const leaseExpiryMs = 2 * this.config.leaseMs
    for (const entry of this.#partialView.entries()) {
      if (leaseExpiryMs > 0 && now - entry.since >= leaseExpiryMs) {
        this.#metrics.leasesExpired++
        this.#partialViewDelete(entry.peer)
        this.#send(entry.peer, { type: 'forget', epoch: entry.epoch })
      } else {
        this.#send(entry.peer, { type: 'heartbeat', epoch: entry.epoch })
      }
    }
    for (const peer of this.#inView.peers()) {
      if (now - this.#inView.get(peer)!.lastHeard >= this.config.isolationTimeoutMs) {
        this.#metrics.inViewExpired++
        const lostArc = this.#holdsCurrentSubscription(peer)
        this.#inViewDelete(peer)
        if (lostArc) this.#replaceLostArc()
      }
    }
  }

  // ── bookkeeping ───────────────────────────────────────────────────────────────────────────────

  #run(body: () => void): GossipEffect[] {
    const out: GossipEffect[] = []
    this.#out = out
    const partialViewBefore = this.#partialView.size
    try {
      body()
      // A member whose partial view just emptied can no longer gossip nor renew: it needs a contact.
      if (partialViewBefore > 0 && this.#partialView.size === 0 && this.#state === 'joined') out.push({ type: 'need-contact', reason: 'empty-view' })
    } finally {
      for (const [peer, wasNeighbour] of this.#touched) {
        const isNeighbour = this.isNeighbour(peer)
        if (isNeighbour !== wasNeighbour) out.push({ type: isNeighbour ? 'neighbour-up' : 'neighbour-down', peer })
      }
      this.#touched.clear()
      this.#out = []
    }
    return out
  }

  #assertOpen(): void {
    if (this.#state === 'left') throw new MeshscopeError('GOSSIP_CLOSED', 'this gossip node has left the group')
  }

  #send(to: PeerId, message: GossipMessage): void {
    this.#metrics.sent[message.type]++
    this.#out.push({ type: 'send', to, message })
  }

  #isPeerId(value: unknown): value is PeerId {
    return isPeerId(value, this.config.maxPeerIdLength, this.#wireLimits.peerIdPattern)
  }

  #unsolicited(peer: PeerId, reason: string): void {
    this.#metrics.unsolicited++
    this.#refuse(peer, 'GOSSIP_UNSOLICITED', reason)
  }

  #refuse(peer: PeerId, code: GossipRefusal, reason: string): void {
    this.#metrics.refused++
    this.#out.push({ type: 'refused', peer, code, reason })
    if (code !== 'GOSSIP_RATE_LIMITED' && this.#strikes.strike(peer, this.#now())) {
      this.#metrics.misbehaving++
      this.#out.push({ type: 'misbehaving', peer, code: code as Exclude<GossipRefusal, 'GOSSIP_RATE_LIMITED'> })
    }
  }

  #touch(peer: PeerId): void {
    if (!this.#touched.has(peer)) this.#touched.set(peer, this.isNeighbour(peer))
  }

  #partialViewSet(peer: PeerId, epoch: number, now: number): void {
    this.#touch(peer)
    this.#partialView.set(peer, epoch, now)
  }

  #partialViewDelete(peer: PeerId): boolean {
    this.#touch(peer)
    return this.#partialView.delete(peer)
  }

  /** Records (or refreshes) an in-view member holding our subscription of `epoch`, within `maxInView`. */
  #inViewSet(peer: PeerId, epoch: number, now: number): void {
    if (!this.#inView.has(peer) && this.#inView.size >= this.config.maxInView) {
      this.#metrics.inViewFull++
      return
    }
    this.#touch(peer)
    this.#inView.set(peer, epoch, now)
  }

  #inViewDelete(peer: PeerId): void {
    this.#touch(peer)
    this.#inView.delete(peer)
  }
}
