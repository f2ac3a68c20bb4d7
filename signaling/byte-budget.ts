/**
 * A token bucket counted in bytes: `burstBytes` at most, refilled at `bytesPerSecond`. The signaling
 * server charges each client address for the bytes its sockets send, so that large messages cannot
 * buy more of the server's reading and parsing than small ones.
 */
export class ByteBudget {
  #available: number
  #refilledAt: number

  constructor(
    private readonly burstBytes: number,
    private readonly bytesPerSecond: number,
    now: number,
  ) {
    this.#available = burstBytes
    this.#refilledAt = now
  }

  /** Takes `bytes` if that many are available; a message larger than the whole burst never passes. */
  take(bytes: number, now: number): boolean {
    if (now > this.#refilledAt) {
      this.#available = Math.min(this.burstBytes, this.#available + ((now - this.#refilledAt) * this.bytesPerSecond) / 1000)
    }
    this.#refilledAt = now // a clock that went back starts counting again from here
    if (bytes > this.#available) return false
    this.#available -= bytes
    return true
  }
}
