/**
 * The link table: one entry per peer this one has a link to, or is connecting to. It starts links,
 * runs a multiplexer session on each once its data channel opens (the peer joins when the session's
 * handshake completes), removes links that ended, lets callers wait for a link opened on demand,
 * closes idle on-demand links, and re-forms lost links after a per-peer backoff when asked to.
 *
 * Who is in the mesh is decided here, by the links, not by the signaling server: a peer joins when
 * its session is ready and leaves when the link closes, says goodbye or stays silent past
 * `peerTimeoutMs`. What a join, a leave or a lost link means beyond that is the host's business.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError } from '../errors.js'
import type { MuxCloseInfo } from '../mux/session.js'
import type { SharedInboundBudget } from '../mux/shared-budget.js'
import type { Link, LinkCloseInfo } from '../transport/link.js'
import type { RtcSignal } from '../transport/webrtc-link.js'
import { Backoff, type BackoffOptions } from '../util/backoff.js'
import { randomBase64Url } from '../util/bytes.js'
import type { Messaging } from './messaging.js'
import { createPeerStack } from './peer-stack.js'
import type { PeerLimits } from './options.js'
import { requestSlotsOf } from '../rpc/call.js'
import { callsInServiceOf } from '../rpc/serve-call-stream.js'
import type { PeerLeaveReason } from './public-types.js'

/** A link whose offers, answers and candidates travel outside it (a WebRtcLink). */
export type SignalledLink = Link & { acceptSignal(signal: RtcSignal): Promise<void> }

export interface PeerLink {
  readonly peerId: string
  /** One connection attempt; both sides name it the same, so stale signals can be told apart. */
  readonly session: string
  readonly link: SignalledLink
  /** The multiplexer session's connection, once the data channel opened. */
  connection?: Connection
  /** The session's handshake finished and the host was told the peer joined. */
  joined: boolean
  /** When the link last carried a stream (idle on-demand links close). */
  lastUsedAt: number
}

/** What the link table tells its owner (the mesh) and asks it. */
export interface LinkTableHost {
  /** The session to `peerId` is ready: the peer joined. */
  joined(peerId: string): void
  /** A joined peer's link ended (also when it closed for being idle). */
  left(peerId: string, reason: PeerLeaveReason): void
  /** A link, joined or still connecting, was lost and not replaced by a newer one. */
  lost(peerId: string): void
  /** Whether an idle on-demand link to `peerId` must stay open all the same. */
  keepsIdleLink(peerId: string): boolean
  /** A link could not be started (TOO_MANY_LINKS, or the transport threw: LINK_FAILED). */
  report(error: MeshscopeError): void
}

export interface LinkTableOptions {
  selfId: string
  /** Creates the transport for one attempt (`session`); its signals are the caller's to carry. */
  createLink(peerId: string, session: string, initiator: boolean): SignalledLink
  /** Serves the requests peers open on their connections. */
  router: Messaging
  heartbeatIntervalMs: number
  peerTimeoutMs: number
  exposeErrorStacks: boolean
  /** What each peer may make this one hold (`MeshJoinOptions.limits`). */
  limits: PeerLimits
  /** What all peers together may make this one hold (`MeshJoinOptions.maxInboundBytes`). */
  inboundPool?: SharedInboundBudget
  /** Delay before re-forming a lost link, growing per peer while attempts keep failing. */
  retryBackoff?: BackoffOptions
  /** Links open or connecting at once (`MeshJoinOptions.maxLinks`); a new one past it is refused. */
  maxLinks: number
}

/** The default retry delay: 500 ms doubling to 10 s, with jitter. */
const RETRY_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 10_000 }
/** How often idle on-demand links are looked for. */
const IDLE_SWEEP_MS = 2_000

export class LinkTable {
  #links = new Map<string, PeerLink>()
  /** Every link started here whose close event has not fired yet, listed or not (detached, closing for being idle). */
  readonly #unclosed = new Set<Link>()
  #retryTimers = new Map<string, ReturnType<typeof setTimeout>>()
  #retryBackoffs = new Map<string, Backoff>()
  /** Callers waiting for an on-demand link to open. */
  #linkWaiters = new Map<string, Array<(connection: Connection | MeshscopeError | undefined) => void>>()
  /** Set by `enableOnDemand`: links to any peer may be opened for a caller, and close when idle. */
  #idleLinkMs?: number
  #idleSweep?: ReturnType<typeof setInterval>
  #open = true

