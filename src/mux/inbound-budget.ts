/**
 * A session's inbound budget: the bytes the peer can make this side hold, across all streams.
 *
 *   committed = held (received chunks not yet handed to the application, unread or under assembly,
 *               counted as the memory they retain, and bulk-lane frames held before their stream's
 *               OPEN: lanes.ts, admitted only into room, `mayHold`) + granted (credit the peer may still use)
 *               + delivered (held for the peer above the mux: channel buffers, requests in service)
 *
 * A stream's window (held-but-unread plus its unused credit) is a fixed reservation: credit that
 * restores it after a message went to the application is always granted. What can grow past the
 * windows is a message under assembly (credit returned for bytes that are still held). So:
 * - a remote OPEN is admitted only while `committed + initialWindowBytes ≤ limit` (else the session
 *   resets it with `tooManyStreams`), which bounds the windows;
 * - credit for a stream whose message is under assembly is granted only while
 *   `committed + increment ≤ limit`, except for the head of line: the stream that started
 *   assembling first always gets its credit, so one message larger than the budget's room still
 *   completes and the streams behind it follow in turn (no deadlock, no stream starved forever);
 * - a stream refused waits here, and is retried in arrival order whenever held bytes drain.
 * Bound: committed ≤ limit + maxItemBytes + the head stream's window.
 *
 * Memory held on the peer's behalf above the mux counts here too (one budget per peer): items from
 * it waiting in received channel buffers (`channel`) and requests from it in service (`serving`).
 * Their readers (a channel's pump, the serving of a request stream) take the next item only through
 * `startRead`, which waits while the budget has no room for one more window; a read reserves that
 * window until its item is held (`endRead`), so reads running at once cannot overshoot together.
 * Head of line: a reader whose consumer waits for it now (`mayOverdraw`) is let in even when full,
 * and only such a reader's stream may lead the assembly past the limit, so an application reading
 * the channel it waits on, or one request at a time, always progresses.
 * Bound: beside the mux's own above, one item per consumer waiting right now (each handed on at
 * once) and one request in service.
 *
 * With a `pool` (shared-budget.ts: the whole mesh's budget), every check needs room in both, and
 * every byte committed here is committed there too. Assembly credit is checked against each on its
 * own terms: room in this budget or this peer's head of line, and room in the pool or the mesh's
 * head of line (one at a time across all peers, not one per peer).
 */
import type { PooledBudget, SharedInboundBudget } from './shared-budget.js'

/** What the budget asks of a stream it made wait. */
export interface BudgetedStream {
  /** The budget has room again: try to grant the credit that was withheld. */
  retryCredit(): void
}

export interface InboundBudgetStats {
  /** Memory held for received chunks not yet handed to the application (unread or under assembly). */
  heldBytes: number
  /** The part of `heldBytes` in messages under assembly. */
  assemblyBytes: number
  /** Credit granted to the peer and not yet used. */
  grantedBytes: number
  /** Encoded bytes of items from the peer waiting in received channel buffers (or in a pump about to queue them). */
  channelBytes: number
  /** Encoded bytes of the peer's requests in service (read, and their handler not settled yet). */
  servingBytes: number
}

/** What is held above the mux on the peer's behalf. */
export type DeliveredKind = 'channel' | 'serving'

/** A read above the mux (a channel pump's, a request's), from `startRead` to `endRead`. */
interface BudgetedRead {
  kind: DeliveredKind
  /** Its reservation: the stream's window. */
  bytes: number
  mayOverdraw: () => boolean
}

/** A read waiting in `startRead` for room. */
interface RoomWaiter {
  stream: BudgetedStream
  read: BudgetedRead
  admit: () => void
}

export class InboundBudget implements PooledBudget {
  #held = 0
  #assembly = 0
  #granted = 0
  /** The part of `#granted` on streams this side opened (replies to its own requests). */
  #localGranted = 0
  /** Streams with a message under assembly, oldest first: the first is the head of line. */
  readonly #assembling = new Set<BudgetedStream>()
  /** Streams whose credit was withheld, in the order they asked. */
  readonly #waiting = new Set<BudgetedStream>()
  #drainScheduled = false
  readonly #delivered: Record<DeliveredKind, number> = { channel: 0, serving: 0 }
  /** Windows reserved by reads started and not ended, per kind (they gate reads, not OPENs). */
  readonly #reading: Record<DeliveredKind, number> = { channel: 0, serving: 0 }
  /** Readers waiting for room, in the order they asked. */
  #roomWaiters: RoomWaiter[] = []
  /** Reads running, oldest first, by stream. */
  readonly #reads = new Map<BudgetedStream, BudgetedRead>()

