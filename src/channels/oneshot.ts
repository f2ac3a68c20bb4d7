/**
 * oneshot: one value, once — remoc's `rch::oneshot`. Either half can travel to another peer (it rides
 * on an mpsc channel of capacity 1). The receiver rejects with ChannelClosedError if the sender goes
 * away without sending (`reason` `closed`, `dropped` or `disconnected`); the sender's `closed()` says
 * why the receiver went away.
 */
import { MeshscopeError } from '../errors.js'
import type { Connection } from './connection.js'
import { ChannelClosedError, type ChannelCloseReason } from './errors.js'
import * as mpsc from './mpsc.js'
import { ENCODE_PORT, type PortPayload, type PortPlan, type PortTable } from './port.js'

export function channel<T>(): [Sender<T>, Receiver<T>] {
  const [tx, rx] = mpsc.channel<T>(1)
  return [new Sender(tx), new Receiver(rx)]
}

export class Sender<T> {
  #inner: mpsc.Sender<T>
  #used = false

  /** @internal use `oneshot.channel()` */
  constructor(inner: mpsc.Sender<T>) {
    this.#inner = inner
  }

  /** Sends the value. Rejects with INVALID_ARGUMENT on a second call, ChannelClosedError if the receiver is gone. */
  async send(value: T): Promise<void> {
    if (this.#used) throw new MeshscopeError('INVALID_ARGUMENT', 'a oneshot sender sends once')
    this.#used = true
    try {
      await this.#inner.send(value)
    } finally {
      this.#inner.close()
    }
  }

  /** Gives up without sending: the receiver rejects with reason `closed`. */
  close(): void {
    this.#used = true
    this.#inner.close()
  }

  [Symbol.dispose](): void {
    this.#used = true
    this.#inner[Symbol.dispose]()
  }

  closed(): Promise<ChannelCloseReason> {
    return this.#inner.closed()
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#used) throw new MeshscopeError('INVALID_ARGUMENT', 'a used oneshot sender cannot be sent')
    const plan = this.#inner[ENCODE_PORT](connection)
    return {
      payload: { ...plan.payload, k: 'oneshot.tx' },
      activate: () => {
        plan.activate()
        this.#used = true // the value will come from the other side
      },
      rollback: plan.rollback,
    }
  }
}

export class Receiver<T> {
  #inner: mpsc.Receiver<T>

  /** @internal use `oneshot.channel()` */
  constructor(inner: mpsc.Receiver<T>) {
    this.#inner = inner
  }

  /** The value. Rejects with ChannelClosedError (with the reason) if the sender went away without sending. */
  async recv(): Promise<T> {
    const value = await this.#inner.recv()
    if (value === undefined && this.#inner.senderGone) {
      const reason = this.#inner.senderGone
      throw new ChannelClosedError(reason, `the sender was ${reason} without sending`)
    }
    this.#inner.close()
    return value as T
  }

  close(): void {
    this.#inner.close()
  }

  [Symbol.dispose](): void {
    this.#inner[Symbol.dispose]()
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    const plan = this.#inner[ENCODE_PORT](connection)
    return { ...plan, payload: { ...plan.payload, k: 'oneshot.rx' } }
  }
}

/**
 * The oneshot port kinds, for a connection's port table: the halves of the mpsc channel they ride on,
 * wrapped. A oneshot holds one value whatever capacity its payload names.
 */
export const oneshotPorts: PortTable = {
  kinds: {
    'oneshot.tx': (connection, payload) => new Sender(mpsc.decodeSenderPort(connection, capacityOne(payload))),
    'oneshot.rx': (connection, payload) => new Receiver(mpsc.decodeReceiverPort(connection, capacityOne(payload))),
  },
}

function capacityOne(payload: PortPayload): PortPayload {
  return { ...payload, o: { ...payload.o, c: 1 } }
}
