/**
 * bytes: a channel for bulk data, as Web Streams — a `WritableStream` on the sending half and a
 * `ReadableStream` on the receiving half, with progress counters. It rides on an mpsc channel of
 * chunks, so it has the same close reasons, backpressure and port behaviour; big writes are cut into
 * chunks of `chunkBytes` so one write never holds a large buffer on the other side.
 */
import { MeshscopeError } from '../errors.js'
import type { Connection } from './connection.js'
import type { ChannelCloseReason } from './errors.js'
import * as mpsc from './mpsc.js'
import { ENCODE_PORT, type PortPlan, type PortTable } from './port.js'

export interface BytesChannelOptions {
  /**
   * Chunks in flight before `write` waits.
   * @default 16
   */
  capacity?: number
  /**
   * Largest chunk sent as one message.
   * @default 64 * 1024
   */
  chunkBytes?: number
}

export function channel(options: BytesChannelOptions = {}): [ByteSender, ByteReceiver] {
  const chunkBytes = options.chunkBytes ?? 64 * 1024
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > 1024 * 1024) throw new MeshscopeError('INVALID_ARGUMENT', 'chunkBytes must be 1..1048576')
  // The item limit leaves room for the codec's framing around each chunk.
  // Bulk data takes the link's bulk lane, so it never sits ahead of other channels' small values.
  const [tx, rx] = mpsc.channel<Uint8Array>({ capacity: options.capacity ?? 16, maxItemBytes: chunkBytes + ITEM_OVERHEAD_BYTES, lane: 'bulk' })
  return [new ByteSender(tx, chunkBytes), new ByteReceiver(rx)]
}

const ITEM_OVERHEAD_BYTES = 64

/** Told the running total of bytes a byte channel half has moved (`onProgress`). */
export type ProgressListener = (bytes: number) => void

export class ByteSender {
  #inner: mpsc.Sender<Uint8Array>
  #chunkBytes: number
  #bytesSent = 0
  #listeners = new Set<ProgressListener>()
  #writable?: WritableStream<Uint8Array>

  /** @internal use `bytes.channel()` */
  constructor(inner: mpsc.Sender<Uint8Array>, chunkBytes: number) {
    this.#inner = inner
    this.#chunkBytes = chunkBytes
  }

  /** Bytes accepted so far. */
  get bytesSent(): number {
    return this.#bytesSent
  }

  /** Calls `listener` with the total after every chunk; returns the unsubscribe function. */
  onProgress(listener: ProgressListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Sends bytes, waiting while the receiver is behind. Keep them unchanged until this resolves, as with
   * any WritableStream: to a receiver on another peer they are read as they go out, never copied in
   * between (a receiver in this process gets a copy). Rejects with ChannelClosedError if it is gone.
   */
  async write(bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) throw new MeshscopeError('INVALID_ARGUMENT', 'write takes a Uint8Array')
    for (let offset = 0; offset < bytes.byteLength; offset += this.#chunkBytes) {
      const chunk = bytes.subarray(offset, Math.min(offset + this.#chunkBytes, bytes.byteLength))
      await this.#inner.sendBytes(chunk)
      this.#bytesSent += chunk.byteLength
      for (const listener of this.#listeners) listener(this.#bytesSent)
    }
  }

  /** The end of the data. */
  close(): void {
    this.#inner.close()
  }

  /** Resolves when the receiver is gone, with the reason. */
  closed(): Promise<ChannelCloseReason> {
    return this.#inner.closed()
  }

  [Symbol.dispose](): void {
    this.#inner[Symbol.dispose]()
  }

  /** The same channel as a WritableStream. */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>(
      {
        write: (chunk) => this.write(chunk),
        close: () => this.close(),
        abort: () => this[Symbol.dispose](),
      },
      { highWaterMark: 1 },
    )
    return this.#writable
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    const plan = this.#inner[ENCODE_PORT](connection)
    return { ...plan, payload: { ...plan.payload, k: 'bytes.tx', o: { ...plan.payload.o, b: this.#chunkBytes } } }
  }
}

export class ByteReceiver implements AsyncIterable<Uint8Array> {
  #inner: mpsc.Receiver<Uint8Array>
  #bytesReceived = 0
  #listeners = new Set<ProgressListener>()
  #readable?: ReadableStream<Uint8Array>

  /** @internal use `bytes.channel()` */
  constructor(inner: mpsc.Receiver<Uint8Array>) {
    this.#inner = inner
    inner.takeBytePieces()
  }

  get bytesReceived(): number {
    return this.#bytesReceived
  }

  onProgress(listener: ProgressListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** The next chunk, or undefined at the end of the data. */
  async read(): Promise<Uint8Array | undefined> {
    const chunk = await this.#inner.recv()
    if (chunk === undefined) return undefined
    if (!(chunk instanceof Uint8Array)) throw new MeshscopeError('BAD_PORT', 'a bytes channel carried something other than bytes')
    this.#bytesReceived += chunk.byteLength
    for (const listener of this.#listeners) listener(this.#bytesReceived)
    return chunk
  }

  /** Stops the senders; chunks already buffered here stay readable (as an mpsc receiver's `close`). */
  close(): void {
    this.#inner.close()
  }

  [Symbol.dispose](): void {
    this.#inner[Symbol.dispose]()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (let chunk = await this.read(); chunk !== undefined; chunk = await this.read()) yield chunk
  }

  /** The same channel as a ReadableStream (pull-based: nothing is read ahead). */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const chunk = await this.read()
          if (chunk === undefined) controller.close()
          else controller.enqueue(chunk)
        },
        cancel: () => {
          // A cancelled stream reads nothing more: what is buffered goes now (senders learn `closed`).
          this.close()
          this.#inner[Symbol.dispose]()
        },
      },
      { highWaterMark: 0 },
    )
    return this.#readable
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    const plan = this.#inner[ENCODE_PORT](connection)
    return { ...plan, payload: { ...plan.payload, k: 'bytes.rx' } }
  }
}

/** The bytes port kinds, for a connection's port table: the halves of the mpsc channel of chunks they ride on, wrapped. */
export const bytesPorts: PortTable = {
  kinds: {
    'bytes.tx': (connection, payload) => {
      const chunkBytes =
        typeof payload.o?.b === 'number' && Number.isInteger(payload.o.b) && payload.o.b > 0 && payload.o.b <= 1024 * 1024 ? payload.o.b : 64 * 1024
      return new ByteSender(mpsc.decodeSenderPort(connection, payload) as mpsc.Sender<Uint8Array>, chunkBytes)
    },
    'bytes.rx': (connection, payload) => new ByteReceiver(mpsc.decodeReceiverPort(connection, payload) as mpsc.Receiver<Uint8Array>),
  },
}
