/**
 * An ordered, throttled, two-way tunnel between a caller and one member of a cluster, built on a
 * pair of mpsc channels (src/channels/mpsc.ts): each direction is ordered, a slow reader slows the
 * writer (the channel's capacity, then the link's credit), and a message of any size up to the codec
 * limit is carried whole — cut into frames by the multiplexer and rebuilt before it is delivered, so
 * the other end never sees part of one.
 *
 * A `send` or `receive` that times out gives up waiting, nothing else: a timed-out receive leaves
 * its pull in place for the next one (no message is lost), and a timed-out send's message may still
 * arrive, whole, later. `close()` ends both directions; every pending operation, here and at the
 * other end, settles with SERVICE_CLOSED.
 */
import { ChannelClosedError } from '../../channels/errors.js'
import type { Receiver, Sender } from '../../channels/mpsc.js'
import { MeshscopeError } from '../../errors.js'
import { isTimeoutMs } from '../../rpc/call.js'

/** How long one tunnel operation may wait. */
export interface TunnelOperationOptions {
  /** Gives up after this many milliseconds (TIMEOUT); at least 1, or Infinity. @default Infinity */
  timeout?: number
}

/** Messages a tunnel direction holds before its writer waits (the mpsc channel's capacity). */
export const TUNNEL_CAPACITY = 16

export class Tunnel<TSend = unknown, TReceive = unknown> implements AsyncIterable<TReceive> {
  #pull?: Promise<{ value: TReceive } | { end: true }>
  #pending = new Set<(error: MeshscopeError) => void>()
  #closed = false

  /** @internal use `mesh.tunnel(cluster)`; a member gets its side in its `tunnel` handler */
  constructor(
    /** The peer at the other end. */
    readonly peerId: string,
    private readonly outgoing: Sender<TSend>,
    private readonly incoming: Receiver<TReceive>,
    private readonly onClose: (tunnel: Tunnel<TSend, TReceive>) => void = () => {},
  ) {}

  get closed(): boolean {
    return this.#closed
  }

  /** Sends `value` in order, waiting while the other end is behind. Rejects with SERVICE_CLOSED, TIMEOUT, a codec error or ITEM_TOO_LARGE. */
  send(value: TSend, options: TunnelOperationOptions = {}): Promise<void> {
    return this.#operation(options, () =>
      this.outgoing.send(value).catch((error) => {
        throw closedInstead(error)
      }),
    )
  }

  /** The next message, in order. Rejects with SERVICE_CLOSED once the tunnel is closed at either end, or TIMEOUT. */
  receive(options: TunnelOperationOptions = {}): Promise<TReceive> {
    return this.#operation(options, async () => {
      const pulled = await this.#nextPull()
      if ('end' in pulled) {
        // Closed at the other end: this end is over too (and its service forgets it).
        this.close()
        throw new MeshscopeError('SERVICE_CLOSED', 'the tunnel was closed at the other end')
      }
      return pulled.value
    })
  }

  /** Every message until the tunnel closes (at either end). */
  async *[Symbol.asyncIterator](): AsyncIterator<TReceive> {
    for (;;) {
      try {
        yield await this.receive()
      } catch (error) {
        if (error instanceof MeshscopeError && error.code === 'SERVICE_CLOSED') return
        throw error
      }
    }
  }

  /** Closes both directions: pending operations here and at the other end fail with SERVICE_CLOSED. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.outgoing.close()
    this.incoming.close()
    const error = new MeshscopeError('SERVICE_CLOSED', 'the tunnel was closed')
    for (const settle of [...this.#pending]) settle(error)
    this.onClose(this)
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /** One pull at a time: a receive that timed out leaves its pull for the next, so no message is lost. */
  #nextPull(): Promise<{ value: TReceive } | { end: true }> {
    this.#pull ??= this.incoming.recv().then(
      (value) => {
        this.#pull = undefined
        return value === undefined ? { end: true as const } : { value }
      },
      (error) => {
        this.#pull = undefined
        throw closedInstead(error)
      },
    )
    return this.#pull
  }

  #operation<T>(options: TunnelOperationOptions, run: () => Promise<T>): Promise<T> {
    const timeout = options.timeout ?? Number.POSITIVE_INFINITY
    if (!isTimeoutMs(timeout) || timeout < 1) return Promise.reject(new MeshscopeError('INVALID_ARGUMENT', 'timeout must be at least 1 ms, or Infinity'))
    if (this.#closed) return Promise.reject(new MeshscopeError('SERVICE_CLOSED', 'the tunnel was closed'))
    return new Promise<T>((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer)
        this.#pending.delete(fail)
        settle()
      }
      const fail = (error: MeshscopeError) => finish(() => reject(error))
      this.#pending.add(fail)
      const timer =
        timeout === Number.POSITIVE_INFINITY
          ? undefined
          : setTimeout(() => fail(new MeshscopeError('TIMEOUT', `the tunnel operation took over ${timeout} ms`)), timeout)
      run().then(
        (value) => finish(() => resolve(value)),
        (error) => finish(() => reject(error)),
      )
    })
  }
}

/** A channel whose other half went away is a closed tunnel to the caller. */
function closedInstead(error: unknown): unknown {
  return error instanceof ChannelClosedError ? new MeshscopeError('SERVICE_CLOSED', `the tunnel was closed: ${error.message}`, { cause: error }) : error
}
