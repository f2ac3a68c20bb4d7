/**
 * Whether latency-lane messages flowed recently (issue 20): a bulk stream holds back to its paced
 * limit only then, and keeps up to `bulkAloneInFlightBytes` in flight while it is alone.
 *
 * The two figures pull against each other through one number, what a bulk stream keeps in flight:
 * everything in flight sits ahead of a small message at the receiver (its UDP buffer, its event
 * queue), and a link is filled only with a bandwidth-delay product in flight, which a loaded
 * machine's round trip (2–5 ms beside bulk data) makes larger than the paced floor. So a bulk stream
 * keeps the floor while small messages flow, and more when none did for `bulkAloneAfterMs`.
 *
 * Counting is one increment per latency-lane DATA frame (the small-message path pays no clock
 * read); the time is taken when a bulk stream asks, so a frame counts as recent from then at the
 * latest — which errs towards holding bulk back.
 */
export class LatencyTraffic {
  #frames = 0
  #seenFrames = 0
  #lastSeenAt = Number.NEGATIVE_INFINITY

  /** A latency-lane stream's DATA frame was sent or received. */
  note(): void {
    this.#frames++
  }

  /** Whether a latency-lane DATA frame was sent or received within `windowMs` before `now` (ms). */
  recent(now: number, windowMs: number): boolean {
    if (this.#frames !== this.#seenFrames) {
      this.#seenFrames = this.#frames
      this.#lastSeenAt = now
    }
    return now - this.#lastSeenAt < windowMs
  }
}
