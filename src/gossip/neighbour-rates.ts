/**
 * One token bucket per neighbour, for a message kind a neighbour could otherwise send without end
 * (forwarded subscriptions). Memory is bounded: at most `maxTrackedPeers` buckets, the one least
 * recently used dropped first (a peer whose bucket is dropped starts again full, which only a
 * crowd of more than `maxTrackedPeers` neighbours could use, and SCAMP views are far smaller). A
 * bucket outlives its peer's link, so reconnecting does not refill it.
 */
import { TokenBucket } from '../util/token-bucket.js'
import type { PeerId } from './protocol.js'

export class NeighbourRates {
  readonly #buckets = new Map<PeerId, TokenBucket>()

  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
    private readonly maxTrackedPeers: number,
  ) {}

  get trackedPeers(): number {
    return this.#buckets.size
  }

  /** Takes a token from `peer`'s bucket; false when it is empty. */
  take(peer: PeerId, now: number): boolean {
    let bucket = this.#buckets.get(peer)
    if (bucket) {
      this.#buckets.delete(peer) // re-inserted below: most recently used last
    } else {
      bucket = new TokenBucket(this.burst, this.refillMs, now)
      if (this.#buckets.size >= this.maxTrackedPeers) this.#buckets.delete(this.#buckets.keys().next().value as PeerId)
    }
    this.#buckets.set(peer, bucket)
    return bucket.take(now)
  }
}
