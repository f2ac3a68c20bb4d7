/**
 * Lazy values (remoc's `robj::lazy`): `lazy(value)` or `lazy(() => promise)` travels inside any
 * value as a small port; the value itself crosses only when a receiver calls `get()` — one round
 * trip, once: later and concurrent `get()`s share it. A received lazy can be sent on to a third
 * peer, which then fetches through this one (from its cached copy once fetched).
 *
 * The providing side produces the value once (a factory is called on the first fetch from anywhere)
 * and answers each receiver on the lazy's own stream:
 *
 *   receiver → provider   [0]              fetch
 *   provider → receiver   [0, value]       the value (it may carry ports of its own)
 *                         [1, error]       producing or encoding it failed
 *
 * A provider answers one fetch per stream and reads nothing else, so a receiver can queue nothing
 * there. A receiver whose provider goes away (or closes without answering) gets OBJECT_GONE.
 */
import type { Connection } from '../channels/connection.js'
import { ENCODE_PORT, type PortDecoder, type PortPlan } from '../channels/port.js'
import { MeshscopeError } from '../errors.js'
import { ObjectStream, RefCount, objectGone } from './object-stream.js'

const FETCH = 0
const VALUE = 0
const FAILED = 1

/** Where a lazy's value comes from here: the value or factory (the creator), or an upstream peer. */
interface LazySource<T> {
  fetch(): Promise<T>
  /** Held by the local object and by each copy sent on; the last release ends an upstream stream. */
  users: RefCount
}

const drops = new FinalizationRegistry<RefCount>((users) => users.release())

/**
 * A value fetched only when a receiver asks for it. A function is taken as the factory (called once,
 * on the first fetch); to send a function itself lazily, return it from one: `lazy(() => fn)`.
 */
export function lazy<T>(source: T | (() => T | Promise<T>)): Lazy<T> {
  const factory = typeof source === 'function' ? (source as () => T | Promise<T>) : () => source as T
  return new Lazy<T>({ fetch: once(async () => factory()), users: new RefCount(() => {}) })
}

function once<T>(fetch: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined
  return () => {
    result ??= fetch()
    return result
  }
}

export class Lazy<T> {
  #source: LazySource<T>
  #closed = false

  /** @internal use `lazy(value)` */
  constructor(source: LazySource<T>) {
    this.#source = source
    drops.register(this, source.users, this)
  }

  /**
   * The value: fetched from the providing peer on the first call (one round trip), the same promise
   * afterwards. Rejects with OBJECT_GONE if the provider went away first, or with the provider's
   * error if producing the value failed there.
   */
  get(): Promise<T> {
    if (this.#closed) return Promise.reject(new MeshscopeError('OBJECT_GONE', 'this lazy value was closed'))
    return this.#source.fetch()
  }

  /** Stops using it here (copies sent on keep working). Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    drops.unregister(this)
    this.#source.users.release()
  }

  [Symbol.dispose](): void {
    this.close()
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#closed) throw new MeshscopeError('OBJECT_GONE', 'a closed lazy value cannot be sent')
    const stream = ObjectStream.open(connection)
    const source = this.#source
    return {
      payload: { k: 'lazy', s: stream.id },
      activate: () => {
        source.users.acquire()
        void serveLazy(stream, source).finally(() => source.users.release())
      },
      rollback: () => stream.reset('the value carrying this lazy value failed to encode'),
    }
  }
}

/** Providing side: answers the one fetch this stream may carry. */
async function serveLazy<T>(stream: ObjectStream, source: LazySource<T>): Promise<void> {
  try {
    const request = await stream.receive()
    if (request === null) return // dropped without fetching
    if (request[0] !== FETCH || request.length !== 1) return stream.reset('a lazy value takes one fetch request')
    let reply: unknown[]
    try {
      reply = [VALUE, await source.fetch()]
      await stream.send(reply)
    } catch (error) {
      // The value could not be produced or encoded: the receiver gets the error instead.
      await stream.send([FAILED, error instanceof Error ? error : new MeshscopeError('OBJECT_GONE', String(error))])
    }
  } catch {
    // The receiver went away or broke the protocol: nothing to answer.
  } finally {
    stream.end()
  }
}

/** Receiving side: a lazy whose fetch is one request on the stream. */
export const decodeLazyPort: PortDecoder = (connection, payload) => {
  const stream = ObjectStream.claim(connection, payload.s)
  const users = new RefCount(() => stream.end())
  const fetch = once(async () => {
    try {
      await stream.send([FETCH])
      const reply = await stream.receive()
      if (reply === null) throw objectGone('lazy value')
      if (reply[0] === VALUE && reply.length === 2) return reply[1]
      if (reply[0] === FAILED && reply.length === 2 && reply[1] instanceof Error) throw reply[1]
      throw new MeshscopeError('BAD_PORT', 'a lazy value answered with a malformed message')
    } catch (error) {
      if (error instanceof MeshscopeError && (error.code === 'DISCONNECTED' || error.code === 'STREAM_RESET' || error.code === 'STREAM_CLOSED'))
        throw objectGone('lazy value', error)
      throw error
    } finally {
      stream.end()
    }
  })
  return new Lazy<unknown>({ fetch, users })
}
