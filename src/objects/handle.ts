/**
 * Handles (remoc's `robj::handle`): `handle(value)` gives a reference to a local object that can
 * travel to other peers inside any value. Where it was created, `get()` gives the original object
 * back; anywhere else `get()` fails with HANDLE_NOT_LOCAL, but the handle can be sent on (to a third
 * peer, or home). The creator keeps the object while a handle to it exists anywhere and forgets it
 * when the last is closed or collected (`onRelease` is then called).
 *
 * Sending a handle moves it, like a channel half: the sent copy stops working here (`clone()` first
 * to keep one). Each handle that crossed a connection holds a port stream there; a forwarding peer
 * keeps its own upstream stream until the copy it sent on is dropped, so a drop anywhere walks back
 * to the creator. A handle carries an id: `<scope>.<object>`, two random 128-bit hex strings, the
 * first naming the creating peer (its mesh, or the connection when there is no mesh) and the second
 * the object. A handle arriving at its creator whose object id is not live there is forged or stale:
 * refused with HANDLE_UNKNOWN, and no id reaches an object it was not minted for.
 */
import type { Connection } from '../channels/connection.js'
import { ENCODE_PORT, type PortDecoder, type PortPlan } from '../channels/port.js'
import { MeshscopeError } from '../errors.js'
import { ObjectStream, RefCount } from './object-stream.js'

export interface HandleOptions<T> {
  /** A name for the kind of object, checked by `get(kind)`. Default: the value's constructor name. */
  kind?: string
  /** Called once when the last handle anywhere is dropped and the creator lets go of the value. */
  onRelease?: (value: T) => void
}

interface Entry {
  value: unknown
  kind: string
  refs: number
  objectId: string
  /** Its full ids in `live` (one per scope it was sent from). */
  ids: Set<string>
  onRelease: ((value: never) => void) | undefined
}

/** Live objects of this process by their full id (scope id + object id). */
const live = new Map<string, Entry>()
/** A random id per creating scope: the mesh (its router), or the bare connection. */
const scopeIds = new WeakMap<object, string>()

function scopeOf(connection: Connection): object {
  return connection.router ?? connection
}

function scopeIdOf(connection: Connection): string {
  const scope = scopeOf(connection)
  let id = scopeIds.get(scope)
  if (!id) scopeIds.set(scope, (id = randomHex()))
  return id
}

function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

const ID_PATTERN = /^([0-9a-f]{32})\.([0-9a-f]{32})$/

function release(entry: Entry): void {
  if (--entry.refs > 0) return
  for (const id of entry.ids) live.delete(id)
  const onRelease = entry.onRelease
  entry.onRelease = undefined
  onRelease?.(entry.value as never)
}

type State = { at: 'home'; entry: Entry } | { at: 'remote'; id: string; upstream: RefCount } | { at: 'moved' } | { at: 'closed' }

/** Collected handles let go of their reference (the remote drop reaches the creator). */
const drops = new FinalizationRegistry<() => void>((drop) => drop())

/** Makes a handle to `value`; the value stays here. */
export function handle<T>(value: T, options: HandleOptions<T> = {}): Handle<T> {
  const kind = options.kind ?? defaultKind(value)
  const entry: Entry = { value, kind, refs: 1, objectId: randomHex(), ids: new Set(), onRelease: options.onRelease as Entry['onRelease'] }
  return new Handle<T>({ at: 'home', entry }, kind)
}

function defaultKind(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object' || typeof value === 'function') return (value as { constructor?: { name?: string } }).constructor?.name ?? 'Object'
  return typeof value
}

export class Handle<T = unknown> {
  #state: State

