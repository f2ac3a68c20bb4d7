/**
 * One multiplexed stream: an ordered sequence of messages each way, over a shared session. One state
 * machine (the states per direction are below), with the receive-side budget accounting it drives.
 *
 * Sending: messages wait in a FIFO; the session's scheduler takes one chunk at a time (round-robin
 * across streams) while this stream has credit. A CLOSE goes out after the last queued message.
 * Receiving: chunks wait in a buffer bounded by the window this side granted; a message is
 * assembled only when the application asks for one (`receive`), and credit goes back as bytes are
 * taken out, so a slow reader slows only its own stream. An item over `maxItemBytes` fails that one
 * `receive` (or `send`) with ITEM_TOO_LARGE and the stream goes on.
 *
 * States, per direction:
 *   send:    open → closing (close() called, queue draining) → closed (CLOSE written)
 *            open/closing → stopped (peer sent STOP) | failed (reset, disconnected)
 *   receive: open → ended (CLOSE received) | stopped (we sent STOP) | failed
 */
import { MeshscopeError } from '../errors.js'
import { joinBytes } from '../util/bytes.js'
import type { MuxConfig } from './config.js'
import { BulkInFlightEstimator } from './bulk-inflight-estimator.js'
import { bulkInFlightLimit, creditReturnThreshold } from './bulk-pacing.js'
import { CHUNK_OVERHEAD_BYTES, ChunkRun, RUN_MAX_BYTES } from './chunk-run.js'
import { DATA_FRAME_CREDIT_BYTES, FRAME_HEADER_BYTES, type CloseReasonName, type Frame, type StreamLane, type StreamPurposeName } from './frame.js'
import { GrowingBytes } from './growing-bytes.js'
import type { BudgetedStream, InboundBudget } from './inbound-budget.js'
import type { LatencyTraffic } from './latency-traffic.js'

/** Why a stream's direction ended, as the other side reports it (remoc's close reasons). */
export type StreamEndReason = CloseReasonName | 'disconnected' | 'reset'

/** What a stream needs from its session. */
export interface StreamHost {
  readonly config: MuxConfig
  /** The peer's per-stream window, known once the handshake is done. */
  readonly remoteWindowBytes: number
  readonly remoteMaxItemBytes: number
  /** The session's inbound budget, which every stream's received bytes count against. */
  readonly budget: InboundBudget
  /** Latency-lane DATA on the session, either way: bulk streams hold back while it flows (latency-traffic.ts). */
  readonly latencyTraffic: LatencyTraffic
  sendControl(frame: Frame): void
  markReady(stream: MuxStream): void
  release(stream: MuxStream): void
}

/** A message waiting to be written: one or more parts, read (never copied) as its chunks go out. */
interface OutgoingMessage {
  parts: readonly Uint8Array[]
  /** The part the next chunk starts in, and where in it. */
  part: number
  offset: number
  /** Bytes not yet written, and in all. */
  remaining: number
  bytes: number
  resolve: () => void
  reject: (error: unknown) => void
}

/** What the scheduler takes from a stream: a control frame, or a chunk of a message as views of its parts. */
export type OutgoingFrame = Exclude<Frame, { type: 'data' }> | { type: 'data'; streamId: number; fin: boolean; parts: Uint8Array[] }

export { CHUNK_OVERHEAD_BYTES } from './chunk-run.js'

/**
 * A received chunk, or a piece taken from a run, on its way to the application: a view of its link
 * message (the bulk path), or copied bytes.
 */
interface Piece {
  bytes: Uint8Array | GrowingBytes
  fin: boolean
  /** The memory it keeps alive: CHUNK_OVERHEAD_BYTES plus the link message it is a view of, or its copy's. */
  retained: number
  /** The credit the peer spent on it (its bytes, plus DATA_FRAME_CREDIT_BYTES per frame): what goes back once it is taken. */
  credit: number
}

/** An unread chunk kept as a view of its link message, or a run of small chunks copied together. */
type IncomingEntry = Piece | ChunkRun

