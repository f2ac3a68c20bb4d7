/**
 * A multiplexer session: many streams over one Link (two data channels per peer pair, its lanes). One
 * state machine (handshaking → open → closing → closed, `MuxSessionState`) and the frame handling it
 * drives, the bulk-lane hold and early port claims included; a stream's own states are in stream.ts,
 * the lanes' writers in lane-writers.ts, the budgets in their own files.
 *
 * - Handshake: each side's first frame is HELLO (version, its per-stream window, its item limit).
 *   Nothing else is written before the peer's HELLO arrives; another version fails the session.
 * - Stream ids: the initiator (the mesh's lower id) uses odd ids, the other side even ones, so both
 *   can open streams without coordination. Ids only grow; frames for an id that is already gone are
 *   ignored, frames for an id never opened reset it.
 * - Lanes (lanes.ts): the link has a latency lane and a bulk lane. A stream's DATA and CLOSE travel
 *   on the lane its OPEN named (`openStream(…, { lane })`), every other frame on the latency lane;
 *   bulk-lane frames that overtake their stream's OPEN are held (that stream's only, charged to the
 *   inbound budget) until it arrives.
 * - Scheduling: one writer per lane (lane-writers.ts): control frames first on the latency lane, then
 *   one chunk per ready stream of the lane in turn, packed into batches; a small message never waits
 *   behind the bulk lane's buffer, and no buffer grows without bound.
 * - Liveness: a PING every `keepaliveIntervalMs`; nothing heard for `idleTimeoutMs` fails the session.
 *   When the session fails or the link dies, every stream fails with DISCONNECTED and every pending
 *   promise settles.
 * - Budgets: what the peer can make this side hold is bounded by `maxInboundBytes` (inbound-budget.ts:
 *   OPENs that do not fit are reset with tooManyStreams, credit is withheld) and by
 *   `maxQueuedControlFrames` (control-queue.ts: the peer provokes frames faster than it reads them).
 */
import { MeshscopeError } from '../errors.js'
import type { Link, LinkCloseInfo, LinkLane } from '../transport/link.js'
import { Emitter } from '../util/emitter.js'
import { resolveMuxConfig, type MuxConfig } from './config.js'
import { splitBatch } from './batch.js'
import { ControlQueue } from './control-queue.js'
import { InboundBudget } from './inbound-budget.js'
import { LatencyTraffic } from './latency-traffic.js'
import type { SharedInboundBudget } from './shared-budget.js'
import {
  FrameType,
  MIN_MUX_VERSION,
  MUX_VERSION,
  encodeFrame,
  parseFrame,
  type CloseReasonName,
  type Frame,
  type StreamLane,
  type StreamPurposeName,
} from './frame.js'
import { LaneWriters } from './lane-writers.js'
import { allowedOnBulkLane, BulkLaneHold, type HeldBulkFrame } from './lanes.js'
import { MuxStream, type StreamHost } from './stream.js'

export type MuxSessionState = 'handshaking' | 'open' | 'closing' | 'closed'

export interface MuxCloseInfo {
  /**
   * `closed`: close() or abort() here; `goaway`: the peer closed; `timeout`: nothing heard for
   * `idleTimeoutMs`; `disconnected`: the link closed (see `link`); `protocol-error`: the peer broke the protocol;
   * `not-reading`: the peer provoked more than `maxQueuedControlFrames` control frames without reading them.
   */
  reason: 'closed' | 'goaway' | 'timeout' | 'disconnected' | 'protocol-error' | 'not-reading'
  message: string
  /** Why the link closed, when that ended the session. */
  link?: LinkCloseInfo
}

export type MuxSessionEvents = {
  /** The peer opened a request stream or a call stream (`stream.purpose`). */
  stream: [stream: MuxStream]
  close: [info: MuxCloseInfo]
}

/** What a session holds for its peer now (`MuxSession.stats`). */
export interface MuxSessionStats {
  /** Streams open, either side. */
  streams: number
  /** Memory retained by received chunks not yet handed to the application (unread or under assembly). */
  inboundBytes: number
  /** The part of `inboundBytes` in messages under assembly. */
  assemblyBytes: number
  /** Credit granted to the peer and not yet used: what it may still send without asking. */
  grantedBytes: number
  /** Control frames waiting for the link. */
  controlQueued: number
  /** Encoded bytes of items from the peer waiting in received channel buffers (they count in the inbound budget). */
  channelBytes: number
  /** Encoded bytes of the peer's requests in service (they count in the inbound budget). */
  servingBytes: number
}

