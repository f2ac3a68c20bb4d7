/**
 * ObservableList: an append-only list whose subscribers' mirrors (MirroredList) follow it — remoc's
 * `robs::list`. Being append-only, a subscription needs no copy of the contents: it reads them by
 * index as it sends them, so a list suits a long log (a chat) with many subscribers.
 */
import type { Receiver } from '../../channels/mpsc.js'
import { MeshscopeError } from '../../errors.js'
import { ObservableCollection, type SubscribeOptions } from './collection.js'
import { Mirror, type MirrorOptions } from './mirror.js'
import type { ListChange } from './protocol.js'
import { CollectionSubscription } from './subscription.js'

/** An append-only list: `push` adds; `done()` or `close()` freezes it (`push` then throws COLLECTION_DONE). */
export class ObservableList<T> extends ObservableCollection implements Iterable<T> {
  readonly #items: T[]

  constructor(values?: Iterable<T>) {
    super('list')
    this.#items = values ? [...values] : []
  }

  get length(): number {
    return this.#items.length
  }

  /** The contents, read-only (add to them with `push`). */
  get value(): readonly T[] {
    return this.#items
  }

  at(index: number): T | undefined {
    return this.#items.at(index)
  }

  push(...values: T[]): number {
    this.assertMutable()
    for (const value of values) this.#items.push(value)
    if (values.length > 0) this.emit({ type: 'push', values })
    return this.#items.length
  }

  [Symbol.iterator](): ArrayIterator<T> {
    return this.#items.values()
  }

  /** A subscription to send to the peer that will mirror this list (or to mirror here). Throws INVALID_ARGUMENT, COLLECTION_DONE after `close()`. */
  subscribe(options?: SubscribeOptions): ListSubscription<T> {
    // Items below `count` never change: the feed reads them from the list itself as it sends them.
    const items = this.#items
    return new ListSubscription(this.subscribeParts({ count: items.length, chunk: (from, to) => items.slice(from, to) }, options))
  }
}

/** A subscription to an ObservableList, sendable inside any value. */
export class ListSubscription<T> extends CollectionSubscription {
  /** A live copy of the list here. Once only; throws CHANNEL_MOVED if the subscription was sent on. */
  mirror(options?: MirrorOptions): MirroredList<T> {
    return new MirroredList(this.takeReceiver(), this.size, options)
  }
}

/** A live, read-only copy of an ObservableList on another peer (or this one). */
export class MirroredList<T> extends Mirror<ListChange<T>, readonly T[]> {
  readonly #items: T[] = []

  /** @internal use `ListSubscription.mirror()` */
  constructor(receiver: Receiver<unknown>, size: number, options?: MirrorOptions) {
    super(receiver, 'list', size, options)
  }

  get value(): readonly T[] {
    return this.#items
  }

  protected applyInitial(items: unknown[]): void {
    this.#push(items as T[])
  }

  protected applyChange(change: ListChange<T>): void {
    if (change.type !== 'push') throw new MeshscopeError('MIRROR_BAD_EVENT', 'not a list change')
    this.#push(change.values)
  }

  #push(values: readonly T[]): void {
    this.ensureRoom(this.#items.length, values.length)
    for (const value of values) this.#items.push(value)
  }
}
