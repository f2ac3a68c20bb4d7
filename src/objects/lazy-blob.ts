/**
 * Lazy blobs (remoc's `robj::lazy_blob`): `lazyBlob(bytes | Blob)` travels inside any value as a
 * small port carrying only the size; a receiver fetches the bytes when it calls `get()` (all of them,
 * into one buffer) or `stream()` (a Web ReadableStream), in chunks over a bytes channel — the bulk
 * lane, credit flow control and the slow-receiver bound of any bytes channel — with progress.
 *
 * Each fetch is one request on the blob's own stream; the providing side serves them one at a time:
 *
 *   receiver → provider   [0, byteSender]   fetch: write the bytes into this bytes channel half
 *   provider → receiver   [0, size]         all bytes written (after the channel closed)
 *                         [1, error]        reading or writing them failed
 *
 * The receiver checks the size against its own limit before it asks (BLOB_TOO_LARGE), counts what
 * arrives and fails a fetch that brings more or fewer bytes than announced (BLOB_SIZE_MISMATCH). Its
 * waiting fetches are bounded (`maxPendingFetches`, OBJECT_LIMIT); a provider that goes away fails
 * them with OBJECT_GONE. A received blob can be sent on: the third peer's fetches go through this one.
 */
import * as bytesChannel from '../channels/bytes.js'
import type { Connection } from '../channels/connection.js'
import { ENCODE_PORT, type PortDecoder, type PortPlan } from '../channels/port.js'
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import { objectLimitsOf } from './limits.js'
import { ObjectStream, RefCount, objectGone } from './object-stream.js'

const FETCH = 0
const DONE = 0
const FAILED = 1

export interface BlobFetchOptions {
  /** Refuse (BLOB_TOO_LARGE, before fetching) a blob larger than this; the connection's `maxBlobBytes` applies too. */
  maxBytes?: number
  /** Called after each chunk with the bytes received so far and the announced size. */
  onProgress?: (receivedBytes: number, size: number) => void
}

/** Where a blob's bytes come from here: local data, or an upstream peer. */
interface BlobSource {
  readonly size: number
  /** The connection a received blob came over (its limits apply to fetches); none for local data. */
  readonly connection?: Connection
  /** The bytes, in chunks; a remote source checks the count against `size`. */
  chunks(): AsyncIterable<Uint8Array>
  users: RefCount
}

const drops = new FinalizationRegistry<RefCount>((users) => users.release())

/** A blob whose bytes cross only when a receiver fetches them; `size` travels with it. */
export function lazyBlob(data: Uint8Array | Blob): LazyBlob {
  if (data instanceof Uint8Array) {
    return new LazyBlob({
      size: data.byteLength,
      async *chunks() {
        yield data
      },
      users: new RefCount(() => {}),
    })
  }
  if (typeof Blob !== 'undefined' && data instanceof Blob) {
    return new LazyBlob({
      size: data.size,
      async *chunks() {
        const reader = data.stream().getReader()
        try {
          for (let read = await reader.read(); !read.done; read = await reader.read()) yield read.value
        } finally {
          reader.releaseLock()
        }
      },
      users: new RefCount(() => {}),
    })
  }
  throw new MeshscopeError('INVALID_ARGUMENT', 'lazyBlob takes a Uint8Array or a Blob')
}

export class LazyBlob {
  #source: BlobSource
  #closed = false

  /** @internal use `lazyBlob(data)` */
  constructor(source: BlobSource) {
    this.#source = source
    drops.register(this, source.users, this)
  }

  /** The size in bytes, known before anything is fetched. */
  get size(): number {
    return this.#source.size
  }

  /**
   * All the bytes, in one buffer. Rejects with BLOB_TOO_LARGE (over `maxBytes` or the connection's
   * `maxBlobBytes`, before fetching), BLOB_SIZE_MISMATCH, OBJECT_LIMIT (too many fetches waiting),
   * OBJECT_GONE (the provider went away), or the provider's error.
   */
  async get(options: BlobFetchOptions = {}): Promise<Uint8Array> {
    const chunks = this.#fetch(options)
    const result = new Uint8Array(this.size)
    let offset = 0
    for await (const chunk of chunks) {
      result.set(chunk, offset)
      offset += chunk.byteLength
    }
    return result
  }

