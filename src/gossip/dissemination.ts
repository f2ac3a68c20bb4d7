/**
 * Gossip dissemination over SCAMP partial views (the paper's "gossip" use of the views): a new
 * message goes once to every partial-view member; a node that receives a message for the first
 * time delivers it and forwards it once to its own partial view (not back to the sender). Duplicates
 * are recognised by id in a bounded cache; ids carry their origin's time, and one too old for the
 * cache to vouch for is refused (SeenCache), so a forgotten id is never delivered again.
 */
import type { PeerId } from './protocol.js'
import type { Rng } from './rng.js'

/**
 * Remembers the last `capacity` ids; the oldest is forgotten first. Every id carries its origin's
 * time, and the cache keeps a floor: the latest time of any id it forgot or that fell out of the
 * horizon. An id at or below the floor is refused as expired, so forgetting an id (a flood of
 * fresh ones) can never make the cache deliver it again.
 */
export class SeenCache {
  readonly #ids = new Map<string, number>()
  #floor = -Infinity

  constructor(
    readonly capacity: number,
    readonly horizonMs: number,
  ) {}

  get size(): number {
    return this.#ids.size
  }

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  /**
   * Records the id of a message from `now`'s point of view: 'new' the first time, 'duplicate' when
   * it is remembered, 'expired' when its time is outside the horizon (more than `horizonMs` before
   * or after `now`) or not above the floor.
   */
  add(id: string, now: number): 'new' | 'duplicate' | 'expired' {
    const status = this.status(id, now)
    if (status !== 'new') return status
    const time = messageIdTime(id)
    const horizon = now - this.horizonMs
    this.#ids.set(id, time)
    if (this.#ids.size > this.capacity) this.#forgetOldest()
    // Ids already out of the horizon would be refused anyway: forget them (from the oldest, while they are).
    for (const [oldest, oldestTime] of this.#ids) {
      if (oldestTime >= horizon) break
      this.#ids.delete(oldest)
    }
    return 'new'
  }

  /** What `add` would say, without recording anything. */
  status(id: string, now: number): 'new' | 'duplicate' | 'expired' {
    if (this.#ids.has(id)) return 'duplicate'
    const time = messageIdTime(id)
    return time < now - this.horizonMs || time > now + this.horizonMs || time <= this.#floor ? 'expired' : 'new'
  }

  #forgetOldest(): void {
    const [oldest, time] = this.#ids.entries().next().value as [string, number]
    this.#ids.delete(oldest)
    if (time > this.#floor) this.#floor = time
  }
}

/** Hex digits of a message id that hold its origin's time (ms, 48 bits: until the year 10889). */
const TIME_DIGITS = 12

/** A fresh message id: the time `now` (12 hex digits of milliseconds) and 80 random bits, as 32 lowercase hex digits. */
export function messageIdAt(now: number, rng: Rng): string {
  let id = Math.max(0, Math.floor(now)).toString(16).padStart(TIME_DIGITS, '0').slice(-TIME_DIGITS)
  for (let i = 0; i < 5; i++)
    id += Math.floor(rng.next() * 65536)
      .toString(16)
      .padStart(4, '0')
  return id
}

/** The origin time a message id carries (ms). */
export function messageIdTime(id: string): number {
  return Number.parseInt(id.slice(0, TIME_DIGITS), 16)
}

/** What to do with a received gossip message. */
export type GossipDecision = { deliver: false; expired: boolean } | { deliver: true; forwardTo: PeerId[] }

export class Dissemination {
  readonly seen: SeenCache

  constructor(
    maxSeenMessages: number,
    maxMessageAgeMs: number,
    private readonly rng: Rng,
  ) {
    this.seen = new SeenCache(maxSeenMessages, maxMessageAgeMs)
  }

  /** A fresh id for a message published at `now` (not yet marked seen). */
  newId(now: number): string {
    let id = messageIdAt(now, this.rng)
    while (this.seen.has(id)) id = messageIdAt(now, this.rng)
    return id
  }

  /**
   * A new message from this node, with an id from `newId` (the host may have signed it before
   * publishing): marked seen so it is not delivered back here. False when it is not fresh.
   */
  publish(id: string, now: number): boolean {
    return this.seen.add(id, now) === 'new'
  }

  /** A message from `from`: deliver and forward to the partial view once, or drop a duplicate or an expired one. */
  receive(from: PeerId, id: string, partialView: readonly PeerId[], now: number): GossipDecision {
    const seen = this.seen.add(id, now)
    if (seen !== 'new') return { deliver: false, expired: seen === 'expired' }
    return { deliver: true, forwardTo: partialView.filter((peer) => peer !== from) }
  }
}
