/** A token bucket on an injected clock: `capacity` tokens, one more every `refillMs`. */
export class TokenBucket {
  #tokens: number
  #refilledAt: number

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
    if (now > this.#refilledAt) {
      const earned = Math.floor((now - this.#refilledAt) / this.refillMs)
      if (earned > 0) {
        this.#tokens = Math.min(this.capacity, this.#tokens + earned)
        this.#refilledAt = this.#tokens === this.capacity ? now : this.#refilledAt + earned * this.refillMs
      }
    } else if (now < this.#refilledAt) {
      this.#refilledAt = now // the clock went back: start counting again from here
    }
    if (this.#tokens === 0) return false
    this.#tokens--
    return true
  }
}
