/**
 * One room's members, by id and in a dense array, so that a random pick (a SCAMP contact) and a
 * removal are O(1) whatever the room's size: a contact request in a room of 10 000 copies nothing.
 * Removal swaps the last member into the freed slot.
 */
import type { Topology } from '../src/signaling/protocol.js'

interface Slot<Member> {
  id: string
  member: Member
  index: number
}

export class RoomMembers<Member> {
  readonly #byId = new Map<string, Slot<Member>>()
  readonly #slots: Slot<Member>[] = []

  /** `topology` is how this room links up, decided by the server's policy when the room was made. */
  constructor(readonly topology: Topology) {}

  get size(): number {
    return this.#slots.length
  }

  get(id: string): Member | undefined {
    return this.#byId.get(id)?.member
  }

  /** Adds `member` under `id`, or puts it in place of the member that held `id`. */
  set(id: string, member: Member): void {
    const slot = this.#byId.get(id)
    if (slot) {
      slot.member = member
      return
    }
    const added = { id, member, index: this.#slots.length }
    this.#byId.set(id, added)
    this.#slots.push(added)
  }

  /** Removes `id`; true if it was there. */
  delete(id: string): boolean {
    const slot = this.#byId.get(id)
    if (!slot) return false
    this.#byId.delete(id)
    const last = this.#slots.pop()!
    if (last !== slot) {
      last.index = slot.index
      this.#slots[slot.index] = last
    }
    return true
  }

  *values(): IterableIterator<Member> {
    for (const slot of this.#slots) yield slot.member
  }

  /** A uniformly random member whose id is not `exceptId`, or undefined when there is none. O(1). */
  randomOther(exceptId: string | undefined, random: () => number = Math.random): Member | undefined {
    const count = this.#slots.length
    const except = exceptId === undefined ? undefined : this.#byId.get(exceptId)
    const choices = except ? count - 1 : count
    if (choices <= 0) return undefined
    // Pick among the slots other than `except`'s: skip over it.
    let index = Math.floor(random() * choices)
    if (except && index >= except.index) index++
    return this.#slots[index]!.member
  }
}
