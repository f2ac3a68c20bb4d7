/**
 * Backpressure shared by every Link: messages wait in order until the transport's buffer is below
 * the high-water mark, then are handed over. This is what keeps wrtc from dropping bytes past its
 * buffer and Chromium from throwing "send queue is full".
 */
import { MeshscopeError } from '../errors.js'

interface Pending {
  data: Uint8Array
  resolve: () => void
  reject: (error: unknown) => void
}

export interface SendTarget {
  /** False while the transport cannot take messages yet (a data channel still connecting). */
  isWritable(): boolean
  /** Bytes the transport holds that are not on the wire yet. */
  bufferedAmount(): number
  /** Hands one message to the transport; may throw if the transport just died. */
  write(data: Uint8Array): void
  /** Arranges one call to `wake` once the buffer has drained (an event or a timer). */
  waitForDrain(wake: () => void): void
}

export class SendQueue {
  #queue: Pending[] = []
  #queuedBytes = 0
  #waiting = false
  #failure: unknown
  #bufferedBound = Infinity

  constructor(
    private readonly target: SendTarget,
    private readonly highWaterMarkBytes: number,
  ) {}

  get queuedBytes(): number {
    return this.#queuedBytes
  }

  push(data: Uint8Array): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure)
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ data, resolve, reject })
      this.#queuedBytes += data.byteLength
      this.pump()
    })
  }

  /** Writes as much as the buffer allows. Called on push, on drain, and when the link opens. */
  pump = (): void => {
    if (this.#waiting || this.#failure || !this.target.isWritable()) return
    // Reading bufferedAmount can be a synchronous cross-thread call (wrtc): keep an upper bound (the
    // last reading plus what was written since) and read the real value only when the bound reaches the mark.
    while (this.#queue.length > 0) {
      if (this.#bufferedBound >= this.highWaterMarkBytes) this.#bufferedBound = this.target.bufferedAmount()
      if (this.#bufferedBound >= this.highWaterMarkBytes) {
        this.#waiting = true
        this.target.waitForDrain(() => {
          this.#waiting = false
          this.pump()
        })
        return
      }
      const next = this.#queue.shift()!
      this.#queuedBytes -= next.data.byteLength
      try {
        this.target.write(next.data)
        this.#bufferedBound += next.data.byteLength
        next.resolve()
      } catch (cause) {
        next.reject(new MeshscopeError('LINK_FAILED', 'the transport refused a message', { cause }))
      }
    }
  }

  /** Rejects everything still queued and every later push. */
  fail(error: MeshscopeError): void {
    this.#failure ??= error
    const queue = this.#queue
    this.#queue = []
    this.#queuedBytes = 0
    for (const pending of queue) pending.reject(error)
  }

  /** Resolves when nothing is queued (or the queue failed). */
  async drained(pollMs = 5): Promise<void> {
    while (this.#queue.length > 0 && !this.#failure) await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