  /** The bytes as a ReadableStream (pull-based: the next chunk is fetched when the reader wants it). Errors as `get`. */
  stream(options: BlobFetchOptions = {}): ReadableStream<Uint8Array> {
    let iterator: AsyncIterator<Uint8Array> | undefined
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          iterator ??= this.#fetch(options)[Symbol.asyncIterator]()
          const next = await iterator.next()
          if (next.done) controller.close()
          else controller.enqueue(next.value)
        },
        cancel: async () => {
          await iterator?.return?.()
        },
      },
      { highWaterMark: 0 },
    )
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

  async *#fetch(options: BlobFetchOptions): AsyncGenerator<Uint8Array> {
    if (this.#closed) throw new MeshscopeError('OBJECT_GONE', 'this lazy blob was closed')
    const source = this.#source
    const limit = Math.min(
      options.maxBytes ?? Number.POSITIVE_INFINITY,
      source.connection ? objectLimitsOf(source.connection).maxBlobBytes : Number.POSITIVE_INFINITY,
    )
    if (source.size > limit) throw new MeshscopeError('BLOB_TOO_LARGE', `the blob's ${source.size} bytes are over this receiver's limit of ${limit}`)
    let received = 0
    source.users.acquire() // a fetch under way keeps the upstream open
    try {
      for await (const chunk of source.chunks()) {
        received += chunk.byteLength
        options.onProgress?.(received, source.size)
        yield chunk
      }
    } finally {
      source.users.release()
    }
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#closed) throw new MeshscopeError('OBJECT_GONE', 'a closed lazy blob cannot be sent')
    const stream = ObjectStream.open(connection)
    const source = this.#source
    return {
      payload: { k: 'blob', s: stream.id, o: { n: source.size } },
      activate: () => {
        source.users.acquire()
        void serveBlob(stream, source).finally(() => source.users.release())
      },
      rollback: () => stream.reset('the value carrying this lazy blob failed to encode'),
    }
  }
}

/** Providing side: serves the fetches of one receiver, one at a time, until it closes the stream. */
async function serveBlob(stream: ObjectStream, source: BlobSource): Promise<void> {
  try {
    for (let request = await stream.receive(); request !== null; request = await stream.receive()) {
      const sender = request[1]
      if (request[0] !== FETCH || request.length !== 2 || !(sender instanceof bytesChannel.ByteSender)) {
        if (sender instanceof bytesChannel.ByteSender) sender[Symbol.dispose]()
        return stream.reset('a lazy blob fetch must carry a bytes channel sender')
      }
      try {
        for await (const chunk of source.chunks()) await sender.write(chunk)
        sender.close()
        await stream.send([DONE, source.size])
      } catch (error) {
        sender[Symbol.dispose]()
        await stream.send([FAILED, error instanceof Error ? error : new MeshscopeError('OBJECT_GONE', String(error))])
      }
    }
  } catch {
    // The receiver went away or broke the protocol.
  } finally {
    stream.end()
  }
}

/** Receiving side: fetches are requests on the blob's stream, taken in turn. */
export const decodeBlobPort: PortDecoder = (connection, payload) => {
  const size = payload.o?.n
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    connection.claimPortStream(payload.s).reset('closed', 'a lazy blob needs a size')
    throw new MeshscopeError('BAD_PORT', 'a lazy blob port needs a size (a non-negative integer)')
  }
  const announced: number = size
  const stream = ObjectStream.claim(connection, payload.s)
  const users = new RefCount(() => stream.end())
  let turn: Promise<void> = Promise.resolve()
  let pending = 0
  const maxPending = objectLimitsOf(connection).maxPendingFetches
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (pending >= maxPending) throw new MeshscopeError('OBJECT_LIMIT', `${maxPending} fetches of this blob are already waiting (maxPendingFetches)`)
    pending++
    let endTurn!: () => void
    const previous = turn
    turn = new Promise((resolve) => (endTurn = resolve))
    let requested = false
    let replyRead = false
    const [tx, rx] = bytesChannel.channel()
    try {
      await previous
      await stream.send([FETCH, tx]).catch((error) => {
        throw objectGone('lazy blob', error)
      })
      requested = true
      let received = 0
      const read = () =>
        rx.read().catch((error) => {
          throw isMeshscopeError(error, 'CHANNEL_CLOSED') ? objectGone('lazy blob', error) : error
        })
      for (let chunk = await read(); chunk !== undefined; chunk = await read()) {
        received += chunk.byteLength
        if (received > announced) throw new MeshscopeError('BLOB_SIZE_MISMATCH', `the blob announced ${announced} bytes and sent more`)
        yield chunk
      }
      replyRead = true
      const reply = await stream.receive().catch((error) => {
        throw objectGone('lazy blob', error)
      })
      if (reply === null) throw objectGone('lazy blob')
      if (reply[0] === FAILED && reply[1] instanceof Error) throw reply[1]
      if (reply[0] !== DONE) throw new MeshscopeError('BAD_PORT', 'a lazy blob answered with a malformed message')
      if (received !== announced) throw new MeshscopeError('BLOB_SIZE_MISMATCH', `the blob announced ${announced} bytes and sent ${received}`)
    } finally {
      rx.close()
      pending--
      // A fetch given up early still has its answer coming: read it before the next fetch asks.
      if (requested && !replyRead) void stream.receive().then(endTurn, endTurn)
      else endTurn()
    }
  }
  return new LazyBlob({ size: announced, connection, chunks, users })
}
