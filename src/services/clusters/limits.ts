/**
 * The bounds of service clusters, each chosen by the side that holds the memory: a member bounds the
 * work its handlers take (SERVICE_LIMITS, per service, per subscription), and every peer bounds what
 * another peer's directory announcement may make it hold (DIRECTORY_LIMITS).
 */
import { MeshscopeError } from '../../errors.js'

/** How much work a service (its requests, its broadcasts) or a subscription (its events) takes on at once. */
export interface ServiceLimits {
  /**
   * Handlers running at once; more wait in the queue.
   * @default 4 × the cores in Node, 4 in a browser tab (`defaultRequestConcurrency()`)
   */
  requestConcurrency?: number
  /**
   * Bytes of accepted work (queued or running, measured by `payloadBytes`) held at once. A request
   * past it is refused at once with SERVICE_OVERLOADED; a broadcast or an event past it is dropped
   * and counted in `stats()`.
   * @default 67_108_864 (64 MiB)
   */
  requestMemory?: number
  /**
   * Tunnels open at once to this service (a tunnel holds two streams and its handler for as long as
   * its caller keeps it); one more is refused with SERVICE_OVERLOADED. Subscriptions ignore it.
   * @default 256
   */
  maxTunnels?: number
}

/** Handlers at once by default: 4 × the cores in Node (where handlers are I/O bound), 4 in a tab. */
export function defaultRequestConcurrency(): number {
  const scope = globalThis as { process?: { versions?: { node?: string } }; navigator?: { hardwareConcurrency?: number }; document?: unknown }
  const isNode = typeof scope.process?.versions?.node === 'string' && scope.document === undefined
  if (!isNode) return 4
  const cores = scope.navigator?.hardwareConcurrency
  return 4 * (Number.isSafeInteger(cores) && cores! > 0 ? cores! : 1)
}

/** The default memory allowance of a service or subscription, as in Iris. */
export const DEFAULT_REQUEST_MEMORY_BYTES = 64 * 1024 * 1024

/** Tunnels open at once to one service, by default. */
export const DEFAULT_MAX_TUNNELS = 256

/** Fills in and checks a service's or subscription's limits (INVALID_ARGUMENT unless positive integers). */
export function resolveServiceLimits(limits: ServiceLimits = {}): Required<ServiceLimits> {
  const resolved = {
    requestConcurrency: limits.requestConcurrency ?? defaultRequestConcurrency(),
    requestMemory: limits.requestMemory ?? DEFAULT_REQUEST_MEMORY_BYTES,
    maxTunnels: limits.maxTunnels ?? DEFAULT_MAX_TUNNELS,
  }
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new MeshscopeError('INVALID_ARGUMENT', `${name} must be a positive integer`)
  }
  return resolved
}

/** What one peer's directory announcement may make this peer hold; past any bound it is refused (ANNOUNCEMENT_REFUSED). */
export const DIRECTORY_LIMITS = {
  /** Clusters one peer may announce it serves. @default 256 */
  maxClustersPerPeer: 256,
  /** Topics one peer may announce it subscribes to. @default 256 */
  maxTopicsPerPeer: 256,
  /** Characters in a cluster or topic name (the mailbox name bound). @default 128 */
  maxNameLength: 128,
  /** Announcements one peer may send in a burst before the rate applies. @default 32 */
  announcementBurst: 32,
  /** Announcements one peer may send per second past the burst; a peer announces at most 20/s. @default 32 */
  announcementsPerSecond: 32,
  /**
   * Peers the directory holds entries of. In a full-mesh room these are the linked peers; in a scamp
   * room any member's gossiped announcement makes one, so a new peer's is refused past this. @default 1024
   */
  maxPeers: 1024,
} as const

/**
 * The directory of a scamp room, carried by gossip: every peer gossips its membership on every
 * change and every `refreshMs`, and an entry not refreshed within `expiryMs` is dropped — so a
 * crashed member leaves the directory within `expiryMs` plus the gossip's spread (seconds).
 */
export const GOSSIP_DIRECTORY = {
  /** How often a peer gossips its membership in a scamp room. @default 10_000 */
  refreshMs: 10_000,
  /** How long an announcement holds without a refresh (three refreshes, then a margin). @default 35_000 */
  expiryMs: 35_000,
} as const

/**
 * Links opened on demand to reach cluster members (a scamp room, where most members have no link to
 * this peer). A member with an open link is preferred; a link to a better unlinked member is opened
 * beside, at most `maxAttempts` at once; a member whose attempt failed is dropped from the directory
 * and its gossiped announcements ignored for `unreachableCooldownMs` (until a link from it opens) —
 * so made-up member ids announced by a hostile member cost one attempt each, never a request.
 */
export const MEMBER_LINKS = {
  /** On-demand link attempts made for clusters at once. @default 4 */
  maxAttempts: 4,
  /** How long a member whose link attempt failed (or whose link timed out) stays out of the directory. @default 60_000 */
  unreachableCooldownMs: 60_000,
  /**
   * A link this peer had no room for (at `maxLinks`) is refused at once; the member stays, and no new
   * attempt for it is made before this long — else a request waiting for it would retry in a loop of
   * microtasks that never lets its own deadline's timer run. @default 1_000
   */
  refusedRetryMs: 1_000,
  /**
   * A member that refused a link (PEER_BUSY: it is at its own `maxLinks`) is skipped this long, then
   * tried again; it stays in the directory (a busy member is not a phantom). @default 5_000
   */
  busyRetryMs: 5_000,
  /** Members remembered as busy at once (the oldest forgotten first). @default 1024 */
  maxBusyMembers: 1024,
} as const

/** The shortest time between two announcements this peer sends: changes in between are announced together. */
export const ANNOUNCE_INTERVAL_MS = 50
