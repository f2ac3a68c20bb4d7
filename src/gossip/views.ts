/**
 * The two views of a SCAMP node. The partial view holds the subscriptions this node keeps (the
 * peers it sends gossip to); the in-view holds the peers that keep this node's subscription. Both
 * are bounded by their owner; these classes only store.
 */
import type { PeerId } from './protocol.js'
import { randomInt, type Rng } from './rng.js'

export interface PartialViewEntry {
  readonly peer: PeerId
  /** The epoch of the peer's subscription held here. */
  epoch: number
  /** When it was kept (or replaced in), for the holder's lease expiry. */
  since: number
}

/** Entries by peer, with O(1) add, delete and uniform random choice. */
export class PartialView {
  readonly #entries = new Map<PeerId, PartialViewEntry>()
  readonly #order: PeerId[] = []
  readonly #index = new Map<PeerId, number>()

  get size(): number {
    return this.#order.length
  }

  has(peer: PeerId): boolean {
    return this.#entries.has(peer)
  }

  get(peer: PeerId): PartialViewEntry | undefined {
    return this.#entries.get(peer)
  }

  /** Adds the peer, or updates its entry's epoch and time. */
  set(peer: PeerId, epoch: number, since: number): void {
    const entry = this.#entries.get(peer)
    if (entry) {
      entry.epoch = epoch
      entry.since = since
      return
    }
    this.#entries.set(peer, { peer, epoch, since })
    this.#index.set(peer, this.#order.length)
    this.#order.push(peer)
  }

  delete(peer: PeerId): boolean {
    const index = this.#index.get(peer)
    if (index === undefined) return false
    const last = this.#order.pop()!
    if (last !== peer) {
      this.#order[index] = last
      this.#index.set(last, index)
    }
    this.#index.delete(peer)
    this.#entries.delete(peer)
    return true
  }

  clear(): void {
    this.#entries.clear()
    this.#order.length = 0
    this.#index.clear()
  }

  /** A uniformly random member, other than `except` when another exists; undefined when empty. */
  random(rng: Rng, except?: PeerId): PeerId | undefined {
    const size = this.#order.length
    if (size === 0) return undefined
    if (except === undefined || !this.#index.has(except)) return this.#order[randomInt(rng, size)]
    if (size === 1) return undefined
    // Choose among the others: an index in [0, size-1); the excluded member's slot takes the last one.
    const pick = this.#order[randomInt(rng, size - 1)]!
    return pick === except ? this.#order[size - 1] : pick
  }

  /** The members, in no particular order (a copy). */
  peers(): PeerId[] {
    return this.#order.slice()
  }

  entries(): PartialViewEntry[] {
    return [...this.#entries.values()]
  }
}

/** Peers that keep this node's subscription, each with the epoch they hold and when they were last heard saying so; insertion-ordered. */
export class InView {
  readonly #entries = new Map<PeerId, { epoch: number; lastHeard: number }>()

  get size(): number {
    return this.#entries.size
  }

  has(peer: PeerId): boolean {
    return this.#entries.has(peer)
  }

  get(peer: PeerId): { readonly epoch: number; readonly lastHeard: number } | undefined {
    return this.#entries.get(peer)
  }

  set(peer: PeerId, epoch: number, now: number): void {
    const entry = this.#entries.get(peer)
    if (entry) {
      entry.epoch = epoch
      entry.lastHeard = now
    } else {
      this.#entries.set(peer, { epoch, lastHeard: now })
    }
  }

  delete(peer: PeerId): boolean {
    return this.#entries.delete(peer)
  }

  clear(): void {
    this.#entries.clear()
  }

  peers(): PeerId[] {
    return [...this.#entries.keys()]
  }
}
