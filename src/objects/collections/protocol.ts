/**
 * The wire form of an observable collection's subscription: the subscription is an mpsc receiver
 * (port kind `observable`, see ./ports.ts) whose items are these events, each an array whose first
 * element names it. In order: `init` chunks with the contents at subscription time, one `complete`,
 * then the changes, then `done` — or `lagged` if the owner shed this subscriber. The channel ending
 * without `done` means the owner went away. `parseEvent` checks the shape of anything a peer sends
 * and never throws; whether an index exists is the mirror's question (it knows the length).
 */

/** Which collection a subscription mirrors. */
export type CollectionKind = 'map' | 'set' | 'array' | 'list'

export const COLLECTION_KINDS: readonly CollectionKind[] = ['map', 'set', 'array', 'list']

/** A change to an `ObservableMap`. */
export type MapChange<K, V> = { type: 'set'; key: K; value: V } | { type: 'delete'; key: K } | { type: 'clear' }

/** A change to an `ObservableSet`. */
export type SetChange<T> = { type: 'add'; value: T } | { type: 'delete'; value: T } | { type: 'clear' }

/** A change to an `ObservableArray`: the `Array` method that made it, with its arguments. */
export type ArrayChange<T> =
  | { type: 'push'; values: T[] }
  | { type: 'pop' }
  | { type: 'shift' }
  | { type: 'unshift'; values: T[] }
  | { type: 'set'; index: number; value: T }
  | { type: 'insert'; index: number; value: T }
  | { type: 'remove'; index: number }
  | { type: 'splice'; start: number; deleteCount: number; items: T[] }
  | { type: 'clear' }

/** A change to an `ObservableList` (append-only). */
export type ListChange<T> = { type: 'push'; values: T[] }

/** Any kind's change. */
export type CollectionChange = MapChange<unknown, unknown> | SetChange<unknown> | ArrayChange<unknown> | ListChange<unknown>

/** An event as it travels. */
export type WireEvent = unknown[]

/** A parsed event: contents, a marker, or a change. */
export type CollectionEvent<C> =
  | { type: 'init'; items: unknown[] }
  | { type: 'complete' }
  | { type: 'done' }
  | { type: 'lagged' }
  | { type: 'change'; change: C }

/** The change as it travels: `['set', key, value]`, `['splice', start, deleteCount, items]`, … */
export function encodeChange(change: CollectionChange): WireEvent {
  switch (change.type) {
    case 'set':
      return 'key' in change ? ['set', change.key, change.value] : ['set', change.index, change.value]
    case 'delete':
      return 'key' in change ? ['delete', change.key] : ['delete', change.value]
    case 'add':
      return ['add', change.value]
    case 'push':
    case 'unshift':
      return [change.type, change.values]
    case 'insert':
      return ['insert', change.index, change.value]
    case 'remove':
      return ['remove', change.index]
    case 'splice':
      return ['splice', change.start, change.deleteCount, change.items]
    default:
      return [change.type]
  }
}

const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

/** Shapes each kind's changes may take: the op name and a check of the arguments. */
const CHANGE_SHAPES: Record<CollectionKind, Record<string, (args: unknown[]) => CollectionChange | undefined>> = {
  map: {
    set: (a) => (a.length === 2 ? { type: 'set', key: a[0], value: a[1] } : undefined),
    delete: (a) => (a.length === 1 ? { type: 'delete', key: a[0] } : undefined),
    clear: (a) => (a.length === 0 ? { type: 'clear' } : undefined),
  },
  set: {
    add: (a) => (a.length === 1 ? { type: 'add', value: a[0] } : undefined),
    delete: (a) => (a.length === 1 ? { type: 'delete', value: a[0] } : undefined),
    clear: (a) => (a.length === 0 ? { type: 'clear' } : undefined),
  },
  array: {
    push: (a) => (a.length === 1 && Array.isArray(a[0]) ? { type: 'push', values: a[0] } : undefined),
    pop: (a) => (a.length === 0 ? { type: 'pop' } : undefined),
    shift: (a) => (a.length === 0 ? { type: 'shift' } : undefined),
    unshift: (a) => (a.length === 1 && Array.isArray(a[0]) ? { type: 'unshift', values: a[0] } : undefined),
    set: (a) => (a.length === 2 && isIndex(a[0]) ? { type: 'set', index: a[0], value: a[1] } : undefined),
    insert: (a) => (a.length === 2 && isIndex(a[0]) ? { type: 'insert', index: a[0], value: a[1] } : undefined),
    remove: (a) => (a.length === 1 && isIndex(a[0]) ? { type: 'remove', index: a[0] } : undefined),
    splice: (a) =>
      a.length === 3 && isIndex(a[0]) && isIndex(a[1]) && Array.isArray(a[2]) ? { type: 'splice', start: a[0], deleteCount: a[1], items: a[2] } : undefined,
    clear: (a) => (a.length === 0 ? { type: 'clear' } : undefined),
  },
  list: {
    push: (a) => (a.length === 1 && Array.isArray(a[0]) ? { type: 'push', values: a[0] } : undefined),
  },
}

/** Reads one event of a `kind` subscription; a shape it does not know is a string saying why. */
export function parseEvent(kind: CollectionKind, raw: unknown): CollectionEvent<CollectionChange> | string {
  if (!Array.isArray(raw) || raw.length === 0 || typeof raw[0] !== 'string') return 'an event must be an array that starts with its name'
  const [name, ...args] = raw as [string, ...unknown[]]
  if (name === 'init') {
    if (args.length !== 1 || !Array.isArray(args[0])) return 'an init event carries one array of items'
    if (kind === 'map' && !args[0].every((entry) => Array.isArray(entry) && entry.length === 2)) return 'a map’s initial entries must be [key, value] pairs'
    return { type: 'init', items: args[0] }
  }
  if (name === 'complete' || name === 'done' || name === 'lagged') return args.length === 0 ? { type: name } : `a ${name} event carries nothing`
  const shapes = CHANGE_SHAPES[kind]
  const shape = Object.hasOwn(shapes, name) ? shapes[name] : undefined
  if (!shape) return `"${name.slice(0, 20)}" is not a change of an observable ${kind}`
  const change = shape(args)
  return change ? { type: 'change', change } : `a malformed "${name}" event`
}
