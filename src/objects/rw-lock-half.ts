/**
 * What a read-write lock half does on its side: caches the value under a read lease and hands out
 * read guards on it, asks for write guards one at a time, and answers the owner's invalidations
 * once its guards of that lease are released. It talks to the owner through `send` and hears from
 * it through `receive` — a stream for a half on another peer, in-process calls for the owner's own.
 */
import { MeshscopeError } from '../errors.js'
import { TO_HALF, TO_OWNER, type ToHalf, type ToOwner } from './rw-lock-protocol.js'

interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {}) // rejected only while someone awaits it, or when nobody cares any more
  return { promise, resolve, reject }
}

/** One read lease's cached value and the guards open on it. */
class Lease<T> {
  open = 0
  readonly controller = new AbortController()
  #onReleased?: () => void

  constructor(
    readonly value: T,
    readonly id: number,
  ) {}

  get invalidated(): boolean {
    return this.controller.signal.aborted
  }

  /** Tells the guards; `onReleased` runs once none is open. */
  invalidate(reason: MeshscopeError, onReleased: () => void): void {
    this.controller.abort(reason)
    if (this.open === 0) onReleased()
    else this.#onReleased = onReleased
  }

  guardReleased(): void {
    this.open--
    if (this.open === 0 && this.#onReleased) {
      const onReleased = this.#onReleased
      this.#onReleased = undefined
      onReleased()
    }
  }
}

/** A read guard: the value as cached at this half. Release it promptly: a writer waits for it. */
export class ReadGuard<T> {
  #lease: Lease<T>
  #released = false

  /** @internal */
  constructor(lease: Lease<T>) {
    this.#lease = lease
    lease.open++
  }

  /** The value (treat it as read-only: it is shared by every guard of the lease). */
  get value(): T {
    return this.#lease.value
  }

  /** Aborted when the owner invalidates the cached value (a write wants it): release the guard then. */
  get signal(): AbortSignal {
    return this.#lease.controller.signal
  }

  /** Whether the owner invalidated the value since this guard was taken. */
  get invalidated(): boolean {
    return this.#lease.invalidated
  }

  /** Gives the guard back. Idempotent. */
  release(): void {
    if (this.#released) return
    this.#released = true
    this.#lease.guardReleased()
  }

  [Symbol.dispose](): void {
    this.release()
  }
}

/** A write guard: change `value`, then `commit()`; released without commit, nothing changes. */
export class WriteGuard<T> {
  /** The value to change; `commit()` hands this back to the owner. */
  value: T
  readonly #controller = new AbortController()
  #commit: (value: T) => Promise<void>
  #release: () => void
  #done = false

  /** @internal */
  constructor(value: T, commit: (value: T) => Promise<void>, release: () => void) {
    this.value = value
    this.#commit = commit
    this.#release = release
  }

  /** Aborted when the owner revoked this guard (its lease expired, or the owner went away). */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** Hands `value` to the owner, which keeps it. Rejects with LOCK_LEASE_EXPIRED or OBJECT_GONE; the guard is released either way. */
  async commit(): Promise<void> {
    if (this.#done) throw new MeshscopeError('INVALID_ARGUMENT', 'this write guard was already committed or released')
    this.#done = true
    if (this.signal.aborted) {
      this.#release()
      throw this.signal.reason
    }
    await this.#commit(this.value)
  }

  /** Gives the guard back without committing: the owner's value stays as it was. Idempotent. */
  release(): void {
    if (this.#done) return
    this.#done = true
    this.#release()
  }

  [Symbol.dispose](): void {
    this.release()
  }

  /** @internal */
  revoke(reason: MeshscopeError): void {
    this.#controller.abort(reason)
  }
}

export class LockHalf<T> {
  #send: (message: ToOwner) => void
  #lease?: Lease<T>
  #reading?: Deferred<void>
  #writeTurn: Promise<void> = Promise.resolve()
  #granted?: Deferred<T>
  #committing?: Deferred<void>
  #writer?: WriteGuard<T>
  #failure?: MeshscopeError
  #busy = 0

  constructor(send: (message: ToOwner) => void) {
    this.#send = send
  }

  /** Guards open or requests under way here (a half that is busy cannot be sent on). */
  get busy(): boolean {
    return this.#busy > 0 || (this.#lease?.open ?? 0) > 0
  }

  async read(): Promise<ReadGuard<T>> {
    for (;;) {
      this.#check()
      if (this.#lease) return new ReadGuard(this.#lease)
      if (!this.#reading) {
        this.#reading = deferred()
        this.#send([TO_OWNER.read])
      }
      this.#busy++
      try {
        await this.#reading.promise
      } finally {
        this.#busy--
      }
    }
  }

  async write(): Promise<WriteGuard<T>> {
    this.#check()
    const previous = this.#writeTurn
    let endTurn!: () => void
    this.#writeTurn = new Promise((resolve) => (endTurn = resolve))
    this.#busy++
    let value: T
    try {
      await previous
      this.#check()
      this.#granted = deferred()
      this.#send([TO_OWNER.write])
      value = await this.#granted.promise
    } catch (error) {
      this.#busy--
      endTurn()
      throw error
    }
    const finish = () => {
      if (this.#writer !== guard) return
      this.#writer = undefined
      this.#busy--
      endTurn()
    }
    const guard: WriteGuard<T> = new WriteGuard<T>(
      value,
      async (committed) => {
        try {
          this.#check()
          this.#committing = deferred()
          this.#send([TO_OWNER.commit, committed])
          await this.#committing.promise
        } finally {
          this.#committing = undefined
          finish()
        }
      },
      () => {
        if (!guard.signal.aborted && !this.#failure) this.#send([TO_OWNER.abort])
        finish()
      },
    )
    this.#writer = guard
    return guard
  }

  receive(message: ToHalf): void {
    switch (message[0]) {
      case TO_HALF.value:
        this.#lease = new Lease(message[1] as T, message[2])
        this.#reading?.resolve()
        this.#reading = undefined
        return
      case TO_HALF.invalidate: {
        const lease = this.#lease
        const id = message[1]
        const answer = () => {
          if (!this.#failure) this.#send([TO_OWNER.released, id])
        }
        if (!lease || lease.id !== id) return answer()
        this.#lease = undefined
        lease.invalidate(new MeshscopeError('OBJECT_GONE', 'the owner invalidated this read guard: a write wants the value'), answer)
        return
      }
      case TO_HALF.granted:
        this.#granted?.resolve(message[1] as T)
        this.#granted = undefined
        return
      case TO_HALF.committed:
        this.#committing?.resolve()
        return
      case TO_HALF.revoked: {
        const expired = new MeshscopeError('LOCK_LEASE_EXPIRED', "the owner revoked this write guard: it was held longer than the lock's leaseTimeoutMs")
        this.#writer?.revoke(expired)
        this.#committing?.reject(expired)
        return
      }
      case TO_HALF.refused:
        if (message[1] === 'r') {
          this.#reading?.reject(message[2])
          this.#reading = undefined
        } else {
          this.#granted?.reject(message[2])
          this.#granted = undefined
        }
        return
    }
  }

  /** The owner is unreachable: everything pending fails with `error`, every guard is told. */
  fail(error: MeshscopeError): void {
    if (this.#failure) return
    this.#failure = error
    this.#lease?.invalidate(error, () => {})
    this.#lease = undefined
    this.#reading?.reject(error)
    this.#granted?.reject(error)
    this.#committing?.reject(error)
    this.#writer?.revoke(error)
  }

  #check(): void {
    if (this.#failure) throw this.#failure
  }
}
