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
 * Remembers `capacity` ids. Every id carries its origin's time, and the cache keeps a floor per
 * origin (the verified publisher, when the host knows it): an id at or below its origin's floor is
 * refused as expired, so forgetting an id (a flood of fresh ones) can never make the cache deliver it
 * again. When full it forgets the id with the oldest time, and that id's origin's floor rises to it.
 * A floor is its own origin's: ids dated far ahead (a hostile origin, or an honest clock running
 * fast) can only hold back their own origin's messages, never anyone else's.
 * Floors are remembered for `capacity` origins (least recently raised forgotten first): an id of an
 * origin whose floor was forgotten could be delivered twice, if someone replays it within the horizon.
 */
export class SeenCache {
  readonly #ids = new Map<string, number>()
  /** The remembered ids as a min-heap by time: the next one to forget on top. */
  readonly #byTime: Array<{ time: number; id: string; origin: string }> = []
  readonly #floors = new Map<string, number>()

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
  add(id: string, now: number, origin = ''): 'new' | 'duplicate' | 'expired' {
    const status = this.status(id, now, origin)
    if (status !== 'new') return status
    const time = messageIdTime(id)
    this.#ids.set(id, time)
    this.#push({ time, id, origin })
    // Ids already out of the horizon would be refused anyway: forget them, oldest first.
    const horizon = now - this.horizonMs
    while (this.#byTime.length > 0 && this.#byTime[0]!.time < horizon) this.#forget(this.#pop()!)
    while (this.#ids.size > this.capacity) this.#forget(this.#pop()!)
    return 'new'
  }

  /** What `add` would say, without recording anything (`origin` unknown: no floor checked). */
  status(id: string, now: number, origin?: string): 'new' | 'duplicate' | 'expired' {
    if (this.#ids.has(id)) return 'duplicate'
    const time = messageIdTime(id)
    if (time < now - this.horizonMs || time > now + this.horizonMs) return 'expired'
    return origin !== undefined && time <= (this.#floors.get(origin) ?? -Infinity) ? 'expired' : 'new'
  }

  #forget(entry: { time: number; id: string; origin: string }): void {
    this.#ids.delete(entry.id)
    const floor = Math.max(entry.time, this.#floors.get(entry.origin) ?? -Infinity)
    this.#floors.delete(entry.origin)
    this.#floors.set(entry.origin, floor)
    if (this.#floors.size > this.capacity) this.#floors.delete(this.#floors.keys().next().value!)
  }

  #push(entry: { time: number; id: string; origin: string }): void {
    const heap = this.#byTime
    heap.push(entry)
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.time <= heap[i]!.time) break
      ;[heap[parent], heap[i]] = [heap[i]!, heap[parent]!]
      i = parent
    }
  }

  #pop(): { time: number; id: string; origin: string } | undefined {
    const heap = this.#byTime
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last) {
      heap[0] = last
      for (let i = 0; ; ) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        if (left < heap.length && heap[left]!.time < heap[smallest]!.time) smallest = left
        if (right < heap.length && heap[right]!.time < heap[smallest]!.time) smallest = right
        if (smallest === i) break
        ;[heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!]
        i = smallest
      }
    }
    return top
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
  publish(id: string, now: number, origin = ''): boolean {
    return this.seen.add(id, now, origin) === 'new'
  }

  /**
   * A message from `from`: deliver and forward to the partial view once, or drop a duplicate or an
   * expired one. `origin`: its verified publisher, when the host knows it (the seen-cache's floors are per origin).
   */
  receive(from: PeerId, id: string, partialView: readonly PeerId[], now: number, origin = ''): GossipDecision {
    const seen = this.seen.add(id, now, origin)
    if (seen !== 'new') return { deliver: false, expired: seen === 'expired' }
    return { deliver: true, forwardTo: partialView.filter((peer) => peer !== from) }
  }
}
