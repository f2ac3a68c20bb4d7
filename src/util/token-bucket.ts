/**
 * A token bucket on a clock the caller passes in (sans-IO: the gossip core's clock, or the
 * signaling server's `performance.now()`): `capacity` tokens, one more every `refillMs`. Used for
 * SCAMP's contact duty and for each signaling socket's message rate.
 */
export class TokenBucket {
  #tokens: number
  #refilledAt: number

  /** Starts full at `now`. `refillMs` may be fractional (1000 / a rate per second) or Infinity (no refill). */
  constructor(
    private readonly capacity: number,
    private readonly refillMs: number,
    now: number,
  ) {
    this.#tokens = capacity
    this.#refilledAt = now
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    if (now < this.#refilledAt) this.#refilledAt = now // the clock went back: start counting again from here
    const earned = Math.floor((now - this.#refilledAt) / this.refillMs)
    if (earned > 0) {
      this.#tokens = Math.min(this.capacity, this.#tokens + earned)
      this.#refilledAt += earned * this.refillMs // time towards the next token carries over
    }
    // Time spent full earns nothing: the next token comes a whole refillMs after the bucket stopped
    // being full, so no burst exceeds `capacity` within one refill interval.
    if (this.#tokens >= this.capacity) this.#refilledAt = now
    if (this.#tokens < 1) return false // (a fractional capacity leaves a fraction no take can use)
    this.#tokens--
    return true
  }
}
