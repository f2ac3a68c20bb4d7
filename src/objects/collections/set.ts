/** ObservableSet: a Set whose changes its subscribers' mirrors (MirroredSet) follow — remoc's `robs::hash_set`. */
import type { Receiver } from '../../channels/mpsc.js'
import { MeshscopeError } from '../../errors.js'
import { ObservableCollection, type SubscribeOptions } from './collection.js'
import { Mirror, type MirrorOptions } from './mirror.js'
import type { SetChange } from './protocol.js'
import { CollectionSubscription } from './subscription.js'

/**
 * A `Set` that sends every change to its subscribers. Use it as a Set; `subscribe()` gives a
 * subscription to send to another peer, whose `mirror()` keeps a live copy there (only primitive
 * values are found there by value). Once `done()` or `close()` was called, `add`, `delete` and
 * `clear` throw COLLECTION_DONE.
 */
export class ObservableSet<T> extends ObservableCollection implements Iterable<T> {
  readonly #set: Set<T>

  constructor(values?: Iterable<T>) {
    super('set')
    this.#set = new Set(values)
  }

  get size(): number {
    return this.#set.size
  }

  /** The contents, read-only (change them through this collection). */
  get value(): ReadonlySet<T> {
    return this.#set
  }

  has(value: T): boolean {
    return this.#set.has(value)
  }

  add(value: T): this {
    this.assertMutable()
    if (this.#set.has(value)) return this
    this.#set.add(value)
    this.emit({ type: 'add', value })
    return this
  }

  delete(value: T): boolean {
    this.assertMutable()
    if (!this.#set.delete(value)) return false
    this.emit({ type: 'delete', value })
    return true
  }

  clear(): void {
    this.assertMutable()
    this.#set.clear()
    this.emit({ type: 'clear' })
  }

  values(): SetIterator<T> {
    return this.#set.values()
  }

  keys(): SetIterator<T> {
    return this.#set.values()
  }

  entries(): SetIterator<[T, T]> {
    return this.#set.entries()
  }

  forEach(callback: (value: T, key: T, set: ReadonlySet<T>) => void): void {
    for (const value of this.#set) callback(value, value, this.#set)
  }

  [Symbol.iterator](): SetIterator<T> {
    return this.#set.values()
  }

  /** A subscription to send to the peer that will mirror this set (or to mirror here). Throws INVALID_ARGUMENT, COLLECTION_DONE after `close()`. */
  subscribe(options?: SubscribeOptions): SetSubscription<T> {
    const values = [...this.#set]
    return new SetSubscription(this.subscribeParts({ count: values.length, chunk: (from, to) => values.slice(from, to) }, options))
  }
}

/** A subscription to an ObservableSet, sendable inside any value. */
export class SetSubscription<T> extends CollectionSubscription {
  /** A live copy of the set here. Once only; throws CHANNEL_MOVED if the subscription was sent on. */
  mirror(options?: MirrorOptions): MirroredSet<T> {
    return new MirroredSet(this.takeReceiver(), this.size, options)
  }
}

/** A live, read-only copy of an ObservableSet on another peer (or this one). */
export class MirroredSet<T> extends Mirror<SetChange<T>, ReadonlySet<T>> {
  readonly #set = new Set<T>()

  /** @internal use `SetSubscription.mirror()` */
  constructor(receiver: Receiver<unknown>, size: number, options?: MirrorOptions) {
    super(receiver, 'set', size, options)
  }

  get value(): ReadonlySet<T> {
    return this.#set
  }

  protected applyInitial(items: unknown[]): void {
    for (const value of items as T[]) this.#add(value)
  }

  protected applyChange(change: SetChange<T>): void {
    if (change.type === 'add') this.#add(change.value)
    else if (change.type === 'delete') this.#set.delete(change.value)
    else if (change.type === 'clear') this.#set.clear()
    else throw new MeshscopeError('MIRROR_BAD_EVENT', 'not a set change')
  }

  #add(value: T): void {
    if (!this.#set.has(value)) this.ensureRoom(this.#set.size, 1)
    this.#set.add(value)
  }
}
