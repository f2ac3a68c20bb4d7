/**
 * What every mirrored collection shares: reading the subscription's events in order, checking each
 * against the protocol (./protocol.ts) and the mirror's own limits, and the state a reader sees —
 * `complete` once the initial contents arrived, `done` once the owner called `done()`, `error` once
 * it failed. A mirror fails, never throws: a peer that sends events out of order, for indexes that do
 * not exist, past `maxSize` or of an unknown shape ends it with a code, and every pending promise
 * and iterator settles. States: loading → live (complete) → done; any of them → failed.
 */
import { ChannelClosedError, LaggedError } from '../../channels/errors.js'
import { asMeshscopeError } from '../../channels/items.js'
import type { Receiver } from '../../channels/mpsc.js'
import { MeshscopeError } from '../../errors.js'
import { parseEvent, type CollectionKind } from './protocol.js'

/** A mirror's limits, chosen by the peer that mirrors. */
export interface MirrorOptions {
  /**
   * Most entries (map, set) or elements (array, list) the mirror holds. A subscription whose
   * initial contents are larger is refused before anything is read, and a change past it fails
   * the mirror; both with MIRROR_TOO_LARGE.
   * @default 100_000
   */
  maxSize?: number
  /**
   * Changes an async iterator of the mirror holds for a loop that reads them more slowly than they
   * arrive; one more ends that iterator with CHANNEL_LAGGED (the mirror itself goes on).
   * @default 1024
   */
  eventBuffer?: number
}

export const DEFAULT_MIRROR_MAX_SIZE = 100_000
const DEFAULT_EVENT_BUFFER = 1024

/** A promise with its settle functions; rejections are marked handled (nobody may be waiting). */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {})
  return { promise, resolve, reject }
}

/** The changes one `for await` loop has yet to read. */
class ChangeQueue<C> {
  items: C[] = []
  end?: { error?: MeshscopeError }
  wake?: () => void

  constructor(readonly limit: number) {}

  add(change: C): void {
    if (this.end) return
    if (this.items.length >= this.limit) this.finish(new LaggedError(this.items.length + 1))
    else this.items.push(change)
    this.#wakeUp()
  }

  finish(error?: MeshscopeError): void {
    if (this.end) return
    this.end = error ? { error } : {}
    if (error) this.items = []
    this.#wakeUp()
  }

  #wakeUp(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}

export abstract class Mirror<C, V> implements AsyncIterable<C> {
  readonly maxSize: number
  readonly #receiver: Receiver<unknown>
  readonly #kind: CollectionKind
  readonly #declaredSize: number
  readonly #eventBuffer: number
  #initialItems = 0
  #complete = false
  #done = false
  #error: MeshscopeError | undefined
  #stopped = false
  readonly #completed = deferred()
  readonly #finished = deferred()
  #changeWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = []
  readonly #iterators = new Set<ChangeQueue<C>>()