  constructor(
    private readonly options: LinkTableOptions,
    private readonly host: LinkTableHost,
  ) {}

  /** Ids of the peers whose link is open (joined), sorted. */
  get peers(): string[] {
    return [...this.#links.values()]
      .filter((entry) => entry.joined)
      .map((entry) => entry.peerId)
      .sort()
  }

  /** The link to `peerId`, open or still connecting. */
  get(peerId: string): PeerLink | undefined {
    return this.#links.get(peerId)
  }

  isJoined(peerId: string): boolean {
    return this.#links.get(peerId)?.joined === true
  }

  /** The connection to a joined peer. */
  connectionTo(peerId: string): Connection | undefined {
    const entry = this.#links.get(peerId)
    return entry?.joined ? entry.connection : undefined
  }

  /** Links may be opened for a send or call (`connect`) and close once unused for `idleLinkMs`. */
  enableOnDemand(idleLinkMs: number): void {
    this.#idleLinkMs = idleLinkMs
    clearInterval(this.#idleSweep)
    this.#idleSweep = setInterval(() => {
      for (const peerId of [...this.#links.keys()]) this.closeIfIdle(peerId)
    }, IDLE_SWEEP_MS)
  }

  /** Whether `close` was called: no link starts and every wait for one settles at once. */
  get closed(): boolean {
    return !this.#open
  }

  /** Whether a link to `peerId` may be started: it has one already (which a new attempt replaces), or there is room for one more. */
  hasRoomFor(peerId: string): boolean {
    return this.#links.has(peerId) || this.#links.size < this.options.maxLinks
  }

  /**
   * Starts the attempt `session` to `peerId` (the initiator creates the offer) and lists it. Throws
   * TOO_MANY_LINKS when there is no room (`hasRoomFor`), or what creating the transport threw.
   */
  start(peerId: string, session: string, initiator: boolean): PeerLink {
    if (!this.hasRoomFor(peerId)) throw this.#tooManyLinks(peerId)
    const link = this.options.createLink(peerId, session, initiator)
    const entry: PeerLink = { peerId, session, link, joined: false, lastUsedAt: Date.now() }
    this.#links.set(peerId, entry)
    this.#unclosed.add(link)
    link.events.on('close', (info) => {
      this.#unclosed.delete(link)
      // Before the session exists the link's own close is the news; after, the session reports it.
      if (!entry.connection) this.detach(entry, leaveReasonOfLink(info))
    })
    if (link.state === 'open') this.#startSession(entry, initiator)
    else link.events.on('open', () => this.#startSession(entry, initiator))
    return entry
  }

  /**
   * Starts a link to `peerId` as the initiator, unless one is open or opening. An attempt that cannot
   * start (no room: TOO_MANY_LINKS; the transport threw: LINK_FAILED) is reported, and lost a moment
   * later as a failed attempt would be (the topology retries or forgets the peer): never thrown into
   * the topology's loops.
   */
  ensure(peerId: string): void {
    if (!this.#open || peerId === this.options.selfId || this.#links.has(peerId)) return
    try {
      this.start(peerId, randomBase64Url(12), true)
    } catch (error) {
      this.host.report(asLinkError(peerId, error))
      queueMicrotask(() => {
        if (!this.#open || this.#links.has(peerId)) return
        this.#settleWaiters(peerId, undefined)
        this.host.lost(peerId)
      })
    }
  }

  /**
   * For a send or call to a peer without a link: opens one and resolves with its connection once
   * it is ready, or with undefined when it fails, the mesh closes, or links do not open on demand.
   */
  connect(peerId: string): Promise<Connection | undefined> {
    if (this.#idleLinkMs === undefined || !this.#open || peerId === this.options.selfId) return Promise.resolve(undefined)
    // The caller learns why there is no link, rather than a bare "not connected".
    if (!this.hasRoomFor(peerId)) return Promise.reject(this.#tooManyLinks(peerId))
    this.ensure(peerId)
    return new Promise((resolve, reject) => {
      let waiters = this.#linkWaiters.get(peerId)
      if (!waiters) this.#linkWaiters.set(peerId, (waiters = []))
      waiters.push((result) => (result instanceof MeshscopeError ? reject(result) : resolve(result)))
    })
  }

  /**
   * Resolves with the connection once a link to `peerId` joins, or with undefined when an attempt
   * is lost, the peer leaves the room (`abandon`) or the mesh closes. Starts nothing (the topology
   * forms links; see forming-link.ts).
   */
  waitForLink(peerId: string): Promise<Connection | undefined> {
    const joined = this.connectionTo(peerId)
    if (joined || !this.#open) return Promise.resolve(joined)
    return new Promise((resolve) => {
      let waiters = this.#linkWaiters.get(peerId)
      if (!waiters) this.#linkWaiters.set(peerId, (waiters = []))
      // A refused attempt (PEER_BUSY) is no link, as for a lost one: the caller's own timeout decides.
      waiters.push((result) => resolve(result instanceof MeshscopeError ? undefined : result))
    })
  }

  #tooManyLinks(peerId: string): MeshscopeError {
    return new MeshscopeError('TOO_MANY_LINKS', `no link to ${peerId}: this peer has ${this.#links.size} links open or connecting, its maxLinks`)
  }

  /** Removes a link (announcing the leave if it had joined) and, unless replaced, reports it lost. */
  detach(entry: PeerLink, reason: PeerLeaveReason, message: string = reason): void {
    if (this.#links.get(entry.peerId) !== entry) return
    this.#links.delete(entry.peerId)
    if (entry.connection) entry.connection.session.abort(`peer left: ${message}`)
    entry.link.close(message)
    if (!this.#open) return
    if (entry.joined) this.host.left(entry.peerId, reason)
    if (reason === 'replaced') return
    this.#settleWaiters(entry.peerId, undefined)
    this.host.lost(entry.peerId)
  }

  /**
   * The peer refused our attempt `entry` (a signed refusal: it has `maxLinks` links). The attempt
   * ends as a failed one does, but what waits for the link (`connect`) fails with PEER_BUSY.
   */
  refusedBy(entry: PeerLink): void {
    if (this.#links.get(entry.peerId) !== entry || entry.joined) return
    this.#settleWaiters(entry.peerId, new MeshscopeError('PEER_BUSY', `peer ${entry.peerId} refused a link: it has as many links as its maxLinks`))
    this.detach(entry, 'failed', 'refused: the peer has as many links as its maxLinks')
  }

  /** Ends the link to `peerId`, if any (a peer that misbehaved). */
  disconnect(peerId: string, reason: PeerLeaveReason, message: string): void {
    const entry = this.#links.get(peerId)
    if (entry) this.detach(entry, reason, message)
  }

  /** The peer left the room: no retry, and an attempt still connecting is abandoned (an open link stays). */
  abandon(peerId: string): void {
    this.cancelRetry(peerId)
    const entry = this.#links.get(peerId)
    if (entry && !entry.joined) this.detach(entry, 'closed')
    if (!entry?.joined) this.#settleWaiters(peerId, undefined)
  }

  /** Closes an on-demand link the host does not keep once no stream has used it for `idleLinkMs`. */
  closeIfIdle(peerId: string): void {
    const entry = this.#links.get(peerId)
    if (!entry || this.#idleLinkMs === undefined || !entry.joined || this.host.keepsIdleLink(peerId)) return
    const session = entry.connection?.session
    // Calls travel on the call stream, which lives as long as the session: calls in flight either way count instead.
    const busy =
      session !== undefined &&
      session.streamCount - session.streamCountOf('calls') + requestSlotsOf(entry.connection!).inFlight + callsInServiceOf(entry.connection!) > 0
    if (busy) {
      entry.lastUsedAt = Date.now()
      return
    }
    if (Date.now() - entry.lastUsedAt < this.#idleLinkMs) return
    // A graceful close: the peer sees a goodbye, which tells its SCAMP node nothing false.
    this.#links.delete(peerId)
    this.host.left(peerId, 'closed')
    void session?.close()
  }

  /** Calls `retry` after this peer's next backoff delay, unless a retry is already planned. */
  scheduleRetry(peerId: string, retry: () => void): void {
    if (!this.#open || this.#retryTimers.has(peerId)) return
    let backoff = this.#retryBackoffs.get(peerId)
    if (!backoff) this.#retryBackoffs.set(peerId, (backoff = new Backoff(this.options.retryBackoff ?? RETRY_BACKOFF)))
    const timer = setTimeout(() => {
      this.#retryTimers.delete(peerId)
      retry()
    }, backoff.nextDelayMs())
    this.#retryTimers.set(peerId, timer)
  }

  isRetrying(peerId: string): boolean {
    return this.#retryTimers.has(peerId)
  }

  /** Forgets a planned retry and the peer's backoff. */
  cancelRetry(peerId: string): void {
    clearTimeout(this.#retryTimers.get(peerId))
    this.#retryTimers.delete(peerId)
    this.#retryBackoffs.delete(peerId)
  }

  /**
   * Closes every link: a joined peer gets a GOAWAY (its session then closes the link), an attempt is
   * dropped. Resolves once all are closed: after `graceMs` the links still flushing are aborted, so
   * when this resolves every connection is closed (wrtc can crash if the process exits with one
   * open). No leave is announced. Idempotent.
   */
  async close(graceMs: number): Promise<void> {
    if (!this.#open) return
    this.#open = false
    clearInterval(this.#idleSweep)
    for (const timer of this.#retryTimers.values()) clearTimeout(timer)
    this.#retryTimers.clear()
    for (const peerId of [...this.#linkWaiters.keys()]) this.#settleWaiters(peerId, undefined)
    // Every link still closing counts, also those already detached or closing for being idle.
    const closed = [...this.#unclosed].map((link) => new Promise<void>((resolve) => link.events.on('close', () => resolve())))
    for (const entry of this.#links.values()) {
      if (entry.connection) void entry.connection.session.close()
      else entry.link.close('mesh closed')
    }
    let graceTimer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([Promise.all(closed), new Promise((resolve) => (graceTimer = setTimeout(resolve, graceMs)))])
    clearTimeout(graceTimer)
    for (const link of [...this.#unclosed]) link.abort('mesh closed')
    this.#links.clear()
  }

  /** The data channel is open: run the peer's stack on it; the peer joins when the handshake completes. */
  #startSession(entry: PeerLink, initiator: boolean): void {
    if (this.#links.get(entry.peerId) !== entry || !this.#open) return
    const { router, heartbeatIntervalMs, peerTimeoutMs, exposeErrorStacks, limits } = this.options
    const { session, connection } = createPeerStack(entry.link, {
      initiator,
      peerId: entry.peerId,
      muxConfig: { ...limits.mux, keepaliveIntervalMs: heartbeatIntervalMs, idleTimeoutMs: peerTimeoutMs },
      codecLimits: limits.codec,
      channelLimits: limits.channels,
      ...(limits.objects ? { objectLimits: limits.objects } : {}),
      messaging: router,
      sendErrorStacks: exposeErrorStacks,
      ...(this.options.inboundPool ? { inboundPool: this.options.inboundPool } : {}),
    })
    entry.connection = connection
    session.events.on('stream', () => {
      entry.lastUsedAt = Date.now()
    })
    session.events.on('close', (info) => this.detach(entry, leaveReasonOfSession(info)))
    session.ready.then(
      () => {
        if (this.#links.get(entry.peerId) !== entry || !this.#open) return
        entry.joined = true
        this.#retryBackoffs.delete(entry.peerId)
        this.#settleWaiters(entry.peerId, connection)
        this.host.joined(entry.peerId)
      },
      () => {}, // the session's close event reports why
    )
  }

  #settleWaiters(peerId: string, connection: Connection | MeshscopeError | undefined): void {
    const waiters = this.#linkWaiters.get(peerId)
    if (!waiters) return
    this.#linkWaiters.delete(peerId)
    for (const settle of waiters) settle(connection)
  }
}

function leaveReasonOfLink(info: LinkCloseInfo): PeerLeaveReason {
  return info.reason === 'failed' ? 'failed' : info.reason === 'timeout' ? 'timeout' : 'closed'
}

function leaveReasonOfSession(info: MuxCloseInfo): PeerLeaveReason {
  switch (info.reason) {
    case 'goaway':
      return 'goodbye'
    case 'timeout':
      return 'timeout'
    case 'protocol-error':
    case 'not-reading': // it stopped reading what it made this side send: cut off, as a failure
      return 'failed'
    default:
      return info.link ? leaveReasonOfLink(info.link) : 'closed'
  }
}

/** What starting a link threw, as the error the host reports. */
export function asLinkError(peerId: string, error: unknown): MeshscopeError {
  if (error instanceof MeshscopeError) return error
  return new MeshscopeError('LINK_FAILED', `a link to ${peerId} could not be started: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  })
}
