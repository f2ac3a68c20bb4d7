/**
 * Two Links joined in memory, for tests of every upper layer. Delivery is asynchronous (a macrotask
 * later, in order) and bounded the way a data channel is: bytes in flight count against the sender's
 * high-water mark, so backpressure behaves as it does on a real link. Each lane has its own queue
 * and mark; `bulkLaneDelayMs` holds the bulk lane's deliveries back, so a test can watch the latency
 * lane overtake it.
 */
import { MeshscopeError } from '../errors.js'
import { Emitter } from '../util/emitter.js'
import {
  DEFAULT_HIGH_WATER_MARK_BYTES,
  DEFAULT_LATENCY_HIGH_WATER_MARK_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  type Link,
  type LinkCloseInfo,
  type LinkEvents,
  type LinkLane,
  type LinkState,
} from './link.js'
import { SendQueue } from './send-queue.js'

export interface MemoryLinkOptions {
  /** The bulk lane's mark. */
  highWaterMarkBytes?: number
  latencyHighWaterMarkBytes?: number
  maxMessageBytes?: number
  /** Bulk-lane messages arrive this much later than they would (0: a macrotask later, like the latency lane). */
  bulkLaneDelayMs?: number
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
  #inFlightBytes = { latency: 0, bulk: 0 }
  #drainWaiters: Array<() => void> = []
  readonly #lanes: Record<LinkLane, SendQueue>
  readonly #bulkLaneDelayMs: number

  constructor(options: MemoryLinkOptions) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.#bulkLaneDelayMs = options.bulkLaneDelayMs ?? 0
    const lane = (name: LinkLane, highWaterMarkBytes: number) =>
      new SendQueue(
        {
          isWritable: () => true,
          bufferedAmount: () => this.#inFlightBytes[name],
          write: (data) => this.#transmit(data, name),
          waitForDrain: (wake) => this.#drainWaiters.push(wake),
        },
        highWaterMarkBytes,
      )
    this.#lanes = {
      latency: lane('latency', options.latencyHighWaterMarkBytes ?? DEFAULT_LATENCY_HIGH_WATER_MARK_BYTES),
      bulk: lane('bulk', options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES),
    }
    this.opened = Promise.resolve()
  }

  connect(peer: MemoryLink): void {
    this.#peer = peer
  }

  get state(): LinkState {
    return this.#state
  }

  get bufferedBytes(): number {
    return this.#lanes.latency.queuedBytes + this.#lanes.bulk.queuedBytes + this.#inFlightBytes.latency + this.#inFlightBytes.bulk
  }

  send(data: Uint8Array, lane: LinkLane = 'latency'): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new MeshscopeError('LINK_CLOSED', 'the link is closed'))
    if (data.byteLength > this.maxMessageBytes) {
      return Promise.reject(new MeshscopeError('MESSAGE_TOO_LARGE', `a link message holds at most ${this.maxMessageBytes} bytes, got ${data.byteLength}`))
    }
    return this.#lanes[lane].push(data.slice())
  }

  close(message = 'closed'): void {
    if (this.#state !== 'open') return
    this.#state = 'closing'
    // Flush what was accepted, then close both ends.
    void Promise.all([this.#lanes.latency.drained(), this.#lanes.bulk.drained()]).then(() =>
      this.#afterInFlight(() => {
        this.#peer?.finish({ reason: 'remote-closed', message })
        this.finish({ reason: 'closed', message })
      }),
    )
  }

  abort(message = 'aborted'): void {
    if (this.#state === 'closed') return
    this.#peer?.finish({ reason: 'remote-closed', message })
    this.finish({ reason: 'closed', message })
  }

  #afterInFlight(then: () => void): void {
    if (this.#inFlightBytes.latency === 0 && this.#inFlightBytes.bulk === 0) return then()
    setTimeout(() => this.#afterInFlight(then), 1)
  }

  #transmit(data: Uint8Array, lane: LinkLane): void {
    const peer = this.#peer
    this.#inFlightBytes[lane] += data.byteLength
    setTimeout(
      () => {
        this.#inFlightBytes[lane] -= data.byteLength
        if (peer && (peer.#state === 'open' || peer.#state === 'closing') && this.#state !== 'closed') peer.events.emit('message', data, lane)
        const waiters = this.#drainWaiters
        this.#drainWaiters = []
        for (const wake of waiters) wake()
      },
      lane === 'bulk' ? this.#bulkLaneDelayMs : 0,
    )
  }

  /** Ends this side with `info`; idempotent. */
  finish(info: LinkCloseInfo): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    const error = new MeshscopeError('LINK_CLOSED', `the link closed: ${info.message}`)
    this.#lanes.latency.fail(error)
    this.#lanes.bulk.fail(error)
    this.events.emit('close', info)
    this.events.removeAllListeners()
  }
}
