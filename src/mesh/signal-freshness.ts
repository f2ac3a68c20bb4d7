/**
 * Replay protection for signed signals. A signature proves who made a signal, not when: whoever
 * carried an offer once (the signaling server's operator, a scamp relay) could deliver it again
 * later, and an offer for another session replaces the link it belongs to. So every signal carries
 * the time it was signed (`t`, signed-signal.ts), and:
 *
 * - a signal signed further than `windowMs` from this peer's clock is refused (a replay from long
 *   ago, or a peer whose clock is far off: it learns why from the error);
 * - an offer that would start a new attempt must be newer than every signal already taken from its
 *   sender: a replayed offer is older than the answer or offer that made the link it would replace.
 *
 * What is remembered per sender is one number; a sender's entry is forgotten once it is older than
 * the window (the window refuses anything older anyway), and at most `maxSenders` are kept.
 */

export interface SignalFreshnessOptions {
  /**
   * How far a signal's time may be from this peer's clock, either way.
   * @default 15 * 60_000 (15 minutes)
   */
  windowMs?: number
  /**
   * Senders remembered at most (their newest signal's time); the oldest are forgotten first.
   * @default 10_000
   */
  maxSenders?: number
  /** The clock (tests). */
  now?: () => number
}

export const SIGNAL_FRESHNESS_DEFAULTS = { windowMs: 15 * 60_000, maxSenders: 10_000 } as const

export class SignalFreshness {
  /** Each sender's newest signal time taken, oldest entry first. */
  readonly #newest = new Map<string, number>()
  /**
   * The newest time among senders forgotten to keep within `maxSenders` (not for age): an offer from
   * a sender this peer does not remember must be newer than it — else a flood of throwaway senders
   * could push out a linked peer's entry and let its captured offer be replayed.
   */
  #forgottenNewest = Number.NEGATIVE_INFINITY
  readonly #windowMs: number
  readonly #maxSenders: number
  readonly #now: () => number

  constructor(options: SignalFreshnessOptions = {}) {
    this.#windowMs = options.windowMs ?? SIGNAL_FRESHNESS_DEFAULTS.windowMs
    this.#maxSenders = options.maxSenders ?? SIGNAL_FRESHNESS_DEFAULTS.maxSenders
    this.#now = options.now ?? Date.now
  }

  /** Why a signal signed at `t` must be refused, or undefined if it is fresh enough to handle. */
  checkTime(t: number): string | undefined {
    const offset = t - this.#now()
    if (Math.abs(offset) <= this.#windowMs) return undefined
    return `it was signed ${Math.round(Math.abs(offset) / 1000)} s ${offset < 0 ? 'ago' : 'ahead of this peer'}, outside the ±${this.#windowMs / 1000} s window (a replay, or a clock far off)`
  }

  /** Why an offer from `from` signed at `t` may not start a new attempt, or undefined. */
  checkNewOffer(from: string, t: number): string | undefined {
    const newest = this.#newest.get(from) ?? this.#forgottenNewest
    if (t > newest) return undefined
    return 'it is not newer than a signal already taken from that peer (a replay)'
  }

  /** A signal from `from` signed at `t` was taken. */
  took(from: string, t: number): void {
    const newest = this.#newest.get(from)
    if (newest !== undefined && newest >= t) return
    this.#newest.delete(from)
    this.#newest.set(from, t)
    this.#forgetOld()
  }

  /** Senders remembered now (tests, and to show the bound). */
  get size(): number {
    return this.#newest.size
  }

  #forgetOld(): void {
    const horizon = this.#now() - this.#windowMs
    for (const [sender, newest] of this.#newest) {
      if (this.#newest.size <= this.#maxSenders && newest >= horizon) break
      this.#newest.delete(sender)
      if (newest >= horizon && newest > this.#forgottenNewest) this.#forgottenNewest = newest
    }
  }
}