  constructor(
    readonly limit: number,
    private readonly pool?: SharedInboundBudget,
  ) {}

  get committed(): number {
    return this.#held + this.#granted + this.#delivered.channel + this.#delivered.serving
  }

  stats(): InboundBudgetStats {
    return {
      heldBytes: this.#held,
      assemblyBytes: this.#assembly,
      grantedBytes: this.#granted,
      channelBytes: this.#delivered.channel,
      servingBytes: this.#delivered.serving,
    }
  }

  /** Bytes of `kind` now held above the mux (`channelBytes`, `servingBytes`). */
  delivered(kind: DeliveredKind): number {
    return this.#delivered[kind]
  }

  /** Reads of `kind` started and not ended (their reservations). */
  reading(kind: DeliveredKind): number {
    return this.#reading[kind]
  }

  /** The stream of the oldest read of `kind` started and not ended. */
  oldestRead(kind: DeliveredKind): BudgetedStream | undefined {
    for (const [stream, read] of this.#reads) if (read.kind === kind) return stream
    return undefined
  }

  /**
   * Resolves once a read on `stream` of up to `windowBytes` (its window: what can arrive without more
   * credit) fits beside what is committed and what other reads reserved — or at once if
   * `mayOverdraw()` says its consumer waits for it (head of line) — and reserves it until `endRead`.
   * While the read runs, `mayOverdraw()` also decides whether its stream may lead the assembly
   * credit past the limit (`mayGrant`): what it reads is held above the mux, so only a reader whose
   * item will not stay held (or one at a time) may take the budget past its limit.
   * Returns undefined when admitted at once (no promise on the fast path). `cancel` on the returned
   * handle stops waiting (the reader went away) and says whether it was still waiting; if it was
   * admitted already, the read stands until `endRead`.
   */
  startRead(
    stream: BudgetedStream,
    kind: DeliveredKind,
    windowBytes: number,
    mayOverdraw: () => boolean,
  ): { admitted: Promise<void>; cancel: () => boolean } | undefined {
    const read = { kind, bytes: windowBytes, mayOverdraw }
    if ((this.#roomWaiters.length === 0 && this.#hasRoomFor(windowBytes)) || mayOverdraw()) {
      this.#beginRead(stream, read)
      return undefined
    }
    let waiter!: RoomWaiter
    const admitted = new Promise<void>((resolve) => {
      waiter = { stream, read, admit: resolve }
    })
    this.#roomWaiters.push(waiter)
    this.pool?.wait(this)
    return { admitted, cancel: () => this.#removeRoomWaiter(waiter) }
  }

  /** A read started by `startRead` is over: its reservation goes (what it read is held with `hold`). */
  endRead(stream: BudgetedStream): void {
    const read = this.#reads.get(stream)
    if (!read) return
    this.#reads.delete(stream)
    this.#reading[read.kind] -= read.bytes
    this.pool?.reserve(-read.bytes)
    this.#scheduleRoomCheck()
  }

  /** `bytes` more of `kind` are held on the peer's behalf (or fewer, if negative). */
  hold(kind: DeliveredKind, bytes: number): void {
    this.#delivered[kind] += bytes
    this.pool?.add(bytes)
    if (bytes < 0) this.#scheduleRoomCheck()
  }

  /** A reader's consumer may have started waiting for it: check the waiting readers and streams again. */
  recheckWaiters(): void {
    this.#scheduleRoomCheck()
  }

  #beginRead(stream: BudgetedStream, read: BudgetedRead): void {
    this.#reads.set(stream, read)
    this.#reading[read.kind] += read.bytes
    this.pool?.reserve(read.bytes)
  }

  #hasRoomFor(bytes: number): boolean {
    return this.committed + this.#reading.channel + this.#reading.serving + bytes <= this.limit && (this.pool?.fitsRead(bytes) ?? true)
  }

  #removeRoomWaiter(waiter: RoomWaiter): boolean {
    const index = this.#roomWaiters.indexOf(waiter)
    if (index >= 0) this.#roomWaiters.splice(index, 1)
    return index >= 0
  }

  #scheduleRoomCheck(): void {
    if (this.#roomWaiters.length > 0 || this.#waiting.size > 0) this.#scheduleDrain()
  }

