/**
 * Gossip dissemination over SCAMP partial views (the paper's "gossip" use of the views): a new
 * message goes once to every partial-view member; a node that receives a message for the first
 * time delivers it and forwards it once to its own partial view (not back to the sender). Duplicates
 * are recognised by id in a bounded cache; an id forgotten from the cache would be delivered again.
 */
import type { PeerId } from './protocol.js'
import type { Rng } from './rng.js'

/** Remembers the last `capacity` ids; the oldest is forgotten first. */
export class SeenCache {
  readonly #ids = new Set<string>()

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#ids.size
  }

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  /** Records the id; false when it was already there. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false
    this.#ids.add(id)
    if (this.#ids.size > this.capacity) {
      const oldest = this.#ids.values().next().value as string
      this.#ids.delete(oldest)
    }
    return true
  }
}

/** A fresh message id: 128 random bits as 32 lowercase hex digits. */
export function newMessageId(rng: Rng): string {
  let id = ''
  for (let i = 0; i < 4; i++)
    id += Math.floor(rng.next() * 4294967296)
      .toString(16)
      .padStart(8, '0')
  return id
}

/** What to do with a received gossip message. */
export type GossipDecision = { deliver: false } | { deliver: true; forwardTo: PeerId[] }

export class Dissemination {
  readonly seen: SeenCache

  constructor(
    maxSeenMessages: number,
    private readonly rng: Rng,
  ) {
    this.seen = new SeenCache(maxSeenMessages)
  }

  /** A new message from this node: its id, marked seen so it is not delivered back here. */
  publish(): string {
    let id = newMessageId(this.rng)
    while (!this.seen.add(id)) id = newMessageId(this.rng)
    return id
  }

  /** A message from `from`: deliver and forward to the partial view once, or drop a duplicate. */
  receive(from: PeerId, id: string, partialView: readonly PeerId[]): GossipDecision {
    if (!this.seen.add(id)) return { deliver: false }
    return { deliver: true, forwardTo: partialView.filter((peer) => peer !== from) }
  }
}
