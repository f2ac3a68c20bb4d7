/**
 * The stream one remote object holds on a connection: its lifetime (either side closing it, or the
 * session ending, ends the object there) and, for objects that talk (lazy values, blobs, locks),
 * its messages — small arrays `[tag, …]` encoded by the connection's codec, so a value inside one may
 * carry ports of its own (a bytes channel half, a channel, a function).
 */
import type { Connection } from '../channels/connection.js'
import type { StreamLane } from '../mux/frame.js'
import type { MuxStream } from '../mux/stream.js'
import { MeshscopeError } from '../errors.js'
import { admitObject } from './limits.js'

export class ObjectStream {
  #release: () => void
  #finished = false
  #ended = false

  private constructor(
    readonly connection: Connection,
    readonly stream: MuxStream,
    release: () => void,
  ) {
    this.#release = release
  }

  /** A stream for an object this side sends; throws OBJECT_LIMIT past the connection's bound. */
  static open(connection: Connection, lane?: StreamLane): ObjectStream {
    const release = admitObject(connection)
    return new ObjectStream(connection, connection.openPortStream(lane ? { lane } : {}), release)
  }

  /**
   * The stream of an object the peer sent. Past the connection's bound the stream is reset and
   * OBJECT_LIMIT thrown (the message carrying the object fails with it).
   */
  static claim(connection: Connection, id: number): ObjectStream {
    let release: () => void
    try {
      release = admitObject(connection)
    } catch (error) {
      connection.claimPortStream(id).reset('closed', 'too many remote objects')
      throw error
    }
    try {
      return new ObjectStream(connection, connection.claimInboundPortStream(id), release)
    } catch (error) {
      release()
      throw error
    }
  }

  get id(): number {
    return this.stream.id
  }

  /** Sends one message. Rejects as the stream's `send` does (STREAM_CLOSED, DISCONNECTED…). */
  send(message: unknown[]): Promise<void> {
    return this.stream.send(this.connection.encode(message))
  }

  /**
   * The next message, or null once the peer closed its side. Rejects with BAD_PORT for a message
   * that is not a non-empty array, or as the stream does (STREAM_RESET, DISCONNECTED).
   */
  async receive(): Promise<unknown[] | null> {
    const bytes = await this.stream.receive()
    if (bytes === null) return null
    const message = this.connection.decode(bytes)
    if (!Array.isArray(message) || message.length === 0) throw new MeshscopeError('BAD_PORT', 'a remote object message must be a non-empty array')
    return message
  }

  /** Closes this side (for a stream some loop still reads). */
  close(): void {
    this.stream.close()
  }

  /** Closes this side and reads (dropping) whatever the peer still sends until its side ends, then finishes. */
  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.stream.close()
    this.#settleLater()
  }

  /** Aborts the stream both ways (a peer that broke the object's protocol). */
  reset(message: string): void {
    this.stream.reset('closed', message)
    this.finish()
  }

  /** No longer counted against the connection's bound. Idempotent. */
  finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.#release()
  }

  #settleLater(): void {
    const drain = (): void => {
      this.stream.receive().then(
        (bytes) => (bytes === null ? this.finish() : drain()),
        () => this.finish(),
      )
    }
    drain()
  }
}

/** A failure that ends a remote object: its peer went away or closed it without answering. */
export function objectGone(what: string, cause?: unknown): MeshscopeError {
  return new MeshscopeError('OBJECT_GONE', `the ${what}'s providing peer went away or closed it`, cause === undefined ? undefined : { cause })
}

/**
 * A count of the users of one upstream stream (the local object and each forwarded copy): when the
 * last lets go, `onZero` runs once (it closes the stream).
 */
export class RefCount {
  #count = 1
  #onZero: (() => void) | undefined

  constructor(onZero: () => void) {
    this.#onZero = onZero
  }

  get alive(): boolean {
    return this.#onZero !== undefined
  }

  acquire(): void {
    if (this.#onZero) this.#count++
  }

  release(): void {
    if (!this.#onZero || --this.#count > 0) return
    const onZero = this.#onZero
    this.#onZero = undefined
    onZero()
  }
}
