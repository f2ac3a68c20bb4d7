/**
 * The messages of service clusters. They travel as values through internal mailboxes (like the hop
 * mailbox `__meshscope.hop`), so they share the mailboxes' streams, budgets and codes; each parser
 * returns a typed message or a MeshscopeError for any input — never throws on a hostile value.
 *
 *   __meshscope.clusters.directory   call  [seq, [[cluster, spare], …], [topic, …]]   the sender's whole membership
 *                                    reply null (taken) | [code, message] (refused: ANNOUNCEMENT_REFUSED)
 *   __meshscope.clusters.request     call  [cluster, value, deadlineMs]              one request; `deadlineMs` is what is
 *                                                                                    left of the caller's timeout
 *                                    reply [0, result, spare] | [1, code, message, spare]
 *   __meshscope.clusters.tunnel      call  [cluster, receiver, sender]                 the member's halves of two mpsc channels
 *                                    reply [0, null, spare] | [1, code, message, spare]
 *   __meshscope.clusters.broadcast   send  [cluster, value]
 *   __meshscope.clusters.event       send  [topic, value]
 *
 * `spare` is the member's free capacity for that cluster's requests: free handler slots minus queued
 * requests (negative when requests wait). A reply carries it so callers balance on fresh figures.
 * A member refuses with NO_MEMBER a request for a cluster it no longer serves: its handler never
 * ran, so the caller may hand the request to another member (still at most once).
 */
import { MeshscopeError, type ErrorCode } from '../../errors.js'
import { Receiver, Sender } from '../../channels/mpsc.js'
import { DIRECTORY_LIMITS } from './limits.js'

export const DIRECTORY_MAILBOX = '__meshscope.clusters.directory'
export const REQUEST_MAILBOX = '__meshscope.clusters.request'
export const TUNNEL_MAILBOX = '__meshscope.clusters.tunnel'
export const BROADCAST_MAILBOX = '__meshscope.clusters.broadcast'
export const EVENT_MAILBOX = '__meshscope.clusters.event'

/** A peer's whole membership, replacing the one it announced before (a higher `seq` wins). */
export interface Announcement {
  seq: number
  clusters: Map<string, number>
  topics: Set<string>
}

export interface ClusterRequest {
  cluster: string
  value: unknown
  /** Milliseconds left of the caller's timeout when it sent the request (Infinity: none). */
  deadlineMs: number
}

export type RequestOutcome = { kind: 'value'; value: unknown; spare: number } | { kind: 'refused'; code: RefusalCode; message: string; spare: number }

/** The codes a member may refuse a request with; anything else from the wire is not trusted. */
const REFUSAL_CODES = ['SERVICE_OVERLOADED', 'SERVICE_CLOSED', 'TIMEOUT', 'NO_MEMBER'] as const satisfies readonly ErrorCode[]
export type RefusalCode = (typeof REFUSAL_CODES)[number]

/** A cluster or topic name: 1..maxNameLength characters. */
export function isClusterName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= DIRECTORY_LIMITS.maxNameLength
}

export function validateClusterName(what: 'cluster' | 'topic', name: unknown): asserts name is string {
  if (!isClusterName(name)) throw new MeshscopeError('INVALID_ARGUMENT', `a ${what} name is a string of 1..${DIRECTORY_LIMITS.maxNameLength} characters`)
}

export function announcementToWire(announcement: Announcement): unknown[] {
  return [announcement.seq, [...announcement.clusters], [...announcement.topics]]
}

/** A peer's announcement, or ANNOUNCEMENT_REFUSED when it is malformed or over DIRECTORY_LIMITS. */
export function announcementFromWire(value: unknown): Announcement | MeshscopeError {
  const refuse = (why: string) => new MeshscopeError('ANNOUNCEMENT_REFUSED', `directory announcement refused: ${why}`)
  if (!Array.isArray(value) || value.length !== 3) return refuse('not [seq, clusters, topics]')
  const [seq, clusters, topics] = value as unknown[]
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) return refuse('bad sequence number')
  if (!Array.isArray(clusters) || !Array.isArray(topics)) return refuse('clusters and topics must be arrays')
  if (clusters.length > DIRECTORY_LIMITS.maxClustersPerPeer) return refuse(`${clusters.length} clusters, at most ${DIRECTORY_LIMITS.maxClustersPerPeer}`)
  if (topics.length > DIRECTORY_LIMITS.maxTopicsPerPeer) return refuse(`${topics.length} topics, at most ${DIRECTORY_LIMITS.maxTopicsPerPeer}`)
  const clusterMap = new Map<string, number>()
  for (const entry of clusters) {
    if (!Array.isArray(entry) || entry.length !== 2) return refuse('a cluster entry is [name, spare]')
    const [name, spare] = entry as unknown[]
    if (!isClusterName(name)) return refuse(`a cluster name is 1..${DIRECTORY_LIMITS.maxNameLength} characters`)
    if (!isSpare(spare)) return refuse('spare capacity must be a safe integer')
    clusterMap.set(name, clampSpare(spare))
  }
  const topicSet = new Set<string>()
  for (const name of topics) {
    if (!isClusterName(name)) return refuse(`a topic name is 1..${DIRECTORY_LIMITS.maxNameLength} characters`)
    topicSet.add(name)
  }
  return { seq: seq as number, clusters: clusterMap, topics: topicSet }
}