  /** @internal use a subscription's `mirror()` */
  constructor(receiver: Receiver<unknown>, kind: CollectionKind, declaredSize: number, options: MirrorOptions = {}) {
    const { maxSize = DEFAULT_MIRROR_MAX_SIZE, eventBuffer = DEFAULT_EVENT_BUFFER } = options
    for (const [name, value] of [
      ['maxSize', maxSize],
      ['eventBuffer', eventBuffer],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new MeshscopeError('INVALID_ARGUMENT', `a mirror's ${name} must be a positive integer`)
    }
    this.maxSize = maxSize
    this.#receiver = receiver
    this.#kind = kind
    this.#declaredSize = declaredSize
    this.#eventBuffer = eventBuffer
    if (declaredSize > maxSize) {
      this.#fail(new MeshscopeError('MIRROR_TOO_LARGE', `the ${kind}'s initial contents (${declaredSize} items) are over this mirror's maxSize of ${maxSize}`))
      return
    }
    // A turn later: the subclass's fields exist before the first event is applied.
    void Promise.resolve().then(() => this.#run())
  }

  /** The mirrored contents now (kept after `done`, and as they were when the mirror failed). */
  abstract get value(): V

  /** `value`, or the error the mirror failed with. */
  borrow(): V {
    if (this.#error) throw this.#error
    return this.value
  }

  /** True once the contents at subscription time have all arrived. */
  get complete(): boolean {
    return this.#complete
  }

  /** True once the owner called `done()`: the contents are final. */
  get done(): boolean {
    return this.#done
  }

  /**
   * Why the mirror stopped following its owner: CHANNEL_CLOSED (the owner went away without
   * `done()`, or this mirror was closed), CHANNEL_LAGGED (shed: subscribe again), MIRROR_TOO_LARGE,
   * MIRROR_BAD_INDEX, MIRROR_BAD_EVENT, or the channel's own errors.
   */
  get error(): MeshscopeError | undefined {
    return this.#error
  }

  /** Resolves once `complete`; rejects if the mirror fails first. */
  whenComplete(): Promise<void> {
    return this.#completed.promise
  }

  /** Resolves once `done`; rejects if the mirror fails first. */
  whenDone(): Promise<void> {
    return this.#finished.promise
  }

  /**
   * Resolves at the next change (or when the mirror becomes complete or done); at once if it is
   * done already. Rejects with `error` once the mirror failed.
   */
  changed(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error)
    if (this.#done) return Promise.resolve()
    return new Promise((resolve, reject) => this.#changeWaiters.push({ resolve, reject }))
  }

  /**
   * The changes applied from now on, in order; the loop ends once the owner is done and throws the
   * mirror's error if it fails (or CHANNEL_LAGGED if it reads more than `eventBuffer` behind).
   */
  async *[Symbol.asyncIterator](): AsyncIterator<C> {
    const queue = new ChangeQueue<C>(this.#eventBuffer)
    if (this.#error) queue.finish(this.#error)
    else if (this.#done) queue.finish()
    else this.#iterators.add(queue)
    try {
      for (;;) {
        const next = queue.items.shift()
        if (next !== undefined) {
          yield next
          continue
        }
        if (queue.end) {
          if (queue.end.error) throw queue.end.error
          return
        }
        await new Promise<void>((resolve) => (queue.wake = resolve))
      }
    } finally {
      this.#iterators.delete(queue)
    }
  }

  /**
   * Stops mirroring: the owner forgets this subscriber; the mirror keeps its contents and, unless it
   * was done, fails with CHANNEL_CLOSED.
   */
  close(): void {
    if (this.#done && !this.#stopped) {
      // Final contents stay as they are; only the channel goes.
      this.#stopped = true
      this.#receiver.close()
      return
    }
    this.#fail(new ChannelClosedError('closed', 'this mirror was closed'))
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /** @internal applies initial contents; throws MeshscopeError (MIRROR_TOO_LARGE, MIRROR_BAD_EVENT). */
  protected abstract applyInitial(items: unknown[]): void

  /** @internal applies a change; throws MeshscopeError (MIRROR_TOO_LARGE, MIRROR_BAD_INDEX). */
  protected abstract applyChange(change: C): void

  /** @internal throws MIRROR_TOO_LARGE unless `extra` more items fit within maxSize. */
  protected ensureRoom(size: number, extra: number): void {
    if (size + extra > this.maxSize) throw new MeshscopeError('MIRROR_TOO_LARGE', `this mirrored ${this.#kind} would grow past its maxSize of ${this.maxSize}`)
  }

  async #run(): Promise<void> {
    for (;;) {
      let raw: unknown
      try {
        raw = await this.#receiver.recv()
      } catch (error) {
        this.#fail(asMeshscopeError(error))
        return
      }
      if (this.#stopped) return
      if (raw === undefined) {
        if (!this.#done)
          this.#fail(new ChannelClosedError(this.#receiver.senderGone ?? 'closed', `the observable ${this.#kind}'s owner went away without done()`))
        this.#stopped = true
        return
      }
      try {
        this.#handle(raw)
      } catch (error) {
        this.#fail(asMeshscopeError(error))
        return
      }
    }
  }

  #handle(raw: unknown): void {
    const event = parseEvent(this.#kind, raw)
    if (typeof event === 'string') throw new MeshscopeError('MIRROR_BAD_EVENT', event)
    if (this.#done) throw new MeshscopeError('MIRROR_BAD_EVENT', `a "${event.type}" event after done`)
    switch (event.type) {
      case 'lagged':
        throw new MeshscopeError('CHANNEL_LAGGED', `this mirror fell too far behind its observable ${this.#kind} and was shed; subscribe again`)
      case 'init':
        if (this.#complete) throw new MeshscopeError('MIRROR_BAD_EVENT', 'initial contents after complete')
        this.#initialItems += event.items.length
        if (this.#initialItems > this.#declaredSize) throw new MeshscopeError('MIRROR_BAD_EVENT', 'more initial contents than the subscription declared')
        this.applyInitial(event.items)
        return
      case 'complete':
        if (this.#complete) throw new MeshscopeError('MIRROR_BAD_EVENT', 'a second complete')
        if (this.#initialItems !== this.#declaredSize) throw new MeshscopeError('MIRROR_BAD_EVENT', 'fewer initial contents than the subscription declared')
        this.#complete = true
        this.#completed.resolve()
        this.#notify()
        return
      case 'done':
        if (!this.#complete) throw new MeshscopeError('MIRROR_BAD_EVENT', 'done before the initial contents were complete')
        this.#done = true
        this.#finished.resolve()
        for (const queue of this.#iterators) queue.finish()
        this.#notify()
        return
      case 'change':
        if (!this.#complete) throw new MeshscopeError('MIRROR_BAD_EVENT', 'a change before the initial contents were complete')
        this.applyChange(event.change as C)
        for (const queue of this.#iterators) queue.add(event.change as C)
        this.#notify()
    }
  }

  #notify(): void {
    for (const waiter of this.#changeWaiters.splice(0)) waiter.resolve()
  }

  #fail(error: MeshscopeError): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#error = error
    this.#receiver.close()
    this.#completed.reject(error)
    this.#finished.reject(error)
    for (const waiter of this.#changeWaiters.splice(0)) waiter.reject(error)
    for (const queue of this.#iterators) queue.finish(error)
  }
}
