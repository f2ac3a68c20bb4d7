/**
 * Counts refused messages per peer so that a peer that keeps sending bad gossip is reported once
 * (the mesh disconnects it), while one stray message is only refused. Memory is bounded: at most
 * `maxTrackedPeers` records, the oldest dropped first.
 */
import type { PeerId } from './protocol.js'

interface StrikeRecord {
  count: number
  since: number
}

export class StrikeCounter {
  readonly #records = new Map<PeerId, StrikeRecord>()

  constructor(
    private readonly maxStrikes: number,
    private readonly windowMs: number,
    private readonly maxTrackedPeers: number,
  ) {}

  get trackedPeers(): number {
    return this.#records.size
  }

  /** Records one strike; true when the peer just reached `maxStrikes` within the window (its record then starts over). */
  strike(peer: PeerId, now: number): boolean {
    let record = this.#records.get(peer)
    if (record && now - record.since >= this.windowMs) {
      this.#records.delete(peer)
      record = undefined
    }
    if (!record) {
      if (this.#records.size >= this.maxTrackedPeers) {
        const oldest = this.#records.keys().next().value as PeerId
        this.#records.delete(oldest)
      }
      record = { count: 0, since: now }
      this.#records.set(peer, record)
    }
    record.count++
    if (record.count < this.maxStrikes) return false
    this.#records.delete(peer)
    return true
  }

  forget(peer: PeerId): void {
    this.#records.delete(peer)
  }
}