/** The answer to an announcement: null when taken, else the refusal's code and message. */
export function refusalToWire(refusal: MeshscopeError | undefined): [string, string] | null {
  return refusal ? [refusal.code, refusal.message] : null
}

/** The refusal's message from an announcement's answer, or undefined when it was taken. */
export function refusalFromWire(value: unknown): string | undefined {
  if (value === null) return undefined
  return Array.isArray(value) && typeof value[1] === 'string' ? value[1].slice(0, 1024) : 'a malformed answer'
}

export function requestToWire(request: ClusterRequest): unknown[] {
  return [request.cluster, request.value, request.deadlineMs]
}

export function requestFromWire(value: unknown): ClusterRequest | MeshscopeError {
  if (!Array.isArray(value) || value.length !== 3) return new MeshscopeError('BAD_MESSAGE', 'a cluster request is [cluster, value, deadlineMs]')
  const [cluster, payload, deadlineMs] = value as unknown[]
  if (!isClusterName(cluster)) return new MeshscopeError('BAD_MESSAGE', 'a cluster request needs a cluster name')
  if (typeof deadlineMs !== 'number' || !(deadlineMs > 0)) return new MeshscopeError('BAD_MESSAGE', 'a cluster request needs a positive deadline')
  return { cluster, value: payload, deadlineMs }
}

export function outcomeToWire(outcome: RequestOutcome): unknown[] {
  return outcome.kind === 'value' ? [0, outcome.value, outcome.spare] : [1, outcome.code, outcome.message, outcome.spare]
}

export function outcomeFromWire(value: unknown): RequestOutcome | MeshscopeError {
  // Made only when needed: an Error captures a stack, which every reply would pay for.
  const malformed = () => new MeshscopeError('BAD_MESSAGE', 'a malformed reply to a cluster request')
  if (!Array.isArray(value)) return malformed()
  if (value[0] === 0 && value.length === 3 && isSpare(value[2])) return { kind: 'value', value: value[1], spare: clampSpare(value[2]) }
  if (value[0] === 1 && value.length === 4 && isSpare(value[3]) && typeof value[2] === 'string') {
    const code = (REFUSAL_CODES as readonly unknown[]).includes(value[1]) ? (value[1] as RefusalCode) : undefined
    if (code) return { kind: 'refused', code, message: value[2].slice(0, 1024), spare: clampSpare(value[3]) }
  }
  return malformed()
}

/** A tunnel's opening: the cluster and the member's halves (what it receives on, what it sends with). */
export function tunnelOpeningFromWire(value: unknown): { cluster: string; incoming: Receiver<unknown>; outgoing: Sender<unknown> } | MeshscopeError {
  if (!Array.isArray(value) || value.length !== 3 || !isClusterName(value[0]) || !(value[1] instanceof Receiver) || !(value[2] instanceof Sender)) {
    return new MeshscopeError('BAD_MESSAGE', 'a tunnel opening is [cluster, mpsc receiver, mpsc sender]')
  }
  return { cluster: value[0], incoming: value[1], outgoing: value[2] }
}

/** A named delivery without a reply: a broadcast to a cluster or an event on a topic. */
export function deliveryFromWire(value: unknown): { name: string; value: unknown } | MeshscopeError {
  if (!Array.isArray(value) || value.length !== 2 || !isClusterName(value[0])) return new MeshscopeError('BAD_MESSAGE', 'a broadcast or event is [name, value]')
  return { name: value[0], value: value[1] }
}

function isSpare(value: unknown): value is number {
  return Number.isSafeInteger(value)
}

/**
 * The most spare capacity a member may claim: a member's word decides where requests go, so a
 * hostile one claiming 2^53 would draw every request to itself. No honest member has more free
 * slots and queue room than this counts for.
 */
export const MAX_REPORTED_SPARE = 1024

/** A reported spare capacity brought within ±MAX_REPORTED_SPARE (a negative one: a backlog). */
export function clampSpare(spare: number): number {
  return Math.max(-MAX_REPORTED_SPARE, Math.min(MAX_REPORTED_SPARE, spare))
}