export interface MuxSessionOptions {
  /** The initiating side uses odd stream ids. Exactly one side of a link must be the initiator. */
  initiator: boolean
  config?: Partial<MuxConfig>
  /** The whole mesh's budget, which this session's inbound budget also counts against (shared-budget.ts). */
  pool?: SharedInboundBudget
}

export class MuxSession {
  readonly events = new Emitter<MuxSessionEvents>()
  readonly config: MuxConfig
  /** Resolves when the handshake is done; rejects if the session ends first. */
  readonly ready: Promise<void>
  #state: MuxSessionState = 'handshaking'
  #streams = new Map<number, MuxStream>()
  #nextLocalId: number
  #highestRemoteId = 0
  #remoteStreamCount = 0
  #unclaimed = new Map<number, ReturnType<typeof setTimeout>>()
  /** Port streams claimed before their OPEN arrived (a value on the bulk lane overtook it), waiting for it. */
  #claimedEarly = new Map<number, ReturnType<typeof setTimeout>>()
  #control: ControlQueue
  #budget: InboundBudget
  /** True while the peer's frames, or a timer the peer set off, are handled: control frames queued then are the peer's doing. */
  #handlingPeerFrames = false
  /** The writers of the two lanes (lane-writers.ts). */
  #writers: LaneWriters
  #remoteWindowBytes = 0
  #remoteMaxItemBytes = 0
  /** Bulk-lane frames that arrived before their stream's OPEN (lanes.ts). */
  #held: BulkLaneHold
  /** Stream ids whose early bulk-lane frames did not fit in the inbound budget: dropped, and the stream refused when its OPEN comes. */
  #refusedEarly = new Set<number>()
  #lastHeardAt = Date.now()
  #keepaliveTimer?: ReturnType<typeof setInterval>
  #closeInfo?: MuxCloseInfo
  #resolveReady!: () => void
  #rejectReady!: (error: unknown) => void
  #host: StreamHost

