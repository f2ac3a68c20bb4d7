/**
 * What a SCAMP node asks its host to do (effects) and what it counts (metrics). The node performs
 * no I/O: every call returns the effects in the order they arose, and the host (the mesh, the
 * simulator, a test) carries them out.
 */
import type { GossipMessage, GossipMessageType, GossipRefusal, PeerId } from './protocol.js'

export type GossipEffect =
  /** Send `message` to `to` (encode it with `messageToWire` and the codec). Opens a link on demand if there is none. */
  | { type: 'send'; to: PeerId; message: GossipMessage }
  /** A gossip message reached this node for the first time: hand it to the application. */
  | { type: 'deliver'; from: PeerId; id: string; payload: Uint8Array }
  /** `peer` entered partial view ∪ in-view: keep a link to it. */
  | { type: 'neighbour-up'; peer: PeerId }
  /** `peer` left partial view ∪ in-view: its link may close (unless something else uses it). */
  | { type: 'neighbour-down'; peer: PeerId }
  /** A contact handled this node's subscription of `epoch`; the contact is now in the partial view. */
  | { type: 'subscribed'; contact: PeerId; epoch: number }
  /**
   * The node cannot (re)subscribe by itself: its subscription got no answer after every attempt,
   * or it is isolated with an empty partial view. Call `join(contact)` with a contact from elsewhere
   * (the signaling server).
   */
  | { type: 'need-contact'; reason: 'no-answer' | 'isolated' | 'empty-view' }
  /** A message from `peer` was refused (dropped) with `code`. */
  | { type: 'refused'; peer: PeerId; code: GossipRefusal; reason: string }
  /** `peer` keeps sending messages that are refused (`maxStrikes` within `strikeWindowMs`): disconnect it. */
  | { type: 'misbehaving'; peer: PeerId; code: Exclude<GossipRefusal, 'GOSSIP_RATE_LIMITED'> }

/** Counters a node keeps (monotonic, since creation). */
export interface ScampMetrics {
  /** Messages sent and received (valid ones), by type. */
  sent: Record<GossipMessageType, number>
  received: Record<GossipMessageType, number>
  /** Messages refused (malformed, too large, rate-limited) and peers reported misbehaving. */
  refused: number
  misbehaving: number
  /** Subscriptions handled as the contact; contact requests refused by the rate limit; indirection steps forwarded. */
  contactsServed: number
  contactsRateLimited: number
  walksForwarded: number
  /** Forwarded subscriptions kept here, forwarded on, and expired here (hop limit reached, or nowhere to forward). */
  subscriptionsKept: number
  subscriptionsForwarded: number
  subscriptionsExpired: number
  /** Forwarded subscriptions dropped by a neighbour's rate limit (`forwardBurst`, `forwardRefillMs`). */
  subscriptionsRateLimited: number
  /** Contact answers and unsubscriptions refused as unsolicited (GOSSIP_UNSOLICITED). */
  unsolicited: number
  /** Unsubscription replacements kept, and dropped (already held, or this node itself, or the view full). */
  replacementsKept: number
  replacementsDropped: number
  /** Subscriptions not kept because the partial view was full; in-view members not recorded because the in-view was full. */
  partialViewFull: number
  inViewFull: number
  /** In-view members learnt from a heartbeat (their keep notice was lost) and forgotten for silence. */
  inViewRepaired: number
  inViewExpired: number
  /** Held subscriptions dropped because their lease ran out (not renewed within two leases). */
  leasesExpired: number
  /** Subscription attempts repeated, re-subscriptions after isolation, lease renewals. */
  subscribeRetries: number
  isolationRecoveries: number
  leaseRenewals: number
  /** In-view arcs lost without an unsubscription (a crash, a failed link) that were restored (see the unsubscription rule). */
  lostArcsReplaced: number
  /** Gossip published here, delivered here (first copies), and duplicates dropped. */
  gossipPublished: number
  gossipDelivered: number
  gossipDuplicates: number
  /** Gossip refused because its id's time is outside `maxMessageAgeMs` or older than the seen-cache remembers. */
  gossipExpired: number
}