  /** @internal use `handle(value)` */
  constructor(
    state: State,
    /** The kind the creator gave the object (for a received handle, as its sender said). */
    readonly kind: string,
  ) {
    this.#state = state
    drops.register(this, this.#dropper(state), this)
  }

  /** Whether `get()` works here: this is the creating peer and the handle is open. */
  get isLocal(): boolean {
    return this.#state.at === 'home'
  }

  /**
   * The object, at the creating peer. Throws HANDLE_NOT_LOCAL on any other peer, HANDLE_WRONG_KIND if
   * `expected` (a kind name, or a class the object must be an instance of) does not match, and
   * OBJECT_MOVED / OBJECT_GONE for a handle that was sent away / closed.
   */
  get(kind?: string): T
  // biome-ignore lint/suspicious/noExplicitAny: a class of any constructor signature
  get<U>(expected: abstract new (...args: any[]) => U): U
  // biome-ignore lint/suspicious/noExplicitAny: as above
  get(expected?: string | (abstract new (...args: any[]) => unknown)): unknown {
    const state = this.#state
    if (state.at === 'moved') throw new MeshscopeError('OBJECT_MOVED', 'this handle was sent to another peer')
    if (state.at === 'closed') throw new MeshscopeError('OBJECT_GONE', 'this handle was closed')
    if (state.at === 'remote') throw new MeshscopeError('HANDLE_NOT_LOCAL', 'a handle can be dereferenced only on the peer that created it')
    const { value, kind } = state.entry
    if (typeof expected === 'string' && expected !== kind) throw new MeshscopeError('HANDLE_WRONG_KIND', `the handle is to a ${kind}, not a ${expected}`)
    if (typeof expected === 'function' && !(value instanceof expected))
      throw new MeshscopeError('HANDLE_WRONG_KIND', `the handle is to a ${kind}, not a ${expected.name}`)
    return value
  }

  /** Another handle to the same object (sending a handle moves it; clone first to keep one). */
  clone(): Handle<T> {
    const state = this.#state
    if (state.at === 'home') {
      state.entry.refs++
      return new Handle<T>({ at: 'home', entry: state.entry }, this.kind)
    }
    if (state.at === 'remote') {
      state.upstream.acquire()
      return new Handle<T>({ at: 'remote', id: state.id, upstream: state.upstream }, this.kind)
    }
    throw new MeshscopeError(state.at === 'moved' ? 'OBJECT_MOVED' : 'OBJECT_GONE', `this handle was ${state.at === 'moved' ? 'sent away' : 'closed'}`)
  }

  /** Drops this handle; when it was the last anywhere, the creator lets go of the object. Idempotent. */
  close(): void {
    this.#leave({ at: 'closed' })
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /** @internal The id a received handle travels with (the tests play a peer that forges one). */
  static wireIdOf(handle: Handle): string | undefined {
    const state = handle.#state
    return state.at === 'remote' ? state.id : undefined
  }

  #leave(next: State): void {
    const state = this.#state
    if (state.at === 'moved' || state.at === 'closed') return
    this.#state = next
    drops.unregister(this)
    this.#dropper(state)()
  }

  #dropper(state: State): () => void {
    if (state.at === 'home') return () => release(state.entry)
    if (state.at === 'remote') return () => state.upstream.release()
    return () => {}
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    const state = this.#state
    if (state.at === 'moved' || state.at === 'closed')
      throw new MeshscopeError(state.at === 'moved' ? 'OBJECT_MOVED' : 'OBJECT_GONE', `this handle was ${state.at === 'moved' ? 'sent away' : 'closed'}`)
    const id = state.at === 'home' ? `${scopeIdOf(connection)}.${state.entry.objectId}` : state.id
    const stream = ObjectStream.open(connection)
    return {
      payload: { k: 'handle', s: stream.id, v: id, o: { t: this.kind.slice(0, 200) } },
      activate: () => {
        // The sent copy holds a reference for as long as its stream lives; this one moves into it.
        let letGo: () => void
        if (state.at === 'home') {
          live.set(id, state.entry)
          state.entry.ids.add(id)
          state.entry.refs++
          letGo = () => release(state.entry)
        } else {
          state.upstream.acquire()
          letGo = () => state.upstream.release()
        }
        this.#leave({ at: 'moved' })
        stream.close() // nothing flows this way; the holder closing (or vanishing) is the drop
        whenEnded(stream, letGo)
      },
      rollback: () => stream.reset('the value carrying this handle failed to encode'),
    }
  }
}

/** Runs `then` once the peer's side of the stream ended (closed, reset, or the session gone). */
function whenEnded(stream: ObjectStream, then: () => void): void {
  const drain = (): void => {
    stream.stream.receive().then(
      (bytes) => (bytes === null ? done() : drain()),
      () => done(),
    )
  }
  const done = (): void => {
    stream.finish()
    then()
  }
  drain()
}

/** Receiving side: at the creator, the original object's handle; anywhere else a remote handle. */
export const decodeHandlePort: PortDecoder = (connection, payload) => {
  const id = payload.v
  const kind = typeof payload.o?.t === 'string' ? payload.o.t : 'unknown'
  const match = typeof id === 'string' ? ID_PATTERN.exec(id) : null
  if (!match) {
    connection.claimPortStream(payload.s).reset('closed', 'malformed handle id')
    throw new MeshscopeError('HANDLE_UNKNOWN', 'a handle id must be two 32-digit hex strings joined by a dot')
  }
  const stream = ObjectStream.claim(connection, payload.s)
  if (match[1] === scopeIds.get(scopeOf(connection))) {
    // Home: the id must name a live object of ours, else it is forged (or the object is gone).
    const entry = live.get(id as string)
    stream.end() // our reference is direct from now on: the sender's chain can let go
    if (!entry) throw new MeshscopeError('HANDLE_UNKNOWN', 'a handle arrived home naming no live object here (forged or already released)')
    entry.refs++
    return new Handle({ at: 'home', entry }, entry.kind)
  }
  const upstream = new RefCount(() => stream.end())
  return new Handle({ at: 'remote', id: id as string, upstream }, kind)
}