  constructor(
    private readonly link: Link,
    options: MuxSessionOptions,
  ) {
    this.config = resolveMuxConfig(options.config)
    this.#control = new ControlQueue()
    this.#writers = new LaneWriters(
      {
        link,
        control: this.#control,
        canWrite: () => this.#state === 'open' || this.#state === 'closing',
        isClosed: () => this.#state === 'closed',
        linkRefused: (error) =>
          this.#end({ reason: 'disconnected', message: `the link refused a frame: ${error instanceof Error ? error.message : String(error)}` }),
      },
      this.config.maxFrameBytes,
    )
    this.#budget = new InboundBudget(this.config.maxInboundBytes, options.pool)
    // The peer may be ahead by one window per stream it may still open (lanes.ts).
    this.#held = new BulkLaneHold(this.config.initialWindowBytes, () => this.config.maxStreams - this.#remoteStreamCount - this.#refusedEarly.size)
    this.#nextLocalId = options.initiator ? 1 : 2
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    this.ready.catch(() => {})
    const session = this
    this.#host = {
      config: this.config,
      get remoteWindowBytes() {
        return session.#remoteWindowBytes
      },
      get remoteMaxItemBytes() {
        return session.#remoteMaxItemBytes
      },
      budget: this.#budget,
      latencyTraffic: new LatencyTraffic(),
      sendControl: (frame) => this.#sendControl(frame),
      markReady: (stream) => this.#markReady(stream),
      release: (stream) => this.#release(stream),
    }
    link.events.on('message', (bytes, lane) => this.#onLinkMessage(bytes, lane))
    link.events.on('close', (info: LinkCloseInfo) => this.#end({ reason: 'disconnected', message: `the link closed: ${info.message}`, link: info }))
    if (link.state === 'closed') {
      queueMicrotask(() => this.#end({ reason: 'disconnected', message: 'the link was already closed' }))
      return
    }
    void link
      .send(
        encodeFrame({ type: 'hello', version: MUX_VERSION, initialWindowBytes: this.config.initialWindowBytes, maxItemBytes: this.config.maxItemBytes }),
        'latency',
      )
      .catch(() => {})
    this.#keepaliveTimer = setInterval(() => this.#keepalive(), this.config.keepaliveIntervalMs)
  }

  get state(): MuxSessionState {
    return this.#state
  }

  /** Why the session ended (set before its streams fail, so their callers can read it); undefined while it runs. */
  get closeInfo(): MuxCloseInfo | undefined {
    return this.#closeInfo
  }

  /** Streams currently open (either side). */
  get streamCount(): number {
    return this.#streams.size
  }

  /** Streams currently open (either side) opened for `purpose` (tests: a peer's call stream lives as long as the session). */
  streamCountOf(purpose: StreamPurposeName): number {
    let count = 0
    for (const stream of this.#streams.values()) if (stream.purpose === purpose) count++
    return count
  }

  /** What this session holds for its peer now: streams, inbound memory, queued control frames. */
  stats(): MuxSessionStats {
    const budget = this.#budget.stats()
    return {
      streams: this.#streams.size,
      inboundBytes: budget.heldBytes,
      assemblyBytes: budget.assemblyBytes,
      grantedBytes: budget.grantedBytes,
      controlQueued: this.#control.length,
      channelBytes: budget.channelBytes,
      servingBytes: budget.servingBytes,
    }
  }

  /** The peer's inbound budget, which the layers above count what they hold for the peer in (inbound-budget.ts). */
  get inboundBudget(): InboundBudget {
    return this.#budget
  }

  /** When a frame last arrived from the peer (ms since epoch). */
  get lastHeardAt(): number {
    return this.#lastHeardAt
  }

  /**
   * Opens a stream to the peer. `request` streams reach the peer's `stream` event; `port` streams wait
   * there until the value that carries their id claims them (`claimStream`). `lane` (default
   * `latency`): the link lane its messages travel on, both ways — `bulk` for a stream that carries
   * bulk data, so it never sits ahead of other streams' small messages (lanes.ts).
   */
  openStream(purpose: StreamPurposeName = 'request', options: { maxItemBytes?: number; lane?: StreamLane } = {}): MuxStream {
    if (this.#state === 'closing' || this.#state === 'closed') throw this.#disconnectedError()
    const id = this.#nextLocalId
    if (id > 0xfffffffd) throw new MeshscopeError('MUX_PROTOCOL_ERROR', 'this session has used up its stream ids')
    this.#nextLocalId += 2
    const stream = new MuxStream(id, purpose, this.#host, { ...options, local: true })
    this.#streams.set(id, stream)
    this.#sendControl(stream.lane === 'bulk' ? { type: 'open', streamId: id, purpose, lane: 'bulk' } : { type: 'open', streamId: id, purpose })
    if (this.#state === 'open') stream.grantInitialCredit(this.#remoteWindowBytes)
    return stream
  }

  /**
   * Takes a port stream the peer opened (its id arrived inside a value). Undefined if unknown or
   * already claimed. A value on the bulk lane can arrive before the OPEN of a port inside it (which
   * travels on the latency lane): an id the peer may still open (past the highest it opened) is
   * taken at once, admitted like an OPEN, and waits up to `unclaimedStreamTimeoutMs` for its OPEN,
   * which fixes its lane; it sends nothing before. Its OPEN not coming in time fails it (BAD_PORT).
   */
  claimStream(id: number): MuxStream | undefined {
    const timer = this.#unclaimed.get(id)
    if (timer === undefined) return this.#claimEarly(id)
    clearTimeout(timer)
    this.#unclaimed.delete(id)
    return this.#streams.get(id)
  }

  /**
   * Resets a port stream the peer opened and nothing claimed yet (the value carrying it failed to
   * decode here), instead of letting it wait `unclaimedStreamTimeoutMs`. Returns false, doing
   * nothing, for an id not waiting to be claimed.
   */
  resetUnclaimed(id: number, message: string): boolean {
    const timer = this.#unclaimed.get(id)
    if (timer === undefined) return false
    clearTimeout(timer)
    this.#unclaimed.delete(id)
    const stream = this.#streams.get(id)
    // The peer's value provoked this RESET, as its opening would have provoked the timer's.
    if (stream) this.#provokedBy(() => stream.reset('unclaimed', message))
    return true
  }

  #claimEarly(id: number): MuxStream | undefined {
    if (this.#state !== 'open' || this.#isLocalId(id) || id <= this.#highestRemoteId || this.#streams.has(id) || id > 0xfffffffe) return undefined
    if (this.#remoteStreamCount >= this.config.maxStreams || this.#budget.openRefusal(this.config.initialWindowBytes)) return undefined
    const stream = new MuxStream(id, 'port', this.#host)
    this.#streams.set(id, stream)
    this.#remoteStreamCount++
    this.#claimedEarly.set(
      id,
      setTimeout(() => {
        this.#claimedEarly.delete(id)
        stream.fail('reset', new MeshscopeError('BAD_PORT', `the OPEN of port stream ${id} did not come within ${this.config.unclaimedStreamTimeoutMs} ms`))
      }, this.config.unclaimedStreamTimeoutMs),
    )
    return stream
  }

  /** The OPEN of a port stream claimed early came: it learns its lane and may send. */
  #openClaimedEarly(id: number, purpose: StreamPurposeName, lane: StreamLane): void {
    clearTimeout(this.#claimedEarly.get(id))
    this.#claimedEarly.delete(id)
    const stream = this.#streams.get(id)
    if (!stream) return // failed meanwhile
    if (purpose !== 'port') return this.#protocolError(`open of stream ${id} as a request, which a value carried as a port`)
    stream.lane = lane
    stream.grantInitialCredit(this.#remoteWindowBytes)
  }

  /** Ends the session gracefully: GOAWAY, then the link closes after what is queued. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return
    this.#state = 'closing'
    this.#control.push({ type: 'goaway', reason: 'closed' })
    this.#pump()
    const closed = new Promise<void>((resolve) => this.events.once('close', () => resolve()))
    // Let the GOAWAY and queued control frames go out, then close the link (which flushes).
    setTimeout(() => {
      this.link.close('mux session closed')
      this.#end({ reason: 'closed', message: 'the session was closed' })
    }, 0)
    await closed
  }

  /** Fails the session now: every stream fails with DISCONNECTED and the link is closed. */
  abort(message = 'the session was aborted'): void {
    this.#end({ reason: 'closed', message })
  }

  // ── incoming ───────────────────────────────────────────────────────────────

  #onLinkMessage(bytes: Uint8Array, lane: LinkLane = 'latency'): void {
    if (this.#state === 'closed') return
    this.#provokedBy(() => this.#onLinkMessageFrames(bytes, lane))
  }

  /** Runs `action` with the control frames it queues counted as provoked by the peer (maxQueuedControlFrames). */
  #provokedBy(action: () => void): void {
    const was = this.#handlingPeerFrames
    this.#handlingPeerFrames = true
    try {
      action()
    } finally {
      this.#handlingPeerFrames = was
    }
  }

  #onLinkMessageFrames(bytes: Uint8Array, lane: LinkLane): void {
    this.#lastHeardAt = Date.now()
    // A batch on the bulk lane is one even while handshaking: its frames are held until the HELLO has come.
    if (bytes[0] === FrameType.batch && (this.#state !== 'handshaking' || lane === 'bulk')) {
      if (bytes.byteLength > this.config.maxFrameBytes)
        return this.#protocolError(`a batch of ${bytes.byteLength} bytes is over the ${this.config.maxFrameBytes}-byte limit`)
      const split = splitBatch(bytes)
      if (!split.ok) return this.#protocolError(split.reason)
      for (const frameBytes of split.frames) {
        this.#onFrameBytes(frameBytes, lane)
        if ((this.#state as MuxSessionState) === 'closed') return // a frame in the batch ended the session
      }
      return
    }
    this.#onFrameBytes(bytes, lane)
  }

  #onFrameBytes(bytes: Uint8Array, lane: LinkLane): void {
    const parsed = parseFrame(bytes, this.config.maxFrameBytes)
    if (!parsed.ok) return this.#protocolError(parsed.reason)
    const frame = parsed.frame
    if (lane === 'bulk') return this.#onBulkLaneFrame(frame, bytes.byteLength)
    if (this.#state === 'handshaking') {
      if (frame.type !== 'hello') return this.#protocolError(`expected hello, got ${frame.type}`)
      return this.#onHello(frame)
    }
    switch (frame.type) {
      case 'hello':
        return this.#protocolError('a second hello')
      case 'ping':
        this.#sendControl({ type: 'pong', payload: frame.payload })
        return
      case 'pong':
        return
      case 'goaway':
        return this.#end({ reason: 'goaway', message: `the peer closed the session (${frame.reason})` })
      case 'open':
        return this.#onOpen(frame.streamId, frame.purpose, frame.lane ?? 'latency')
      default:
        return this.#onStreamFrame(frame, 'latency')
    }
  }

  /**
   * A frame from the bulk lane: a bulk stream's DATA or CLOSE, held while its stream's OPEN (or the
   * HELLO) has not arrived on the latency lane. Only that stream's frames wait: order is per stream.
   */
  #onBulkLaneFrame(frame: Frame, bytes: number): void {
    if (!allowedOnBulkLane(frame)) return this.#protocolError(`a ${frame.type} frame on the bulk lane`)
    const id = frame.streamId
    if (!this.#waitsForLatencyLane(id)) return this.#onStreamFrame(frame, 'bulk')
    if (this.#refusedEarly.has(id)) return // refused already: its OPEN will be reset
    const outcome = this.#held.check(frame, bytes)
    if (!outcome.ok) return this.#protocolError(outcome.reason)
    if (!this.#budget.mayHold(outcome.bytes)) {
      // Like an OPEN that does not fit: the stream is refused (tooManyStreams) when its OPEN comes.
      const early = this.#held.take(id)
      if (early) this.#budget.change(-early.bytes, 0, 0)
      this.#refusedEarly.add(id)
      return
    }
    this.#held.hold(frame, outcome.bytes)
    this.#budget.change(outcome.bytes, 0, 0)
  }

  /** Whether a bulk-lane frame for `streamId` must wait: the handshake is not done, or the peer's OPEN of the stream may still be on its way. */
  #waitsForLatencyLane(streamId: number): boolean {
    return this.#state === 'handshaking' || (!this.#isLocalId(streamId) && streamId > this.#highestRemoteId)
  }

  /** Takes the frames held for `id` out of the hold and the budget. */
  #takeHeld(id: number): HeldBulkFrame[] | undefined {
    const early = this.#held.take(id)
    if (!early) return undefined
    this.#budget.change(-early.bytes, 0, 0)
    return early.frames
  }

  /** Handles, in order, the held frames of `frames`' stream. */
  #deliverHeld(frames: HeldBulkFrame[] | undefined): void {
    for (const frame of frames ?? []) {
      this.#onStreamFrame(frame, 'bulk')
      if ((this.#state as MuxSessionState) === 'closed') return
    }
  }

  /** Hands on the held frames of every stream id that no longer waits (after the HELLO, or an OPEN that skipped ids). */
  #releaseDue(): void {
    for (const id of [...this.#refusedEarly]) if (!this.#waitsForLatencyLane(id)) this.#refusedEarly.delete(id)
    if (this.#held.isEmpty) return
    for (const id of [...this.#held.ids]) {
      if (this.#waitsForLatencyLane(id)) continue
      this.#deliverHeld(this.#takeHeld(id))
      if ((this.#state as MuxSessionState) === 'closed') return
    }
  }

  #onHello(frame: Extract<Frame, { type: 'hello' }>): void {
    if (frame.version < MIN_MUX_VERSION || frame.version > MUX_VERSION) {
      const error = new MeshscopeError('MUX_VERSION_MISMATCH', `the peer speaks mux version ${frame.version}, this side ${MIN_MUX_VERSION}..${MUX_VERSION}`)
      return this.#end({ reason: 'protocol-error', message: error.message }, error)
    }
    if (frame.initialWindowBytes < 1024 || frame.maxItemBytes < 1) return this.#protocolError('hello advertises a window under 1 KiB or no item size')
    this.#remoteWindowBytes = frame.initialWindowBytes
    this.#remoteMaxItemBytes = frame.maxItemBytes
    this.#state = 'open'
    for (const stream of this.#streams.values()) stream.grantInitialCredit(this.#remoteWindowBytes)
    this.#resolveReady()
    this.#pump()
    this.#releaseDue()
  }

  #onOpen(id: number, purpose: StreamPurposeName, lane: StreamLane): void {
    if (this.#isLocalId(id) || id <= this.#highestRemoteId) return this.#protocolError(`open of stream ${id}, which the peer may not open now`)
    this.#highestRemoteId = id
    // Its frames that overtook it leave the budget before it is admitted (else its window would count them twice).
    const early = this.#takeHeld(id)
    const refusedEarly = this.#refusedEarly.delete(id)
    if (this.#claimedEarly.has(id)) this.#openClaimedEarly(id, purpose, lane)
    else this.#admitOpen(id, purpose, lane, refusedEarly)
    this.#deliverHeld(early) // to the stream, or ignored if it was refused
    this.#releaseDue()
  }

  #admitOpen(id: number, purpose: StreamPurposeName, lane: StreamLane, refusedEarly: boolean): void {
    if (this.#state !== 'open') return
    if (refusedEarly) {
      const message = 'its bulk-lane frames came before its OPEN and did not fit in the inbound budget'
      this.#sendControl({ type: 'reset', streamId: id, reason: 'tooManyStreams', message })
      return
    }
    if (this.#remoteStreamCount >= this.config.maxStreams) {
      this.#sendControl({ type: 'reset', streamId: id, reason: 'tooManyStreams', message: `at most ${this.config.maxStreams} streams` })
      return
    }
    // Its window is a reservation in the inbound budget: a stream that does not fit is refused like one too many.
    const refusal = this.#budget.openRefusal(this.config.initialWindowBytes)
    if (refusal) {
      this.#sendControl({ type: 'reset', streamId: id, reason: 'tooManyStreams', message: refusal })
      return
    }
    const stream = new MuxStream(id, purpose, this.#host, { lane })
    this.#streams.set(id, stream)
    this.#remoteStreamCount++
    stream.grantInitialCredit(this.#remoteWindowBytes)
    if (purpose !== 'port') {
      this.events.emit('stream', stream)
      return
    }
    // A port stream waits for the value that carries its id; nobody claiming it in time frees it.
    // That RESET is the peer's doing (it opened the stream), so it counts as provoked.
    this.#unclaimed.set(
      id,
      setTimeout(() => {
        this.#unclaimed.delete(id)
        this.#provokedBy(() => stream.reset('unclaimed', 'no received value claimed this stream'))
      }, this.config.unclaimedStreamTimeoutMs),
    )
  }

  /** A stream's frame from `lane`: its DATA and CLOSE must come on the stream's own lane. */
  #onStreamFrame(frame: Extract<Frame, { streamId: number }>, lane: LinkLane): void {
    const stream = this.#streams.get(frame.streamId)
    // A port stream claimed early: its own frames all come after its OPEN (the bulk lane's are held till then).
    if (stream && this.#claimedEarly.has(stream.id)) return this.#protocolError(`a ${frame.type} frame of stream ${stream.id} before its OPEN`)
    if (stream && (frame.type === 'data' || frame.type === 'close') && stream.lane !== lane)
      return this.#protocolError(`a ${frame.type} frame of ${stream.lane}-lane stream ${stream.id} on the ${lane} lane`)
    if (!stream) {
      // Gone already (a race with close or reset): ignore. Never opened: tell the peer.
      const known = this.#isLocalId(frame.streamId) ? frame.streamId < this.#nextLocalId : frame.streamId <= this.#highestRemoteId
      if (!known && frame.type !== 'reset') this.#sendControl({ type: 'reset', streamId: frame.streamId, reason: 'protocolError', message: 'no such stream' })
      return
    }
    switch (frame.type) {
      case 'data': {
        const violation = stream.onData(frame.payload, frame.fin)
        if (violation) stream.reset('protocolError', violation)
        return
      }
      case 'credit':
        return stream.onCredit(frame.increment)
      case 'close':
        return stream.onClose()
      case 'stop':
        return stream.onStop(frame.reason)
      case 'reset':
        return stream.fail('reset', resetError(frame.reason, frame.message))
      case 'open':
        return
    }
  }

  // ── outgoing ───────────────────────────────────────────────────────────────

  #sendControl(frame: Frame): void {
    if (this.#state === 'closed') return
    this.#control.push(frame, this.#handlingPeerFrames)
    if (this.#control.provokedLength > this.config.maxQueuedControlFrames) {
      const message = `more than ${this.config.maxQueuedControlFrames} control frames wait for the link: the peer does not read`
      return this.#end({ reason: 'not-reading', message }, new MeshscopeError('PEER_NOT_READING', message))
    }
    this.#pump()
  }

  #markReady(stream: MuxStream): void {
    if (stream.isReleased && !stream.hasWork) return
    if (this.#claimedEarly.has(stream.id)) return // its lane is not known yet: its OPEN grants its credit, and marks it then
    this.#writers.markReady(stream)
  }

  #pump(): void {
    this.#writers.pump()
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────

  #keepalive(): void {
    if (Date.now() - this.#lastHeardAt > this.config.idleTimeoutMs) {
      this.#end({ reason: 'timeout', message: `nothing heard from the peer for ${this.config.idleTimeoutMs} ms` })
      return
    }
    if (this.#state === 'open') this.#sendControl({ type: 'ping', payload: crypto.getRandomValues(new Uint8Array(8)) })
  }

  #release(stream: MuxStream): void {
    if (this.#streams.get(stream.id) !== stream) return
    this.#streams.delete(stream.id)
    this.#writers.forget(stream)
    if (!this.#isLocalId(stream.id)) this.#remoteStreamCount--
    const timer = this.#unclaimed.get(stream.id)
    if (timer !== undefined) {
      clearTimeout(timer)
      this.#unclaimed.delete(stream.id)
    }
    clearTimeout(this.#claimedEarly.get(stream.id))
    this.#claimedEarly.delete(stream.id)
  }

  #protocolError(reason: string): void {
    const error = new MeshscopeError('MUX_PROTOCOL_ERROR', `the peer broke the mux protocol: ${reason}`)
    // Tell the peer why before hanging up, when the link still takes frames.
    if (this.#state === 'open') void this.link.send(encodeFrame({ type: 'goaway', reason: 'protocolError' }), 'latency').catch(() => {})
    this.#end({ reason: 'protocol-error', message: error.message }, error)
  }

  #end(info: MuxCloseInfo, cause?: MeshscopeError): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#closeInfo = info
    clearInterval(this.#keepaliveTimer)
    for (const timer of this.#unclaimed.values()) clearTimeout(timer)
    this.#unclaimed.clear()
    for (const timer of this.#claimedEarly.values()) clearTimeout(timer)
    this.#claimedEarly.clear()
    this.#control.clear()
    this.#budget.change(-this.#held.bytes, 0, 0)
    this.#held.clear()
    this.#refusedEarly.clear()
    this.#writers.clear()
    const error = cause ?? this.#disconnectedError()
    this.#rejectReady(error)
    for (const stream of [...this.#streams.values()]) stream.fail('disconnected', error)
    this.#streams.clear()
    if (this.link.state !== 'closed') this.link.close(info.message)
    this.events.emit('close', info)
  }

  #disconnectedError(): MeshscopeError {
    const info = this.#closeInfo
    return new MeshscopeError('DISCONNECTED', info ? `the session ended: ${info.message}` : 'the session is closing')
  }

  #isLocalId(id: number): boolean {
    return (id % 2 === 1) === (this.#nextLocalId % 2 === 1)
  }
}

/**
 * The error a stream fails with when the peer resets it: `TOO_MANY_STREAMS` when the peer refused it
 * (too many streams, or its inbound budget is full), else `STREAM_RESET`; either way `cause` is the
 * reset reason (a CloseReasonName).
 */
function resetError(reason: CloseReasonName, message: string): MeshscopeError {
  const detail = `${reason}${message ? `: ${message}` : ''}`
  if (reason === 'tooManyStreams') return new MeshscopeError('TOO_MANY_STREAMS', `the peer refused the stream (${detail})`, { cause: reason })
  return new MeshscopeError('STREAM_RESET', `the peer reset the stream (${detail})`, { cause: reason })
}

export type { CloseReasonName }
