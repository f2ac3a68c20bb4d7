/** ObservableMap: a Map whose changes its subscribers' mirrors (MirroredMap) follow — remoc's `robs::hash_map`. */
import type { Receiver } from '../../channels/mpsc.js'
import { MeshscopeError } from '../../errors.js'
import { ObservableCollection, type SubscribeOptions } from './collection.js'
import { Mirror, type MirrorOptions } from './mirror.js'
import type { MapChange } from './protocol.js'
import { CollectionSubscription } from './subscription.js'

/**
 * A `Map` that sends every change to its subscribers. Use it as a Map; `subscribe()` gives a
 * subscription to send to another peer, whose `mirror()` keeps a live copy there. Keys are compared
 * as in a Map, so on a mirror only primitive keys (strings, numbers…) find their entry by value.
 * Once `done()` or `close()` was called, `set`, `delete` and `clear` throw COLLECTION_DONE.
 */
export class ObservableMap<K, V> extends ObservableCollection implements Iterable<[K, V]> {
  readonly #map: Map<K, V>

  constructor(entries?: Iterable<readonly [K, V]>) {
    super('map')
    this.#map = new Map(entries)
  }

  get size(): number {
    return this.#map.size
  }

  /** The contents, read-only (change them through this collection). */
  get value(): ReadonlyMap<K, V> {
    return this.#map
  }

  get(key: K): V | undefined {
    return this.#map.get(key)
  }

  has(key: K): boolean {
    return this.#map.has(key)
  }

  set(key: K, value: V): this {
    this.assertMutable()
    this.#map.set(key, value)
    this.emit({ type: 'set', key, value })
    return this
  }

  delete(key: K): boolean {
    this.assertMutable()
    if (!this.#map.delete(key)) return false
    this.emit({ type: 'delete', key })
    return true
  }

  clear(): void {
    this.assertMutable()
    this.#map.clear()
    this.emit({ type: 'clear' })
  }

  keys(): MapIterator<K> {
    return this.#map.keys()
  }

  values(): MapIterator<V> {
    return this.#map.values()
  }

  entries(): MapIterator<[K, V]> {
    return this.#map.entries()
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [key, value] of this.#map) callback(value, key, this.#map)
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map.entries()
  }

  /** A subscription to send to the peer that will mirror this map (or to mirror here). Throws INVALID_ARGUMENT, COLLECTION_DONE after `close()`. */
  subscribe(options?: SubscribeOptions): MapSubscription<K, V> {
    const entries = [...this.#map]
    return new MapSubscription(this.subscribeParts({ count: entries.length, chunk: (from, to) => entries.slice(from, to) }, options))
  }
}

/** A subscription to an ObservableMap, sendable inside any value. */
export class MapSubscription<K, V> extends CollectionSubscription {
  /** A live copy of the map here. Once only; throws CHANNEL_MOVED if the subscription was sent on. */
  mirror(options?: MirrorOptions): MirroredMap<K, V> {
    return new MirroredMap(this.takeReceiver(), this.size, options)
  }
}

/** A live, read-only copy of an ObservableMap on another peer (or this one). */
export class MirroredMap<K, V> extends Mirror<MapChange<K, V>, ReadonlyMap<K, V>> {
  readonly #map = new Map<K, V>()

  /** @internal use `MapSubscription.mirror()` */
  constructor(receiver: Receiver<unknown>, size: number, options?: MirrorOptions) {
    super(receiver, 'map', size, options)
  }

  get value(): ReadonlyMap<K, V> {
    return this.#map
  }

  protected applyInitial(items: unknown[]): void {
    for (const [key, value] of items as Array<[K, V]>) this.#set(key, value)
  }

  protected applyChange(change: MapChange<K, V>): void {
    if (change.type === 'set') this.#set(change.key, change.value)
    else if (change.type === 'delete') this.#map.delete(change.key)
    else if (change.type === 'clear') this.#map.clear()
    else throw new MeshscopeError('MIRROR_BAD_EVENT', 'not a map change')
  }

  #set(key: K, value: V): void {
    if (!this.#map.has(key)) this.ensureRoom(this.#map.size, 1)
    this.#map.set(key, value)
  }
}
