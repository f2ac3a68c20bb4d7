/**
 * A session's inbound budget: the bytes the peer can make this side hold, across all streams.
 *
 *   committed = held (received chunks not yet handed to the application, unread or under assembly,
 *               counted as the memory they retain) + granted (credit the peer may still use)
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
 */

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
}

export class InboundBudget {
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

  constructor(readonly limit: number) {}

  get committed(): number {
    return this.#held + this.#granted
  }

  stats(): InboundBudgetStats {
    return { heldBytes: this.#held, assemblyBytes: this.#assembly, grantedBytes: this.#granted }
  }

  /** A stream's held, assembly or granted bytes changed by these amounts (`local`: a stream this side opened). */
  change(held: number, assembly: number, granted: number, local = false): void {
    this.#held += held
    this.#assembly += assembly
    this.#granted += granted
    if (local) this.#localGranted += granted
    if (held + granted < 0 && this.#waiting.size > 0) this.#scheduleDrain()
  }

  /**
   * Whether a new remote stream, reserving `windowBytes`, fits. The unused windows of streams this
   * side opened do not count here: they are bounded by this side's own opens, and counting them
   * would let a burst of this side's pipelined sends make it refuse every stream the peer opens.
   * What those streams hold once data arrives does count.
   */
  mayOpen(windowBytes: number): boolean {
    return this.committed - this.#localGranted + windowBytes <= this.limit
  }

  startAssembly(stream: BudgetedStream): void {
    this.#assembling.add(stream)
  }

  endAssembly(stream: BudgetedStream): void {
    const wasHead = this.#isHead(stream)
    this.#assembling.delete(stream)
    // A new head of line may be waiting.
    if (wasHead && this.#waiting.size > 0) this.#scheduleDrain()
  }

  /**
   * Whether `stream` may grant `bytes` more credit now; if not, it waits for `retryCredit`.
   * `growsHeld`: the stream has a message under assembly, so the credit lets it hold more than its
   * window (credit that only restores a window is always granted).
   */
  mayGrant(stream: BudgetedStream, bytes: number, growsHeld: boolean): boolean {
    if (!growsHeld || this.committed + bytes <= this.limit || this.#isHead(stream)) {
      this.#waiting.delete(stream)
      return true
    }
    this.#waiting.add(stream)
    return false
  }

  /** Whether a window may grow by `bytes` (more credit reserved for good): only into room the budget has, with no head-of-line exception. */
  mayGrow(bytes: number): boolean {
    return this.committed + bytes <= this.limit
  }

  /** The stream is gone: it neither waits nor assembles. */
  forget(stream: BudgetedStream): void {
    this.#waiting.delete(stream)
    this.endAssembly(stream)
  }

  #isHead(stream: BudgetedStream): boolean {
    for (const first of this.#assembling) return first === stream
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
    })
  }
}
