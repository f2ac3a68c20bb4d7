/** ObservableArray: an array whose changes its subscribers' mirrors (MirroredArray) follow — remoc's `robs::vec`. */
import type { Receiver } from '../../channels/mpsc.js'
import { MeshscopeError } from '../../errors.js'
import { ObservableCollection, type SubscribeOptions } from './collection.js'
import { Mirror, type MirrorOptions } from './mirror.js'
import type { ArrayChange } from './protocol.js'
import { CollectionSubscription } from './subscription.js'

/** `array.splice(start, deleteCount, ...items)` without spreading `items` into arguments (a long one would overflow the stack). */
function spliceInPlace<T>(array: T[], start: number, deleteCount: number, items: readonly T[]): T[] {
  if (items.length < 1024) return array.splice(start, deleteCount, ...items)
  const removed = array.slice(start, start + deleteCount)
  const tail = array.slice(start + deleteCount)
  array.length = start
  for (const item of items) array.push(item)
  for (const item of tail) array.push(item)
  return removed
}

function checkIndex(index: number, length: number, what: string): void {
  if (!Number.isSafeInteger(index) || index < 0 || index > length) throw new MeshscopeError('INVALID_ARGUMENT', `${what} ${index} is outside 0..${length}`)
}

/**
 * An array that sends every change to its subscribers: the `Array` methods that change it (`push`,
 * `pop`, `shift`, `unshift`, `splice`), plus `set(index, value)` (for `array[index] = value`),
 * `insert`, `remove` and `clear`; read it through `value` (a read-only array), `at` and `length`.
 * Once `done()` or `close()` was called, every change throws COLLECTION_DONE.
 */
export class ObservableArray<T> extends ObservableCollection implements Iterable<T> {
  readonly #array: T[]

  constructor(values?: Iterable<T>) {
    super('array')
    this.#array = values ? [...values] : []
  }

  get length(): number {
    return this.#array.length
  }

  /** The contents, read-only (change them through this collection). */
  get value(): readonly T[] {
    return this.#array
  }

  at(index: number): T | undefined {
    return this.#array.at(index)
  }

  push(...values: T[]): number {
    this.assertMutable()
    for (const value of values) this.#array.push(value)
    if (values.length > 0) this.emit({ type: 'push', values })
    return this.#array.length
  }

  pop(): T | undefined {
    this.assertMutable()
    if (this.#array.length === 0) return undefined
    const value = this.#array.pop()
    this.emit({ type: 'pop' })
    return value
  }

  shift(): T | undefined {
    this.assertMutable()
    if (this.#array.length === 0) return undefined
    const value = this.#array.shift()
    this.emit({ type: 'shift' })
    return value
  }

  unshift(...values: T[]): number {
    this.assertMutable()
    spliceInPlace(this.#array, 0, 0, values)
    if (values.length > 0) this.emit({ type: 'unshift', values })
    return this.#array.length
  }

  /** `array[index] = value`, for an index that exists. Throws INVALID_ARGUMENT for one that does not. */
  set(index: number, value: T): void {
    this.assertMutable()
    checkIndex(index, this.#array.length - 1, 'index')
    this.#array[index] = value
    this.emit({ type: 'set', index, value })
  }

  /** Inserts `value` before `index` (0..length). Throws INVALID_ARGUMENT for an index outside. */
  insert(index: number, value: T): void {
    this.assertMutable()
    checkIndex(index, this.#array.length, 'index')
    this.#array.splice(index, 0, value)
    this.emit({ type: 'insert', index, value })
  }

  /** Removes and returns the element at `index`. Throws INVALID_ARGUMENT for an index that does not exist. */
  remove(index: number): T {
    this.assertMutable()
    checkIndex(index, this.#array.length - 1, 'index')
    const [value] = this.#array.splice(index, 1)
    this.emit({ type: 'remove', index })
    return value as T
  }

  /** As `Array.prototype.splice` (a negative start counts from the end). */
  splice(start: number, deleteCount?: number, ...items: T[]): T[] {
    this.assertMutable()
    const length = this.#array.length
    const from = start < 0 ? Math.max(0, length + Math.trunc(start)) : Math.min(Math.trunc(start) || 0, length)
    const count = deleteCount === undefined ? length - from : Math.min(Math.max(0, Math.trunc(deleteCount) || 0), length - from)
    const removed = spliceInPlace(this.#array, from, count, items)
    if (count > 0 || items.length > 0) this.emit({ type: 'splice', start: from, deleteCount: count, items })
    return removed
  }

  clear(): void {
    this.assertMutable()
    this.#array.length = 0
    this.emit({ type: 'clear' })
  }

  [Symbol.iterator](): ArrayIterator<T> {
    return this.#array.values()
  }

  /** A subscription to send to the peer that will mirror this array (or to mirror here). Throws INVALID_ARGUMENT, COLLECTION_DONE after `close()`. */
  subscribe(options?: SubscribeOptions): ArraySubscription<T> {
    const values = this.#array.slice()
    return new ArraySubscription(this.subscribeParts({ count: values.length, chunk: (from, to) => values.slice(from, to) }, options))
  }
}

/** A subscription to an ObservableArray, sendable inside any value. */
export class ArraySubscription<T> extends CollectionSubscription {
  /** A live copy of the array here. Once only; throws CHANNEL_MOVED if the subscription was sent on. */
  mirror(options?: MirrorOptions): MirroredArray<T> {
    return new MirroredArray(this.takeReceiver(), this.size, options)
  }
}

/** A live, read-only copy of an ObservableArray on another peer (or this one). */
export class MirroredArray<T> extends Mirror<ArrayChange<T>, readonly T[]> {
  readonly #array: T[] = []

  /** @internal use `ArraySubscription.mirror()` */
  constructor(receiver: Receiver<unknown>, size: number, options?: MirrorOptions) {
    super(receiver, 'array', size, options)
  }

  get value(): readonly T[] {
    return this.#array
  }

  protected applyInitial(items: unknown[]): void {
    this.ensureRoom(this.#array.length, items.length)
    for (const item of items as T[]) this.#array.push(item)
  }

  protected applyChange(change: ArrayChange<T>): void {
    const array = this.#array
    const length = array.length
    const needIndex = (index: number, max: number) => {
      if (index > max) throw new MeshscopeError('MIRROR_BAD_INDEX', `a "${change.type}" at index ${index} of a mirrored array of length ${length}`)
    }
    switch (change.type) {
      case 'push':
        this.ensureRoom(length, change.values.length)
        for (const value of change.values) array.push(value)
        return
      case 'pop':
      case 'shift':
        needIndex(0, length - 1)
        if (change.type === 'pop') array.pop()
        else array.shift()
        return
      case 'unshift':
        this.ensureRoom(length, change.values.length)
        spliceInPlace(array, 0, 0, change.values)
        return
      case 'set':
        needIndex(change.index, length - 1)
        array[change.index] = change.value
        return
      case 'insert':
        needIndex(change.index, length)
        this.ensureRoom(length, 1)
        array.splice(change.index, 0, change.value)
        return
      case 'remove':
        needIndex(change.index, length - 1)
        array.splice(change.index, 1)
        return
      case 'splice':
        needIndex(change.start, length)
        needIndex(change.start + change.deleteCount, length)
        this.ensureRoom(length - change.deleteCount, change.items.length)
        spliceInPlace(array, change.start, change.deleteCount, change.items)
        return
      case 'clear':
        array.length = 0
        return
    }
    throw new MeshscopeError('MIRROR_BAD_EVENT', 'not an array change')
  }
}