/**
 * A received chunk stays a view of its link message (the copy-free bulk path, docs/architecture.md:
 * a bulk chunk fills its message) only if it is at least this fraction of the message and at least
 * MIN_VIEW_BYTES; anything smaller is copied into the stream's run, so neither a padded batch nor a
 * view's own objects are kept alive by a few bytes. At most one chunk of a message is that large, so
 * a view counts the whole message and nothing is counted twice; a view retains at most 8/7 of its
 * bytes plus CHUNK_OVERHEAD_BYTES (≤ 3 % of MIN_VIEW_BYTES).
 */
const VIEW_MIN_FRACTION_OF_MESSAGE = 7 / 8
const MIN_VIEW_BYTES = 8 * 1024

interface Waiter {
  /** Whether the message is wanted as one Uint8Array (joined) or as the chunks it arrived in. */
  joined: boolean
  resolve: (message: Uint8Array | Uint8Array[] | null) => void
  reject: (error: unknown) => void
}

export class MuxStream implements BudgetedStream {
  #sendState: 'open' | 'closing' | 'closed' | 'stopped' | 'failed' = 'open'
  #recvState: 'open' | 'ended' | 'stopped' | 'failed' = 'open'
  #outgoing: OutgoingMessage[] = []
  #queuedBytes = 0
  #sendCredit = 0
  /** Credit spent and not yet given back by the peer: a bulk stream keeps it under its in-flight limit (bulk-pacing.ts). */
  #unreturnedCredit = 0
  /** A bulk stream's in-flight limit, following the link (made when the stream first sends on the bulk lane). */
  #pacing?: BulkInFlightEstimator
  /** Why this side can no longer send; the error is made when first needed (an Error's stack is not free, and a plain close needs none). */
  #sendEnd?: { reason: StreamEndReason; error: () => MeshscopeError }
  #incoming: IncomingEntry[] = []
  #incomingHead = 0
  #recvWindowLeft: number
  /** The window this side keeps granted: the initial one, doubled while the reader keeps up (see MuxConfig.maxWindowBytes). */
  #recvWindow: number
  #pendingCredit = 0
  #assembly: Uint8Array[] = []
  /** The copied small chunks at the end of the message under assembly, appended into one buffer. */
  #assemblyTail?: GrowingBytes
  #assemblyBytes = 0
  /** Memory retained by the chunks waiting in `#incoming` and `#assembly` (counted in the session's budget). */
  #heldBytes = 0
  #assemblyHeldBytes = 0
  #discarding = false
  #waiters: Waiter[] = []
  /** `readable()` callers waiting for something to receive. */
  #readableWaiters: Array<() => void> = []
  #recvError?: MeshscopeError
  #released = false
  #sendEndListeners: Array<(reason: StreamEndReason, error: () => MeshscopeError) => void> = []
  #maxItemBytes: number
  /** Opened by this side: its unused window is this side's own reservation, not the peer's (inbound-budget.ts). */
  readonly #local: boolean

