/**
 * How many requests this side has in flight to one peer at once. A request holds a stream at the
 * peer, and the peer admits only so many (its `maxStreams`, and its inbound budget reserves a window
 * per stream: 256 with the defaults, one of them this side's call stream); a burst past that would be refused there (TOO_MANY_STREAMS).
 * So a request past the limit waits here for a slot instead — backpressure on this side's own
 * callers, HTTP/2's concurrent-streams rule — and its timeout and signal run while it waits.
 *
 * Nested requests can wait on each other: 255 calls whose handlers call back through a full set of
 * slots wait until a timeout frees one. The default timeout bounds it, as it bounds every wait.
 */
import { MeshscopeError } from '../errors.js'

/**
 * Requests in flight to one peer by default: the number of streams a peer with the default inbound
 * budget admits at once (64 MiB of 256 KiB windows), less the one this side's call stream takes
 * there — so even requests too large for the call stream, each on a stream of its own, all fit.
 */
export const DEFAULT_MAX_REQUESTS_IN_FLIGHT = 255

/** Gives the slot back (idempotent). */
export type ReleaseSlot = () => void

interface SlotWaiter {
  grant: (release: ReleaseSlot) => void
}

export class RequestSlots {
  #inFlight = 0
  readonly #waiting = new Set<SlotWaiter>()

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new MeshscopeError('INVALID_ARGUMENT', 'maxRequestsInFlight must be a positive integer')
  }

  /** Requests holding a slot now. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Requests waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.size
  }

  /** A slot now if one is free (no await on the common path), else undefined. */
  tryAcquire(): ReleaseSlot | undefined {
    if (this.#inFlight >= this.limit || this.#waiting.size > 0) return undefined
    this.#inFlight++
    return this.#releaser()
  }

  /**
   * Waits for a slot, in arrival order. `gaveUp` settles the wait when it rejects first (the
   * request's timeout or abort); the slot is then not taken.
   */
  acquire(gaveUp: Promise<never>): Promise<ReleaseSlot> {
    const now = this.tryAcquire()
    if (now) return Promise.resolve(now)
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const waiter: SlotWaiter = { grant: resolve }
      this.#waiting.add(waiter)
      gaveUp.catch((error: unknown) => {
        if (this.#waiting.delete(waiter)) reject(error)
      })
    })
  }

  #releaser(): ReleaseSlot {
    let released = false
    return () => {
      if (released) return
      released = true
      // The slot passes straight to the oldest waiter, so a newcomer's tryAcquire cannot overtake it.
      for (const waiter of this.#waiting) {
        this.#waiting.delete(waiter)
        waiter.grant(this.#releaser())
        return
      }
      this.#inFlight--
    }
  }
}
