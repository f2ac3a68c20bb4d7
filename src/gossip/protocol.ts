/**
 * SCAMP and gossip wire messages. Each is one codec value (a msgpack array) sent to one peer; the
 * sender is the link it arrived on, never a field. `parseGossipMessage` turns any decoded value into
 * a typed message or a typed refusal — it never throws.
 *
 *   [0, subscriber, epoch, walk, fromDegree, renewal]
 *                                                subscribe: a subscription on its indirection walk; `walk` steps remain after
 *                                                this one; `fromDegree` is the proposer's neighbour count (0: accept
 *                                                unconditionally); `renewal` (boolean) marks a lease renewal
 *   [1, subscriber, epoch, hops]                 forwarded subscription (kept or forwarded; `hops` so far)
 *   [2, subscriberEpoch, contactEpoch, renewal]  contact: "I handled your subscription"; unless it was a lease renewal,
 *                                                "I recorded you in my in-view: keep me in your partial view"
 *   [3, epoch]                                   kept: "I keep your subscription of this epoch" (put me in your in-view)
 *   [4, epoch]                                   unsubscribe: "drop my subscriptions up to this epoch"
 *   [4, epoch, replacement, replacementEpoch]    … and put `replacement` (its subscription of that epoch) in my place
 *   [5, epoch]                                   forget: "I no longer hold your subscription of this epoch"
 *   [6, epoch]                                   heartbeat: "I hold your subscription of this epoch"
 *   [7, id, payload]                             gossip: a disseminated message (id: 32 lowercase hex digits, the first 12 the
 *                                                origin's clock in ms, the rest random; payload: bytes)
 *
 * An epoch numbers a node's subscriptions: every new subscription (join, retry, isolation recovery,
 * lease renewal) has a larger one, so messages about an older subscription are recognised however
 * late they arrive.
 */
import type { ScampConfig } from './config.js'

export type PeerId = string

export const GossipKind = { subscribe: 0, forwardSubscription: 1, contact: 2, kept: 3, unsubscribe: 4, forget: 5, heartbeat: 6, gossip: 7 } as const

export type GossipMessage =
  | { type: 'subscribe'; subscriber: PeerId; epoch: number; walk: number; fromDegree: number; renewal: boolean }
  | { type: 'forward-subscription'; subscriber: PeerId; epoch: number; hops: number }
  | { type: 'contact'; subscriberEpoch: number; contactEpoch: number; renewal: boolean }
  | { type: 'kept'; epoch: number }
  | { type: 'unsubscribe'; epoch: number; replacement: PeerId | null; replacementEpoch: number }
  | { type: 'forget'; epoch: number }
  | { type: 'heartbeat'; epoch: number }
  | { type: 'gossip'; id: string; payload: Uint8Array }

export type GossipMessageType = GossipMessage['type']

export const GOSSIP_MESSAGE_TYPES: readonly GossipMessageType[] = [
  'subscribe',
  'forward-subscription',
  'contact',
  'kept',
  'unsubscribe',
  'forget',
  'heartbeat',
  'gossip',
]

/** Codes a refused message gets (a subset of ErrorCode). */
export type GossipRefusalCode = 'GOSSIP_MALFORMED' | 'GOSSIP_TOO_LARGE'

/** Every code a node refuses a peer's message with (effects.ts). */
export type GossipRefusal = GossipRefusalCode | 'GOSSIP_RATE_LIMITED' | 'GOSSIP_UNSOLICITED' | 'GOSSIP_FORGED'

export type ParseResult = { ok: true; message: GossipMessage } | { ok: false; code: GossipRefusalCode; reason: string }

/** The limits the parser checks. */
export type WireLimits = Pick<ScampConfig, 'maxIndirectionHops' | 'maxSubscriptionHops' | 'maxPayloadBytes' | 'maxPeerIdLength'> & {
  /** When set, peer ids must also match it (the mesh: PEER_ID_PATTERN, 32 lowercase hex digits). */
  peerIdPattern?: RegExp
}

/** Largest neighbour count a walk step may carry (views are bounded far below it). */
export const MAX_DEGREE = 0xffff

const PEER_ID_CHARACTERS = /^[A-Za-z0-9_.:-]+$/
const MESSAGE_ID = /^[0-9a-f]{32}$/

/**
 * True for a peer id this protocol carries: 1..maxPeerIdLength of `[A-Za-z0-9_.:-]`, and matching
 * `pattern` when the host sets one (the mesh accepts only its own ids, so that no peer can make it
 * ask the signaling server for a link to something that is not a member).
 */
export function isPeerId(value: unknown, maxPeerIdLength: number, pattern?: RegExp): value is PeerId {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= maxPeerIdLength &&
    PEER_ID_CHARACTERS.test(value) &&
    (pattern === undefined || pattern.test(value))
  )
}

/** True for a gossip message id: 32 lowercase hex digits (48 bits of the origin's time, 80 random bits). */
export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && MESSAGE_ID.test(value)
}

