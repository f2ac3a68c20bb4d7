/** Exponential backoff with full jitter (AWS architecture blog's variant): spreads reconnect storms. */
export interface BackoffOptions {
  initialDelayMs: number
  maxDelayMs: number
  random?: () => number
}

export class Backoff {
  #attempt = 0
  constructor(private readonly options: BackoffOptions) {}

  nextDelayMs(): number {
    const ceiling = Math.min(this.options.maxDelayMs, this.options.initialDelayMs * 2 ** this.#attempt)
    this.#attempt = Math.min(this.#attempt + 1, 30)
    const random = this.options.random ?? Math.random
    return Math.round(ceiling / 2 + (random() * ceiling) / 2)
  }

  reset(): void {
    this.#attempt = 0
  }
}