  constructor(
    readonly id: number,
    readonly purpose: StreamPurposeName,
    private readonly host: StreamHost,
    options: { maxItemBytes?: number; local?: boolean; lane?: StreamLane } = {},
  ) {
    this.lane = options.lane ?? 'latency'
    this.#maxItemBytes = Math.min(options.maxItemBytes ?? host.config.maxItemBytes, host.config.maxItemBytes)
    this.#recvWindowLeft = host.config.initialWindowBytes
    this.#recvWindow = host.config.initialWindowBytes
    this.#local = options.local === true
    host.budget.change(0, 0, this.#recvWindowLeft, this.#local)
  }

  /**
   * The link lane this stream's DATA and CLOSE travel on, both ways (fixed by its OPEN; src/mux/lanes.ts).
   * Set by the session only: a port stream claimed before its OPEN arrived learns its lane from the OPEN.
   */
  lane: StreamLane

  /** The peer closed its side (CLOSE received): no more messages come, though some may wait unread. */
  get receiveEnded(): boolean {
    return this.#recvState === 'ended'
  }

  /**
   * Resolves once there is something to receive — a chunk arrived, or the receive side ended, failed
   * or stopped — without taking it: a reader that must ask a budget before it reads waits here
   * first, so an idle stream reserves nothing.
   */
  readable(): Promise<void> {
    if (this.#hasSomethingToReceive()) return Promise.resolve()
    return new Promise((resolve) => this.#readableWaiters.push(resolve))
  }

  #hasSomethingToReceive(): boolean {
    return this.#recvState !== 'open' || this.#incomingHead < this.#incoming.length || this.#recvError !== undefined
  }

  #wakeReadable(): void {
    if (this.#readableWaiters.length === 0 || !this.#hasSomethingToReceive()) return
    for (const resolve of this.#readableWaiters.splice(0)) resolve()
  }

  /** The receive window this side grants the peer now (it grows for a reader that keeps up). */
  get receiveWindow(): number {
    return this.#recvWindow
  }

  /** Largest item sent or accepted on this stream (never above the session's limit). */
  get maxItemBytes(): number {
    return this.#maxItemBytes
  }

  set maxItemBytes(bytes: number) {
    if (!Number.isInteger(bytes) || bytes < 0) throw new MeshscopeError('INVALID_ARGUMENT', 'maxItemBytes must be a non-negative integer')
    this.#maxItemBytes = Math.min(bytes, this.host.config.maxItemBytes)
  }

  // ── sending ────────────────────────────────────────────────────────────────

  /**
   * Queues one message: bytes, or parts sent as one message (a header before a body, without joining
   * them). The bytes are read as the chunks go out, not copied: they must not change until this
   * resolves. Resolves when the last chunk has been handed to the link. Rejects with ITEM_TOO_LARGE
   * (this message only), STREAM_CLOSED (the send side was closed, or the receiver stopped it: `reason`
   * says why), STREAM_RESET or DISCONNECTED.
   */
  send(message: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.#sendEnd) return Promise.reject(this.#sendEnd.error())
    if (this.#sendState !== 'open') return Promise.reject(new MeshscopeError('STREAM_CLOSED', 'this stream was closed for sending'))
    const parts = message instanceof Uint8Array ? [message] : message
    let bytes = 0
    for (const part of parts) bytes += part.byteLength
    const limit = this.#sendLimit()
    if (bytes > limit) {
      return Promise.reject(new MeshscopeError('ITEM_TOO_LARGE', `an item of ${bytes} bytes is over this stream's limit of ${limit}`))
    }
    return new Promise<void>((resolve, reject) => {
      this.#outgoing.push({ parts, part: 0, offset: 0, remaining: bytes, bytes, resolve, reject })
      this.#queuedBytes += bytes
      if (this.#outgoing.length === 1) this.host.markReady(this)
    })
  }

  /** Messages queued but not yet fully written. */
  get queuedMessages(): number {
    return this.#outgoing.length
  }

  /** Bytes of the queued messages not yet written. */
  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /** Half-closes: no more sends; a CLOSE follows the messages already queued. Idempotent. */
  close(): void {
    if (this.#sendState !== 'open') return
    this.#sendState = 'closing'
    this.host.markReady(this)
  }

  /** Calls `listener` once when this side can no longer send, with the reason (e.g. the receiver closed or dropped it) and a getter for the error. */
  onSendEnd(listener: (reason: StreamEndReason, error: () => MeshscopeError) => void): void {
    if (this.#sendEnd) listener(this.#sendEnd.reason, this.#sendEnd.error)
    else this.#sendEndListeners.push(listener)
  }

  /** Scheduler side: whether this stream has a frame to write now. */
  get hasWork(): boolean {
    if (this.#sendEnd) return false
    // A frame costs its payload plus DATA_FRAME_CREDIT_BYTES: an empty FIN needs the charge, a chunk at least one byte more.
    if (this.#outgoing.length > 0) {
      const credit = this.#usableCredit()
      return credit > DATA_FRAME_CREDIT_BYTES || (credit === DATA_FRAME_CREDIT_BYTES && this.#outgoing[0]!.remaining === 0)
    }
    return this.#sendState === 'closing'
  }

  /** The credit this stream may spend now: all of it, or for a bulk stream what its in-flight limit leaves (bulk-pacing.ts). */
  #usableCredit(): number {
    if (this.lane !== 'bulk') return this.#sendCredit
    const room = this.#bulkLimit() - this.#unreturnedCredit
    return Math.max(0, Math.min(this.#sendCredit, room))
  }

  /**
   * A bulk stream's in-flight limit now: the paced one while latency-lane DATA flowed within
   * `bulkAloneAfterMs`, else at least `bulkAloneInFlightBytes` (latency-traffic.ts); never past the
   * window as this side sees it (what it may still spend plus what is out).
   */
  #bulkLimit(): number {
    const config = this.host.config
    this.#pacing ??= new BulkInFlightEstimator(config.bulkInFlightBytes)
    const window = this.#sendCredit + this.#unreturnedCredit
    const paced = bulkInFlightLimit(this.#pacing.limit(Math.min(window, config.maxBulkInFlightBytes)), this.host.remoteWindowBytes)
    if (this.host.latencyTraffic.recent(performance.now(), config.bulkAloneAfterMs)) return paced
    return Math.max(paced, Math.min(config.bulkAloneInFlightBytes, window))
  }

  /** Diagnosis (tests, bench): a bulk stream's current in-flight limit, or undefined for a latency-lane stream or before it sent. */
  get bulkInFlightLimit(): number | undefined {
    if (this.lane !== 'bulk' || !this.#pacing) return undefined
    return this.#bulkLimit()
  }

  /** Scheduler side: the next frame of this stream (one chunk of at most `maxPayloadBytes`, or the CLOSE after the last message). */
  nextFrame(maxPayloadBytes = this.host.config.maxFrameBytes - FRAME_HEADER_BYTES): OutgoingFrame | undefined {
    if (this.#sendEnd) return undefined
    const message = this.#outgoing[0]
    if (!message) {
      if (this.#sendState !== 'closing') return undefined
      this.#sendState = 'closed'
      this.#endSend('closed', () => new MeshscopeError('STREAM_CLOSED', 'this stream was closed for sending'))
      return { type: 'close', streamId: this.id }
    }
    const credit = this.#usableCredit()
    if (credit < DATA_FRAME_CREDIT_BYTES) return undefined
    const size = Math.min(message.remaining, credit - DATA_FRAME_CREDIT_BYTES, maxPayloadBytes)
    if (size <= 0 && message.remaining > 0) return undefined
    // The chunk as views of the parts it spans (usually one).
    const parts: Uint8Array[] = []
    for (let left = size; left > 0; ) {
      const part = message.parts[message.part]!
      const take = Math.min(left, part.byteLength - message.offset)
      parts.push(part.subarray(message.offset, message.offset + take))
      left -= take
      message.offset += take
      if (message.offset === part.byteLength) {
        message.part++
        message.offset = 0
      }
    }
    message.remaining -= size
    this.#queuedBytes -= size
    this.#sendCredit -= size + DATA_FRAME_CREDIT_BYTES
    this.#unreturnedCredit += size + DATA_FRAME_CREDIT_BYTES
    this.#pacing?.onSent(size + DATA_FRAME_CREDIT_BYTES, performance.now())
    const fin = message.remaining === 0
    if (fin) {
      this.#outgoing.shift()
      message.resolve()
    }
    if (this.lane === 'latency') this.host.latencyTraffic.note()
    return { type: 'data', streamId: this.id, fin, parts }
  }

  /** The handshake told us the peer's window: that is the initial credit. */
  grantInitialCredit(bytes: number): void {
    this.#sendCredit = bytes
    // Messages queued before the handshake could not be checked against the peer's item limit: now they can.
    const limit = this.#sendLimit()
    const tooLarge = this.#outgoing.filter((message) => message.bytes > limit)
    if (tooLarge.length > 0) {
      this.#outgoing = this.#outgoing.filter((message) => message.bytes <= limit)
      for (const message of tooLarge) this.#queuedBytes -= message.remaining
      for (const message of tooLarge)
        message.reject(new MeshscopeError('ITEM_TOO_LARGE', `an item of ${message.bytes} bytes is over this stream's limit of ${limit}`))
    }
    if (this.hasWork) this.host.markReady(this)
  }

  /** The largest item `send` accepts now: this stream's limit, and the peer's once its HELLO arrived. */
  get sendLimit(): number {
    return this.#sendLimit()
  }

  /**
   * Whether the peer's HELLO told its item limit: before, a message `send` accepted may still fail
   * with ITEM_TOO_LARGE when the HELLO arrives (and is dropped from the queue then).
   */
  get peerLimitKnown(): boolean {
    return this.host.remoteMaxItemBytes > 0
  }

  #sendLimit(): number {
    const remote = this.host.remoteMaxItemBytes
    return remote > 0 ? Math.min(remote, this.maxItemBytes) : this.maxItemBytes
  }

  onCredit(increment: number): void {
    this.#sendCredit += increment
    // A grown window's extra comes in the same increment: only what was out counts as returned.
    const returned = Math.min(this.#unreturnedCredit, Math.max(0, increment))
    this.#unreturnedCredit -= returned
    if (returned > 0) this.#pacing?.onCredited(returned, performance.now())
    if (this.hasWork) this.host.markReady(this)
  }

  /** The receiver asked us to stop: queued messages fail, later sends fail, with its reason. */
  onStop(reason: CloseReasonName): void {
    if (this.#sendEnd) return
    this.#sendState = 'stopped'
    this.#endSend(reason, new MeshscopeError('STREAM_CLOSED', `the receiver ${reason === 'dropped' ? 'dropped' : 'closed'} the stream`, { cause: reason }))
  }

  // ── receiving ──────────────────────────────────────────────────────────────

  /**
   * The next message, or null at the end of the stream. Rejects with ITEM_TOO_LARGE for one oversized
   * item (the next call goes on with the following item), or STREAM_RESET / DISCONNECTED.
   */
  receive(): Promise<Uint8Array | null> {
    return this.#receive(true) as Promise<Uint8Array | null>
  }

  /**
   * `receive`, but the message comes as the chunks it arrived in (views of the link's messages; small
   * chunks next to each other come copied into one piece), not joined into one buffer: for a reader
   * that can use it in pieces.
   */
  receiveParts(): Promise<Uint8Array[] | null> {
    return this.#receive(false) as Promise<Uint8Array[] | null>
  }

  #receive(joined: boolean): Promise<Uint8Array | Uint8Array[] | null> {
    if (this.#recvError) return Promise.reject(this.#recvError)
    if (this.#recvState === 'stopped') return Promise.resolve(null)
    return new Promise((resolve, reject) => {
      this.#waiters.push({ joined, resolve, reject })
      this.#deliver()
    })
  }

  /** Stops receiving: the sender's queued and later sends fail with `reason`. Idempotent. */
  stop(reason: CloseReasonName = 'closed'): void {
    if (this.#recvState !== 'open' && this.#recvState !== 'ended') return
    const wasOpen = this.#recvState === 'open'
    this.#recvState = 'stopped'
    this.#incoming = []
    this.#incomingHead = 0
    this.#clearAssembly()
    this.#leaveBudget()
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(null)
    this.#wakeReadable()
    if (wasOpen) this.host.sendControl({ type: 'stop', streamId: this.id, reason })
    this.#maybeRelease()
  }

  /**
   * Session side: a chunk arrived. Returns the protocol error if the peer broke the DATA rules
   * (more than its credit, counting DATA_FRAME_CREDIT_BYTES for the frame, or an empty chunk
   * without FIN), else undefined.
   */
  onData(bytes: Uint8Array, fin: boolean): string | undefined {
    if (this.#recvState !== 'open') return undefined // stopped or ended: in-flight data is dropped
    const credit = bytes.byteLength + DATA_FRAME_CREDIT_BYTES
    if (credit > this.#recvWindowLeft) return 'the peer sent more than its credit'
    // It would carry nothing: only a way to make this side hold objects.
    if (bytes.byteLength === 0 && !fin) return 'an empty DATA frame without FIN'
    this.#recvWindowLeft -= credit
    if (this.lane === 'latency') this.host.latencyTraffic.note()
    this.#hold(bytes, fin, credit)
    this.host.budget.change(0, 0, -credit, this.#local)
    this.#deliver()
    this.#wakeReadable()
    return undefined
  }

  /**
   * Keeps a received chunk until it is read. A large one that fills its link message stays a view;
   * any other is copied onto the run of small chunks at the end (a new run after a view, or when
   * the last one is full), whatever
   * the message boundaries: so what unread chunks cost is about their credit, not how many they are.
   */
  #hold(bytes: Uint8Array, fin: boolean, credit: number): void {
    const last = this.#incoming.length > this.#incomingHead ? this.#incoming[this.#incoming.length - 1]! : undefined
    const view = bytes.byteLength >= MIN_VIEW_BYTES && bytes.byteLength >= bytes.buffer.byteLength * VIEW_MIN_FRACTION_OF_MESSAGE
    if (view) {
      const retained = CHUNK_OVERHEAD_BYTES + bytes.buffer.byteLength
      this.#changeHeld(retained)
      this.#incoming.push({ bytes, fin, retained, credit })
      return
    }
    if (!last && this.#waiters.length > 0) {
      // A reader waits and nothing is queued: it takes this chunk at once, so a copy of its own, not a run.
      const copy = new GrowingBytes(bytes)
      const retained = CHUNK_OVERHEAD_BYTES + copy.capacity
      this.#changeHeld(retained)
      this.#incoming.push({ bytes: copy, fin, retained, credit })
      return
    }
    if (last instanceof ChunkRun && last.byteLength + bytes.byteLength <= RUN_MAX_BYTES) {
      const before = last.retained
      last.append(bytes, fin)
      this.#changeHeld(last.retained - before)
      return
    }
    const run = new ChunkRun(bytes, fin)
    this.#changeHeld(run.retained)
    this.#incoming.push(run)
  }

  /** The next piece to hand on: a view chunk, or the next message (or part of one) of the run at the head. */
  #takePiece(): Piece | undefined {
    const entry = this.#incoming[this.#incomingHead]
    if (!entry) return undefined
    if (!(entry instanceof ChunkRun)) {
      this.#incoming[this.#incomingHead++] = undefined as unknown as IncomingEntry
      return entry
    }
    const heldBefore = entry.retained
    const taken = entry.take()
    let retained: number
    if (taken.whole)
      retained = heldBefore // the run's buffer goes on with the piece
    else {
      retained = CHUNK_OVERHEAD_BYTES + taken.bytes.capacity
      this.#changeHeld(retained + (entry.isUsedUp ? -heldBefore : entry.retained - heldBefore))
    }
    if (entry.isUsedUp) this.#incoming[this.#incomingHead++] = undefined as unknown as IncomingEntry
    return { bytes: taken.bytes, fin: taken.fin, retained, credit: taken.credit }
  }

  #changeHeld(bytes: number): void {
    this.#heldBytes += bytes
    this.host.budget.change(bytes, 0, 0)
  }

  onClose(): void {
    if (this.#recvState !== 'open') return
    this.#recvState = 'ended'
    // No more data comes: the unused credit is no longer a reservation.
    this.host.budget.change(0, 0, -this.#recvWindowLeft, this.#local)
    this.#recvWindowLeft = 0
    this.#deliver()
    this.#wakeReadable()
  }

  /** Reset by either side, or the session died: both directions fail with `error`. */
  fail(reason: StreamEndReason, error: MeshscopeError): void {
    if (!this.#sendEnd) {
      this.#sendState = 'failed'
      this.#endSend(reason, error)
    }
    if (this.#recvState === 'open' || this.#recvState === 'ended') {
      this.#recvState = 'failed'
      this.#recvError = error
      this.#incoming = []
      this.#incomingHead = 0
      this.#clearAssembly()
      this.#leaveBudget()
      for (const waiter of this.#waiters.splice(0)) waiter.reject(error)
      this.#wakeReadable()
    }
    this.#maybeRelease()
  }

  /** Aborts the stream both ways and tells the peer. */
  reset(reason: CloseReasonName = 'closed', message = ''): void {
    if (this.#released) return
    this.host.sendControl({ type: 'reset', streamId: this.id, reason, message })
    this.fail('reset', new MeshscopeError('STREAM_RESET', `the stream was reset here (${reason}${message ? `: ${message}` : ''})`))
  }

  get isReleased(): boolean {
    return this.#released
  }

  #deliver(): void {
    while (this.#waiters.length > 0) {
      const piece = this.#takePiece()
      if (!piece) break
      const bytes = piece.bytes instanceof GrowingBytes ? piece.bytes.bytes : piece.bytes
      this.#pendingCredit += piece.credit
      if (!this.#discarding) {
        this.#assemblyBytes += bytes.byteLength
        if (this.#assemblyBytes > this.maxItemBytes) {
          this.#discarding = true
          this.#clearAssembly()
          this.#releaseAssembly()
          this.#dropPiece(piece.retained)
        } else {
          if (!this.#isAssembling) this.host.budget.startAssembly(this)
          this.#assemble(piece)
        }
      } else {
        this.#dropPiece(piece.retained)
      }
      if (!piece.fin) continue
      const waiter = this.#waiters.shift()!
      if (this.#discarding) {
        waiter.reject(
          new MeshscopeError(
            'ITEM_TOO_LARGE',
            `a received item of at least ${this.#assemblyBytes} bytes is over this stream's limit of ${this.maxItemBytes}; it was dropped`,
          ),
        )
      } else {
        if (this.#assemblyTail) this.#assembly.push(this.#assemblyTail.bytes)
        waiter.resolve(waiter.joined ? joinBytes(this.#assembly, this.#assemblyBytes) : this.#assembly)
      }
      this.#clearAssembly()
      this.#assemblyBytes = 0
      // Handed to the application (or dropped): no longer this session's to hold.
      this.#releaseAssembly()
      this.#discarding = false
    }
    if (this.#incomingHead > 64 && this.#incomingHead * 2 > this.#incoming.length) {
      this.#incoming = this.#incoming.slice(this.#incomingHead)
      this.#incomingHead = 0
    }
    this.#returnCredit()
    if (this.#recvState === 'ended' && this.#incomingHead === this.#incoming.length) {
      // A message the peer never finished (no FIN before its CLOSE) is dropped.
      this.#clearAssembly()
      this.#leaveBudget()
      for (const waiter of this.#waiters.splice(0)) waiter.resolve(null)
      this.#maybeRelease()
    }
  }

  /**
   * Credit goes back in batches of a quarter window: few CREDIT frames, and the sender never stalls
   * while the credit travels. A bulk stream's batches are at most BULK_CREDIT_BATCH_BYTES, as its
   * sender keeps only `bulkInFlightBytes` in flight (bulk-pacing.ts). When the reader has taken everything that arrived, it is not what
   * limits the stream: the window doubles (up to maxWindowBytes) and the extra goes back too.
   */
  #returnCredit(): void {
    if (this.#recvState !== 'open' || this.#pendingCredit < creditReturnThreshold(this.lane === 'bulk', this.#recvWindow)) return
    let increment = this.#pendingCredit
    let extra = 0
    const max = this.host.config.maxWindowBytes
    if (this.#recvWindow < max && this.#incomingHead === this.#incoming.length) {
      extra = Math.min(this.#recvWindow, max - this.#recvWindow)
      // A larger window is a larger reservation for good: only into room the budget has.
      if (!this.host.budget.mayGrow(extra)) extra = 0
      increment += extra
    }
    // Credit for bytes still held in a message under assembly lets the peer make this side hold
    // more than the windows: the session's budget decides (inbound-budget.ts). Credit that only
    // restores the window after messages went to the application is always granted.
    if (!this.host.budget.mayGrant(this, increment, this.#isAssembling)) return
    this.#recvWindow += extra
    this.host.sendControl({ type: 'credit', streamId: this.id, increment })
    this.#recvWindowLeft += increment
    this.host.budget.change(0, 0, increment, this.#local)
    this.#pendingCredit = 0
  }

  /** The session's budget has room again for credit it withheld. */
  retryCredit(): void {
    this.#returnCredit()
  }

  get #isAssembling(): boolean {
    return this.#assembly.length > 0 || this.#assemblyTail !== undefined
  }

  /**
   * Adds a piece to the message under assembly. Copied pieces go into one growing tail (the first
   * one's own buffer), so even the head of line, which always gets credit, holds at most about 1.25
   * times its bytes however finely the peer cut them; a view (the bulk path) stays as it is.
   */
  #assemble(piece: Piece): void {
    let retained = piece.retained
    if (piece.bytes instanceof GrowingBytes) {
      if (this.#assemblyTail) {
        // Its bytes move into the tail: what it retained is freed, what the tail grew is held.
        retained = this.#assemblyTail.append(piece.bytes.bytes)
        this.#changeHeld(retained - piece.retained)
      } else this.#assemblyTail = piece.bytes
    } else {
      if (this.#assemblyTail) this.#assembly.push(this.#assemblyTail.bytes)
      this.#assemblyTail = undefined
      this.#assembly.push(piece.bytes)
    }
    this.#assemblyHeldBytes += retained
    this.host.budget.change(0, retained, 0)
  }

  #clearAssembly(): void {
    this.#assembly = []
    this.#assemblyTail = undefined
  }

  /** A received piece was dropped (part of an oversized item). */
  #dropPiece(retained: number): void {
    this.#heldBytes -= retained
    this.host.budget.change(-retained, 0, 0)
  }

  /** The message under assembly went to the application, or was dropped. */
  #releaseAssembly(): void {
    const bytes = this.#assemblyHeldBytes
    this.#heldBytes -= bytes
    this.#assemblyHeldBytes = 0
    this.host.budget.change(-bytes, -bytes, 0)
    this.host.budget.endAssembly(this)
  }

  /** The receive side ended: nothing it held or reserved counts any more. */
  #leaveBudget(): void {
    this.host.budget.change(-this.#heldBytes, -this.#assemblyHeldBytes, -this.#recvWindowLeft, this.#local)
    this.#heldBytes = 0
    this.#assemblyHeldBytes = 0
    this.#recvWindowLeft = 0
    this.#pendingCredit = 0
    this.host.budget.forget(this)
  }

  #endSend(reason: StreamEndReason, error: MeshscopeError | (() => MeshscopeError)): void {
    let made = typeof error === 'function' ? undefined : error
    const make = () => (made ??= (error as () => MeshscopeError)())
    this.#sendEnd = { reason, error: make }
    this.#queuedBytes = 0
    for (const message of this.#outgoing.splice(0)) message.reject(make())
    for (const listener of this.#sendEndListeners.splice(0)) listener(reason, make)
    this.#maybeRelease()
  }

  #maybeRelease(): void {
    if (this.#released || !this.#sendEnd) return
    const receiveDone =
      this.#recvState === 'stopped' || this.#recvState === 'failed' || (this.#recvState === 'ended' && this.#incomingHead === this.#incoming.length)
    if (!receiveDone) return
    this.#released = true
    this.host.release(this)
  }
}
