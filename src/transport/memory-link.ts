/**
 * Two Links joined in memory, for tests of every upper layer. Delivery is asynchronous (a macrotask
 * later, in order) and bounded the way a data channel is: bytes in flight count against the sender's
 * high-water mark, so backpressure behaves as it does on a real link.
 */
import { MeshscopeError } from '../errors.js'
import { Emitter } from '../util/emitter.js'
import { DEFAULT_HIGH_WATER_MARK_BYTES, DEFAULT_MAX_MESSAGE_BYTES, type Link, type LinkCloseInfo, type LinkEvents, type LinkState } from './link.js'
import { SendQueue } from './send-queue.js'

export interface MemoryLinkOptions {
  highWaterMarkBytes?: number
  maxMessageBytes?: number
}

export interface MemoryLinkPair {
  a: Link
  b: Link
  /** Cuts both ends at once, as a crash would: both see `failed`, nothing more is delivered. */
  sever(message?: string): void
}

export function createMemoryLinkPair(options: MemoryLinkOptions = {}): MemoryLinkPair {
  const a = new MemoryLink(options)
  const b = new MemoryLink(options)
  a.connect(b)
  b.connect(a)
  return {
    a,
    b,
    sever(message = 'link severed') {
      a.finish({ reason: 'failed', message })
      b.finish({ reason: 'failed', message })
    },
  }
}

class MemoryLink implements Link {
  readonly events = new Emitter<LinkEvents>()
  readonly maxMessageBytes: number
  readonly opened: Promise<void>
  #state: LinkState = 'open'
  #peer?: MemoryLink
  #inFlightBytes = 0
  #drainWaiters: Array<() => void> = []
  #sendQueue: SendQueue

  constructor(options: MemoryLinkOptions) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.#sendQueue = new SendQueue(
      {
        isWritable: () => true,
        bufferedAmount: () => this.#inFlightBytes,
        write: (data) => this.#transmit(data),
        waitForDrain: (wake) => this.#drainWaiters.push(wake),
      },
      options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES,
    )
    this.opened = Promise.resolve()
  }

  connect(peer: MemoryLink): void {
    this.#peer = peer
  }

  get state(): LinkState {
    return this.#state
  }

  get bufferedBytes(): number {
    return this.#sendQueue.queuedBytes + this.#inFlightBytes
  }

  send(data: Uint8Array): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new MeshscopeError('LINK_CLOSED', 'the link is closed'))
    if (data.byteLength > this.maxMessageBytes) {
      return Promise.reject(new MeshscopeError('MESSAGE_TOO_LARGE', `a link message holds at most ${this.maxMessageBytes} bytes, got ${data.byteLength}`))
    }
    return this.#sendQueue.push(data.slice())
  }

  close(message = 'closed'): void {
    if (this.#state !== 'open') return
    this.#state = 'closing'
    // Flush what was accepted, then close both ends.
    void this.#sendQueue.drained().then(() =>
      this.#afterInFlight(() => {
        this.#peer?.finish({ reason: 'remote-closed', message })
        this.finish({ reason: 'closed', message })
      }),
    )
  }

  #afterInFlight(then: () => void): void {
    if (this.#inFlightBytes === 0) return then()
    setTimeout(() => this.#afterInFlight(then), 1)
  }

  #transmit(data: Uint8Array): void {
    const peer = this.#peer
    this.#inFlightBytes += data.byteLength
    setTimeout(() => {
      this.#inFlightBytes -= data.byteLength
      if (peer && (peer.#state === 'open' || peer.#state === 'closing') && this.#state !== 'closed') peer.events.emit('message', data)
      const waiters = this.#drainWaiters
      this.#drainWaiters = []
      for (const wake of waiters) wake()
    }, 0)
  }

  /** Ends this side with `info`; idempotent. */
  finish(info: LinkCloseInfo): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#sendQueue.fail(new MeshscopeError('LINK_CLOSED', `the link closed: ${info.message}`))
    this.events.emit('close', info)
    this.events.removeAllListeners()
  }
}