  /** Lets in, oldest first, every waiting reader that fits now or whose consumer waits for it. */
  #admitRoomWaiters(): void {
    for (const waiter of [...this.#roomWaiters]) {
      if (!this.#hasRoomFor(waiter.read.bytes) && !waiter.read.mayOverdraw()) continue
      this.#removeRoomWaiter(waiter)
      this.#beginRead(waiter.stream, waiter.read)
      waiter.admit()
    }
    // Those still waiting may be waiting for room in the pool: it tells this budget when there is.
    if (this.#roomWaiters.length > 0) this.pool?.wait(this)
  }

  /** A stream's held, assembly or granted bytes changed by these amounts (`local`: a stream this side opened). */
  change(held: number, assembly: number, granted: number, local = false): void {
    this.#held += held
    this.#assembly += assembly
    this.#granted += granted
    if (local) this.#localGranted += granted
    this.pool?.add(held + granted, local ? granted : 0)
    if (held + granted < 0) this.#scheduleRoomCheck()
  }

  /**
   * Whether a new remote stream, reserving `windowBytes`, fits. The unused windows of streams this
   * side opened do not count here: they are bounded by this side's own opens, and counting them
   * would let a burst of this side's pipelined sends make it refuse every stream the peer opens.
   * What those streams hold once data arrives does count.
   */
  mayOpen(windowBytes: number): boolean {
    return this.openRefusal(windowBytes) === undefined
  }

  /** Why a new remote stream reserving `windowBytes` does not fit (see `mayOpen`), or undefined if it does. */
  openRefusal(windowBytes: number): string | undefined {
    if (this.committed - this.#localGranted + windowBytes > this.limit) return `the inbound budget of ${this.limit} bytes is full`
    if (this.pool && !this.pool.fitsOpen(windowBytes)) return `the whole mesh's inbound budget of ${this.pool.limit} bytes is full`
    return undefined
  }

  startAssembly(stream: BudgetedStream): void {
    this.#assembling.add(stream)
    this.pool?.startAssembly(stream, this)
  }

  endAssembly(stream: BudgetedStream): void {
    const wasHead = this.#isHead(stream)
    this.#assembling.delete(stream)
    this.pool?.endAssembly(stream)
    // A new head of line may be waiting.
    if (wasHead && this.#waiting.size > 0) this.#scheduleDrain()
  }

  /**
   * Whether `stream` may grant `bytes` more credit now; if not, it waits for `retryCredit`.
   * `growsHeld`: the stream has a message under assembly, so the credit lets it hold more than its
   * window (credit that only restores a window is always granted).
   */
  mayGrant(stream: BudgetedStream, bytes: number, growsHeld: boolean): boolean {
    // Each budget on its own terms: this peer's (room, or this peer's head of line) and the mesh's
    // (room, or the mesh's head): a peer that holds the mesh's head cannot stall a peer whose own
    // budget is full while the mesh has room.
    const peerAllows = this.committed + bytes <= this.limit || this.#isHead(stream)
    const poolAllows = !this.pool || this.pool.fits(bytes) || this.pool.isHead(stream)
    if (!growsHeld || (peerAllows && poolAllows)) {
      this.#waiting.delete(stream)
      return true
    }
    this.#waiting.add(stream)
    this.pool?.wait(this)
    return false
  }

  /** Whether `bytes` more may be held outside any stream (bulk-lane frames ahead of their OPEN, lanes.ts): only into room the budget and the pool have. */
  mayHold(bytes: number): boolean {
    return this.#fits(bytes)
  }

  /** Whether a window may grow by `bytes` (more credit reserved for good): only into room the budget has, with no head-of-line exception. */
  mayGrow(bytes: number): boolean {
    return this.#fits(bytes)
  }

  /** The pool has room again (PooledBudget): retry the streams and readers that wait. */
  retryWaiters(): void {
    this.#scheduleRoomCheck()
  }

  /** Whether `stream` may lead the assembly past the limit (PooledBudget): see #isHead. */
  mayLead(stream: BudgetedStream): boolean {
    return this.#reads.get(stream)?.mayOverdraw() ?? true
  }

  #fits(bytes: number): boolean {
    return this.committed + bytes <= this.limit && (this.pool?.fits(bytes) ?? true)
  }

  /** The stream is gone: it neither waits nor assembles. */
  forget(stream: BudgetedStream): void {
    this.#waiting.delete(stream)
    this.endAssembly(stream)
  }

  /**
   * The head of line is the oldest assembling stream that may lead: a stream read above the mux
   * may only while its read may overdraw (else each message it completed would stay held and the
   * next head would add another: no bound).
   */
  #isHead(stream: BudgetedStream): boolean {
    for (const first of this.#assembling) if (this.mayLead(first)) return first === stream
    return false
  }

  /** Retries the waiting streams a microtask later (never inside the stream code that freed the bytes). */
  #scheduleDrain(): void {
    if (this.#drainScheduled) return
    this.#drainScheduled = true
    queueMicrotask(() => {
      this.#drainScheduled = false
      for (const stream of [...this.#waiting]) {
        if (this.#waiting.has(stream)) stream.retryCredit()
      }
      this.#admitRoomWaiters()
    })
  }
}
