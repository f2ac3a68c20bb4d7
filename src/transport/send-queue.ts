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
  /**
   * The transport holds nothing until the first write (a fresh data channel): the first messages
   * need no `bufferedAmount` reading, only those written once the bound reaches the mark.
   */
  readonly startsEmpty?: boolean
  /** Hands one message to the transport; may throw if the transport just died. */
  write(data: Uint8Array): void
  /** Arranges one call to `wake` once the buffer has drained (an event or a timer). */
  waitForDrain(wake: () => void): void
}

/** A refused message is tried again after this long… */
const REFUSAL_RETRY_MS = 5
/** …for at most this long before it counts as a failure. */
const DEFAULT_REFUSAL_LIMIT_MS = 10_000

export class SendQueue {
  #queue: Pending[] = []
  #queuedBytes = 0
  #waiting = false
  #failure: unknown
  /** An upper bound of the transport's buffered bytes; Infinity: unknown, read before writing. */
  #bufferedBound: number
  /** Since when the open transport has been refusing messages (undefined: it is taking them). */
  #refusedSince: number | undefined

  constructor(
    private readonly target: SendTarget,
    private readonly highWaterMarkBytes: number,
    private readonly refusalLimitMs = DEFAULT_REFUSAL_LIMIT_MS,
  ) {
    this.#bufferedBound = target.startsEmpty ? 0 : Infinity
  }

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
      const next = this.#queue[0]!
      try {
        this.target.write(next.data)
      } catch (cause) {
        // An open transport that refuses a message has run out of buffer — wrtc throws when its SCTP
        // association is full (another channel on it flooding, or its bufferedAmount lagging), Chromium
        // at 16 MiB: backpressure, not failure. The message stays first and is tried again shortly.
        const now = Date.now()
        this.#refusedSince ??= now
        if (this.target.isWritable() && now - this.#refusedSince < this.refusalLimitMs) {
          this.#waiting = true
          setTimeout(() => {
            this.#waiting = false
            this.pump()
          }, REFUSAL_RETRY_MS)
          return
        }
        this.#queue.shift()
        this.#queuedBytes -= next.data.byteLength
        next.reject(new MeshscopeError('LINK_FAILED', 'the transport refused a message', { cause }))
        continue
      }
      this.#refusedSince = undefined
      this.#queue.shift()
      this.#queuedBytes -= next.data.byteLength
      this.#bufferedBound += next.data.byteLength
      next.resolve()
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
