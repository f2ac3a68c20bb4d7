/**
 * Reading a received half's items within its peer's inbound budget (src/mux/inbound-budget.ts):
 * what a pump takes off its stream waits in a channel buffer here, outside the mux, so it counts in
 * the same per-peer budget. A pump reads the next item only when the budget has room for one more
 * window — else it waits, its stream withholds credit, and the remote senders stop (backpressure) —
 * unless its consumer waits for an item right now (head of line: the item goes straight to it).
 */
import type { InboundBudget } from '../mux/inbound-budget.js'
import type { MuxStream } from '../mux/stream.js'
import type { Connection } from './connection.js'

export class BudgetedReader {
  readonly #budget: InboundBudget
  /** Items held for the peer left this side's buffers: they no longer count. */
  readonly release = (bytes: number): void => this.#budget.hold('channel', -bytes)

  /** `bytes` more are held for an item read (what decoding it cost beyond its encoded bytes). */
  readonly holdMore = (bytes: number): void => this.#budget.hold('channel', bytes)

  /**
   * `consumerWaiting`: whether the channel's receiver waits for an item now. `stopped`: settles when
   * the pump should stop waiting for room (its receiver went away); the session's end does too.
   */
  constructor(
    private readonly connection: Connection,
    private readonly stream: MuxStream,
    private readonly consumerWaiting: () => boolean,
    private readonly stopped: Promise<unknown>,
  ) {
    this.#budget = connection.session.inboundBudget
  }

  /** The receiver started waiting: a read refused for room may now go ahead. */
  readonly consumerStartedWaiting = (): void => this.#budget.recheckWaiters()

  /**
   * Runs `receive` (the stream's next item) once the budget lets this pump read; what it returns is
   * held (`sizeOf` bytes) from then until `release` — counted before the read's reservation goes, so
   * no other read is let in on room this item took.
   */
  async read<R>(receive: () => Promise<R>, sizeOf: (received: R) => number): Promise<R> {
    // An idle stream reserves nothing: its window is already counted as granted credit, and a
    // reservation held while the peer stays silent would take room from every other read.
    if (!this.consumerWaiting()) await Promise.race([this.stream.readable(), this.stopped, this.connection.ended])
    const windowBytes = this.stream.receiveWindow
    const waiting = this.#budget.startRead(this.stream, 'channel', windowBytes, this.consumerWaiting)
    if (waiting) {
      await Promise.race([waiting.admitted, this.stopped, this.connection.ended])
      // Gone while waiting: the stream is stopped or failed, so `receive` ends at once, unreserved.
      if (waiting.cancel()) return this.#held(await receive(), sizeOf)
    }
    try {
      return this.#held(await receive(), sizeOf)
    } finally {
      this.#budget.endRead(this.stream)
    }
  }

  #held<R>(received: R, sizeOf: (received: R) => number): R {
    this.#budget.hold('channel', sizeOf(received))
    return received
  }
}