function isEpoch(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function isCount(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max
}

/** The wire form of a message (what the codec encodes). */
export function messageToWire(message: GossipMessage): unknown[] {
  switch (message.type) {
    case 'subscribe':
      return [GossipKind.subscribe, message.subscriber, message.epoch, message.walk, message.fromDegree, message.renewal]
    case 'forward-subscription':
      return [GossipKind.forwardSubscription, message.subscriber, message.epoch, message.hops]
    case 'contact':
      return [GossipKind.contact, message.subscriberEpoch, message.contactEpoch, message.renewal]
    case 'kept':
      return [GossipKind.kept, message.epoch]
    case 'unsubscribe':
      return message.replacement === null
        ? [GossipKind.unsubscribe, message.epoch]
        : [GossipKind.unsubscribe, message.epoch, message.replacement, message.replacementEpoch]
    case 'forget':
      return [GossipKind.forget, message.epoch]
    case 'heartbeat':
      return [GossipKind.heartbeat, message.epoch]
    case 'gossip':
      return [GossipKind.gossip, message.id, message.payload]
  }
}

const malformed = (reason: string): ParseResult => ({ ok: false, code: 'GOSSIP_MALFORMED', reason })

/**
 * Checks a decoded value from a peer. Returns the typed message, or a refusal: `GOSSIP_TOO_LARGE`
 * for a gossip payload over `maxPayloadBytes`, `GOSSIP_MALFORMED` for anything else that is not
 * exactly one of the messages above within the limits. Never throws, whatever `value` is.
 */
export function parseGossipMessage(value: unknown, limits: WireLimits): ParseResult {
  try {
    return parse(value, limits)
  } catch {
    // Only an exotic object (a Proxy, a throwing getter) gets here; the codec never produces one.
    return malformed('unreadable value')
  }
}

function parse(value: unknown, limits: WireLimits): ParseResult {
  if (!Array.isArray(value) || value.length < 2 || value.length > 6) return malformed('a gossip message is an array of 2 to 6 items')
  const items = value as unknown[]
  const [kind, a, b, c, d, e] = items
  const length = items.length
  switch (kind) {
    case GossipKind.subscribe:
    case GossipKind.forwardSubscription: {
      if (length !== (kind === GossipKind.subscribe ? 6 : 4)) return malformed('subscribe has 6 items, a forwarded subscription 4')
      if (!isPeerId(a, limits.maxPeerIdLength, limits.peerIdPattern)) return malformed('bad subscriber id')
      if (!isEpoch(b)) return malformed('bad epoch')
      if (kind === GossipKind.subscribe) {
        if (!isCount(c, limits.maxIndirectionHops)) return malformed(`walk must be an integer 0..${limits.maxIndirectionHops}`)
        if (!isCount(d, MAX_DEGREE)) return malformed(`fromDegree must be an integer 0..${MAX_DEGREE}`)
        if (typeof e !== 'boolean') return malformed('renewal must be a boolean')
        return { ok: true, message: { type: 'subscribe', subscriber: a, epoch: b, walk: c, fromDegree: d, renewal: e } }
      }
      if (!isCount(c, limits.maxSubscriptionHops)) return malformed(`hops must be an integer 0..${limits.maxSubscriptionHops}`)
      return { ok: true, message: { type: 'forward-subscription', subscriber: a, epoch: b, hops: c } }
    }
    case GossipKind.contact:
      if (length !== 4 || !isEpoch(a) || !isEpoch(b) || typeof c !== 'boolean') return malformed('contact is [2, subscriberEpoch, contactEpoch, renewal]')
      return { ok: true, message: { type: 'contact', subscriberEpoch: a, contactEpoch: b, renewal: c } }
    case GossipKind.kept:
    case GossipKind.forget:
    case GossipKind.heartbeat: {
      if (length !== 2 || !isEpoch(a)) return malformed('kept, forget and heartbeat are [kind, epoch]')
      const type = kind === GossipKind.kept ? 'kept' : kind === GossipKind.forget ? 'forget' : 'heartbeat'
      return { ok: true, message: { type, epoch: a } }
    }
    case GossipKind.unsubscribe:
      if (length === 2 && isEpoch(a)) return { ok: true, message: { type: 'unsubscribe', epoch: a, replacement: null, replacementEpoch: 0 } }
      if (length === 4 && isEpoch(a) && isPeerId(b, limits.maxPeerIdLength, limits.peerIdPattern) && isEpoch(c)) {
        return { ok: true, message: { type: 'unsubscribe', epoch: a, replacement: b, replacementEpoch: c } }
      }
      return malformed('unsubscribe is [4, epoch] or [4, epoch, replacement, replacementEpoch]')
    case GossipKind.gossip:
      if (length !== 3 || !isMessageId(a) || !(b instanceof Uint8Array)) return malformed('gossip is [7, id of 32 hex digits, bytes]')
      if (b.byteLength > limits.maxPayloadBytes)
        return { ok: false, code: 'GOSSIP_TOO_LARGE', reason: `gossip payload of ${b.byteLength} bytes is over ${limits.maxPayloadBytes}` }
      return { ok: true, message: { type: 'gossip', id: a, payload: b } }
    default:
      return malformed('unknown message kind')
  }
}
