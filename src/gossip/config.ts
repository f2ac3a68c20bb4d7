/**
 * Every parameter, limit and timing of a SCAMP node, in one place (documented in docs/protocol.md,
 * "Gossip (SCAMP)"). Timings of 0 switch a mechanism off where noted.
 */
import { MeshscopeError } from '../errors.js'

export interface ScampConfig {
  /**
   * SCAMP's design parameter: a contact forwards c extra copies of each subscription; views approach (c+1)·ln n.
   * @default 1
   */
  c: number
  /**
   * Indirection: a subscription walks this many random partial-view hops before the node it reaches
   * acts as the contact, so a joining node need not know a random member.
   * @default 10
   */
  indirectionHops: number
  /**
   * Largest walk length accepted from a peer.
   * @default 32
   */
  maxIndirectionHops: number
  /**
   * Hop limit of a forwarded subscription. It is forwarded until someone keeps it; this guards
   * loops only, and every expiry is counted (`subscriptionsExpired`).
   * @default 256
   */
  maxSubscriptionHops: number
  /**
   * Partial-view bound: a node whose view is full forwards every subscription instead of keeping it.
   * @default 128
   */
  maxPartialView: number
  /**
   * In-view bound: peers beyond it are not recorded (counted in `inViewFull`).
   * @default 256
   */
  maxInView: number
  /**
   * A heartbeat goes to every partial-view member this often; 0 switches heartbeats and isolation recovery off.
   * @default 10_000
   */
  heartbeatIntervalMs: number
  /**
   * A node that has had no heartbeat (or keep notice) for its current subscription for this long
   * is isolated and re-subscribes; in-view members not heard from for this long are forgotten.
   * @default 45_000
   */
  isolationTimeoutMs: number
  /**
   * Lease: about this often a node's subscription expires (its holders drop it) and it subscribes
   * again; a holder drops a subscription not renewed within two leases. 0 switches leases off.
   * @default 10 * 60_000
   */
  leaseMs: number
  /**
   * Each lease is shortened by a random fraction up to this (`0 ≤ jitter < 1`), so renewals spread out.
   * @default 0.2
   */
  leaseJitter: number
  /**
   * Holders of a node's older subscription are told to drop it as soon as its new subscription is
   * kept somewhere, or at the latest this long after the contact answered.
   * @default 5_000
   */
  renewalOverlapMs: number
  /**
   * A subscription with no contact answer within this time is sent again (with a new epoch).
   * @default 10_000
   */
  subscribeTimeoutMs: number
  /**
   * Attempts per subscription before the node asks the mesh for a new contact (`need-contact`).
   * @default 3
   */
  maxSubscribeAttempts: number
  /**
   * Gossip message ids remembered for deduplication (oldest forgotten first).
   * @default 4096
   */
  maxSeenMessages: number
  /**
   * Largest gossip payload, in bytes, sent or accepted.
   * @default 64 * 1024
   */
  maxPayloadBytes: number
  /**
   * Longest peer id accepted in a message (ids are 1..this many of `[A-Za-z0-9_.:-]`).
   * @default 64
   */
  maxPeerIdLength: number
  /**
   * Refused messages from one peer within `strikeWindowMs` before it is reported `misbehaving`.
   * @default 3
   */
  maxStrikes: number
  /**
   * Window in which strikes add up.
   * @default 60_000
   */
  strikeWindowMs: number
  /**
   * Peers whose strikes are tracked at once (the oldest record is dropped first).
   * @default 1024
   */
  maxTrackedPeers: number
  /**
   * Contact duty is rate-limited by a token bucket of this many tokens…
   * @default 32
   */
  contactBurst: number
  /**
   * …refilled by one token this often (10 contacts a second).
   * @default 100
   */
  contactRefillMs: number
  /**
   * Forwarded subscriptions are rate-limited per neighbour by a token bucket of this many tokens
   * (past it they are dropped with GOSSIP_RATE_LIMITED, neither kept nor forwarded)…
   * @default 64
   */
  forwardBurst: number
  /**
   * …refilled by one token this often (20 forwarded subscriptions a second from each neighbour).
   * @default 50
   */
  forwardRefillMs: number
  /**
   * A gossip message id carries its origin's clock (milliseconds, its first 12 hex digits); a
   * message whose time is more than this before or after this node's clock is refused, so that an
   * id forgotten by the bounded seen-cache can never be delivered again.
   * @default 5 * 60_000
   */
  maxMessageAgeMs: number
}

export const DEFAULT_SCAMP_CONFIG: Readonly<ScampConfig> = Object.freeze({
  c: 1,
  indirectionHops: 10,
  maxIndirectionHops: 32,
  maxSubscriptionHops: 256,
  maxPartialView: 128,
  maxInView: 256,
  heartbeatIntervalMs: 10_000,
  isolationTimeoutMs: 45_000,
  leaseMs: 10 * 60_000,
  leaseJitter: 0.2,
  renewalOverlapMs: 5_000,
  subscribeTimeoutMs: 10_000,
  maxSubscribeAttempts: 3,
  maxSeenMessages: 4096,
  maxPayloadBytes: 64 * 1024,
  maxPeerIdLength: 64,
  maxStrikes: 3,
  strikeWindowMs: 60_000,
  maxTrackedPeers: 1024,
  contactBurst: 32,
  contactRefillMs: 100,
  forwardBurst: 256,
  forwardRefillMs: 10,
  maxMessageAgeMs: 5 * 60_000,
})

/** Fills in defaults and checks the result; throws INVALID_ARGUMENT for a bad value. */
export function resolveScampConfig(overrides: Partial<ScampConfig> = {}): ScampConfig {
  const config: ScampConfig = { ...DEFAULT_SCAMP_CONFIG, ...overrides }
  const fail = (message: string): never => {
    throw new MeshscopeError('INVALID_ARGUMENT', `scamp ${message}`)
  }
  for (const [name, value] of Object.entries(config)) {
    if (name === 'leaseJitter') continue
    if (!Number.isSafeInteger(value) || value < 0) fail(`${name} must be a non-negative integer, got ${String(value)}`)
  }
  if (!(config.leaseJitter >= 0 && config.leaseJitter < 1)) fail(`leaseJitter must be in [0, 1), got ${String(config.leaseJitter)}`)
  for (const name of [
    'maxPartialView',
    'maxInView',
    'maxSubscriptionHops',
    'subscribeTimeoutMs',
    'maxSubscribeAttempts',
    'maxSeenMessages',
    'maxPayloadBytes',
    'maxPeerIdLength',
    'maxStrikes',
    'strikeWindowMs',
    'maxTrackedPeers',
    'contactBurst',
    'contactRefillMs',
    'forwardBurst',
    'forwardRefillMs',
    'maxMessageAgeMs',
  ] as const) {
    if (config[name] === 0) fail(`${name} must be positive`)
  }
  if (config.indirectionHops > config.maxIndirectionHops) fail('indirectionHops must not exceed maxIndirectionHops')
  if (config.c >= config.maxPartialView) fail('c must be smaller than maxPartialView')
  if (config.heartbeatIntervalMs > 0 && config.isolationTimeoutMs <= config.heartbeatIntervalMs)
    fail('isolationTimeoutMs must be longer than heartbeatIntervalMs')
  return config
}
