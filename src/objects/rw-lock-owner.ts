/**
 * The owner's side of a read-write lock: one state machine over the halves attached to it (the
 * owner's own, and one per half sent to a peer). Rules:
 * - A read is granted at once (a lease: the half caches the value) unless a write waits or runs;
 *   then it waits behind the write, so readers cannot starve a writer.
 * - A write waits its turn (first come, first served). When its turn comes, every leased half is
 *   told to invalidate its lease; the write is granted once each has answered that its guards are
 *   released — or after `leaseTimeoutMs`, when the owner stops waiting for that half.
 * - A granted write holds the value until it commits or releases, for at most `leaseTimeoutMs`:
 *   then the owner revokes it (its commit fails with LOCK_LEASE_EXPIRED) and goes on.
 * - A half that goes away (its stream ends, its peer disconnects) releases whatever it held.
 * Waiting reads and writes are bounded together (`maxWaiters`); one more is refused with OBJECT_LIMIT.
 */
import { MeshscopeError } from '../errors.js'
import { TO_HALF, TO_OWNER, type ToHalf, type ToOwner } from './rw-lock-protocol.js'

export interface RwLockOptions {
  /**
   * How long the owner waits for a half told to invalidate its read lease before it stops waiting,
   * and how long a granted write guard may stay open before it is revoked.
   * @default 10_000
   */
  leaseTimeoutMs?: number
  /**
   * Reads and writes waiting at the owner at once, from all halves together; one more is refused
   * with OBJECT_LIMIT.
   * @default 256
   */
  maxWaiters?: number
}

/** One attached half as the owner sees it. */
export interface AttachedHalf {
  deliver(message: ToHalf): void
  /** The lease the half holds now (0: none). */
  lease: number
  /** Told to invalidate `lease`; waiting for its answer. */
  invalidating: boolean
  leaseTimer?: ReturnType<typeof setTimeout>
  waitingRead: boolean
  waitingWrite: boolean
}

export class RwLockCore<T> {
  value: T
  readonly leaseTimeoutMs: number
  readonly maxWaiters: number
  #halves = new Set<AttachedHalf>()
  #writes: AttachedHalf[] = []
  #reads: AttachedHalf[] = []
  #writer?: AttachedHalf
  #writerTimer?: ReturnType<typeof setTimeout>
  #nextLease = 1
  #closed = false

  constructor(value: T, options: RwLockOptions = {}) {
    this.value = value
    this.leaseTimeoutMs = options.leaseTimeoutMs ?? 10_000
    this.maxWaiters = options.maxWaiters ?? 256
    if (!(this.leaseTimeoutMs > 0)) throw new MeshscopeError('INVALID_ARGUMENT', 'leaseTimeoutMs must be positive')
    if (!Number.isInteger(this.maxWaiters) || this.maxWaiters < 1) throw new MeshscopeError('INVALID_ARGUMENT', 'maxWaiters must be a positive integer')
  }

  attach(deliver: (message: ToHalf) => void): AttachedHalf {
    const half: AttachedHalf = { deliver, lease: 0, invalidating: false, waitingRead: false, waitingWrite: false }
    this.#halves.add(half)
    return half
  }

  /** The half is gone: whatever it held or waited for is let go. */
  detach(half: AttachedHalf): void {
    if (!this.#halves.delete(half)) return
    clearTimeout(half.leaseTimer)
    half.lease = 0
    half.invalidating = false
    this.#writes = this.#writes.filter((waiting) => waiting !== half)
    this.#reads = this.#reads.filter((waiting) => waiting !== half)
    if (this.#writer === half) this.#endWrite()
    this.#pump()
  }

  receive(half: AttachedHalf, message: ToOwner): void {
    if (this.#closed || !this.#halves.has(half)) return
    switch (message[0]) {
      case TO_OWNER.read:
        if (half.waitingRead) return
        if (!this.#writer && this.#writes.length === 0) return this.#grantRead(half)
        if (!this.#admitWaiter(half, 'r')) return
        half.waitingRead = true
        this.#reads.push(half)
        return
      case TO_OWNER.write:
        if (half.waitingWrite || this.#writer === half) return
        if (!this.#admitWaiter(half, 'w')) return
        half.waitingWrite = true
        this.#writes.push(half)
        return this.#pump()
      case TO_OWNER.commit:
        if (this.#writer !== half) return half.deliver([TO_HALF.revoked])
        this.value = message[1] as T
        this.#endWrite()
        half.deliver([TO_HALF.committed])
        return this.#pump()
      case TO_OWNER.abort:
        if (this.#writer !== half) return
        this.#endWrite()
        return this.#pump()
      case TO_OWNER.released:
        // A late answer for a lease the owner already stopped waiting for changes nothing.
        if (message[1] !== half.lease) return
        clearTimeout(half.leaseTimer)
        half.lease = 0
        half.invalidating = false
        return this.#pump()
    }
  }

  #admitWaiter(half: AttachedHalf, kind: 'r' | 'w'): boolean {
    if (this.#writes.length + this.#reads.length < this.maxWaiters) return true
    half.deliver([TO_HALF.refused, kind, new MeshscopeError('OBJECT_LIMIT', `${this.maxWaiters} requests already wait for this lock (maxWaiters)`)])
    return false
  }

  #grantRead(half: AttachedHalf): void {
    half.waitingRead = false
    if (half.lease === 0 || half.invalidating) half.lease = this.#nextLease++
    half.invalidating = false
    clearTimeout(half.leaseTimer)
    half.deliver([TO_HALF.value, this.value, half.lease])
  }

  #endWrite(): void {
    clearTimeout(this.#writerTimer)
    this.#writer = undefined
  }

  #pump(): void {
    if (this.#writer || this.#closed) return
    const next = this.#writes[0]
    if (!next) {
      for (const half of this.#reads.splice(0)) this.#grantRead(half)
      return
    }
    let waiting = false
    for (const half of this.#halves) {
      if (half.lease === 0) continue
      waiting = true
      if (half.invalidating) continue
      half.invalidating = true
      half.deliver([TO_HALF.invalidate, half.lease])
      half.leaseTimer = setTimeout(() => {
        // A stubborn or dead reader: stop waiting for it.
        half.lease = 0
        half.invalidating = false
        this.#pump()
      }, this.leaseTimeoutMs)
    }
    if (waiting) return
    this.#writes.shift()
    next.waitingWrite = false
    this.#writer = next
    next.deliver([TO_HALF.granted, this.value])
    this.#writerTimer = setTimeout(() => {
      if (this.#writer !== next) return
      this.#endWrite()
      next.deliver([TO_HALF.revoked])
      this.#pump()
    }, this.leaseTimeoutMs)
  }

  /** Ends every half's use (the owner closed the lock). */
  close(): void {
    this.#closed = true
    for (const half of [...this.#halves]) this.detach(half)
  }
}
