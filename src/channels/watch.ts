/**
 * watch: the latest value only — remoc's `rch::watch`. Receivers may skip intermediate values but
 * always see the last one; when the sender goes, `changed()` answers false once the last value has
 * been seen. Sending either half moves it (clone a receiver first to keep one). Across the wire the pump
 * naturally coalesces: while a value waits for credit, newer ones replace it.
 *
 * As in remoc: `send` fails with CHANNEL_CLOSED once every receiver is gone (`sendReplace` does not,
 * and returns the value it replaced); a receiver that just arrived has nothing changed to report.
 */
import { MeshscopeError } from '../errors.js'
import type { Connection } from './connection.js'
import { ChannelClosedError, SendClosedError, type ChannelCloseReason } from './errors.js'
import { decodeItem, encodeEnd, encodeItem } from './items.js'
import { ENCODE_PORT, type PortPlan, type PortTable } from './port.js'
import type { MuxStream } from '../mux/stream.js'

class WatchCore<T> {
  value: T
  version = 0
  senderGone?: ChannelCloseReason
  receivers = 0
  #waiters: Array<() => void> = []
  #receiversGone: Array<(reason: ChannelCloseReason) => void> = []
  #lastReceiverReason: ChannelCloseReason = 'closed'

  constructor(initial: T) {
    this.value = initial
  }

  set(value: T): void {
    this.value = value
    this.version++
    this.#wake()
  }

  closeSender(reason: ChannelCloseReason): void {
    if (this.senderGone) return
    this.senderGone = reason
    this.#wake()
  }

  /** Resolves true when a version newer than `seen` exists, false when the sender is gone and there is none. */
  async waitNewer(seen: number): Promise<boolean> {
    while (this.version === seen && !this.senderGone) await new Promise<void>((resolve) => this.#waiters.push(resolve))
    return this.version !== seen
  }

  addReceiver(): void {
    this.receivers++
  }

  removeReceiver(reason: ChannelCloseReason): void {
    if (this.receivers === 0) return
    this.receivers--
    this.#lastReceiverReason = reason
    if (this.receivers === 0) for (const listener of this.#receiversGone.splice(0)) listener(reason)
  }

  /** Why the last receiver went, while there is none. */
  get receiversGone(): ChannelCloseReason | undefined {
    return this.receivers === 0 ? this.#lastReceiverReason : undefined
  }

  onReceiversGone(listener: (reason: ChannelCloseReason) => void): void {
    if (this.receivers === 0) listener(this.#lastReceiverReason)
    else this.#receiversGone.push(listener)
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake()
  }
}

export function channel<T>(initial: T): [Sender<T>, Receiver<T>] {
  const core = new WatchCore(initial)
  return [new Sender(core), new Receiver(core)]
}

const senderDrops = new FinalizationRegistry<WatchCore<unknown>>((core) => core.closeSender('dropped'))
const receiverDrops = new FinalizationRegistry<WatchCore<unknown>>((core) => core.removeReceiver('dropped'))

export class Sender<T> {
  #core: WatchCore<T>
  #done = false

  /** @internal use `watch.channel()` */
  constructor(core: WatchCore<T>) {
    this.#core = core
    senderDrops.register(this, core as WatchCore<unknown>, this)
  }

  /**
   * Replaces the value; every receiver will see it (or a later one). Throws CHANNEL_CLOSED once
   * every receiver is gone (a SendClosedError holding the value, which is not stored, and how the
   * last receiver went), or when this sender was closed or sent away.
   */
  send(value: T): void {
    this.#assertOpen()
    const gone = this.#core.receiversGone
    if (gone) throw new SendClosedError(gone, value)
    this.#core.set(value)
  }

  /** Replaces the value whether or not any receiver is left, and returns the value it replaced. */
  sendReplace(value: T): T {
    this.#assertOpen()
    const previous = this.#core.value
    this.#core.set(value)
    return previous
  }

  /** Whether every receiver is gone (`send` would fail). */
  get isClosed(): boolean {
    return this.#done || this.#core.receiversGone !== undefined
  }

  #assertOpen(): void {
    if (this.#done) throw new ChannelClosedError('closed', 'this watch sender was closed or sent away')
  }

  /** The current value. */
  borrow(): T {
    return this.#core.value
  }

  /** A new receiver, starting at the current value. */
  subscribe(): Receiver<T> {
    return new Receiver(this.#core)
  }

  /** Resolves when every receiver is gone, with the last one's reason. */
  closed(): Promise<ChannelCloseReason> {
    return new Promise((resolve) => this.#core.onReceiversGone(resolve))
  }

  /** No more values: receivers end after seeing the last one. */
  close(): void {
    this.#finish('closed')
  }

  [Symbol.dispose](): void {
    this.#finish('dropped')
  }

  #finish(reason: ChannelCloseReason): void {
    if (this.#done) return
    this.#done = true
    senderDrops.unregister(this)
    this.#core.closeSender(reason)
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#done) throw new MeshscopeError('CHANNEL_CLOSED', 'a closed watch sender cannot be sent')
    const stream = connection.openPortStream()
    return {
      payload: { k: 'watch.tx', s: stream.id, v: this.#core.value },
      activate: () => {
        this.#done = true
        senderDrops.unregister(this)
        void pumpStreamToWatch(connection, stream, this.#core)
      },
      rollback: () => stream.reset('closed', 'the value carrying this port failed to encode'),
    }
  }
}

export class Receiver<T> implements AsyncIterable<T> {
  #core: WatchCore<T>
  #seen: number
  #closed = false

  /** @internal use `watch.channel()` or `sender.subscribe()` */
  constructor(core: WatchCore<T>, seen = core.version) {
    this.#core = core
    this.#seen = seen
    core.addReceiver()
    receiverDrops.register(this, core as WatchCore<unknown>, this)
  }

  /**
   * Whether there is a value this receiver has not seen (without waiting). False for a receiver that
   * just arrived or was just made: it starts at the current value.
   */
  hasChanged(): boolean {
    if (this.#closed) throw new MeshscopeError('CHANNEL_CLOSED', 'this watch receiver was closed')
    return this.#core.version !== this.#seen
  }

  /** The latest value (and marks it seen). */
  borrow(): T {
    this.#seen = this.#core.version
    return this.#core.value
  }

  /**
   * Resolves true when there is a value this receiver has not seen (read it with `borrow()`); false once
   * the sender is gone and the last value was seen.
   */
  async changed(): Promise<boolean> {
    if (this.#closed) throw new MeshscopeError('CHANNEL_CLOSED', 'this watch receiver was closed')
    return this.#core.waitNewer(this.#seen)
  }

  /** Why the sender went away, once it has. */
  get senderGone(): ChannelCloseReason | undefined {
    return this.#core.senderGone
  }

  clone(): Receiver<T> {
    return new Receiver(this.#core, this.#seen)
  }

  close(): void {
    this.#finish('closed')
  }

  [Symbol.dispose](): void {
    this.#finish('dropped')
  }

  /** Yields the current value, then each newer value it observes, until the sender is gone. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    yield this.borrow()
    while (await this.changed()) yield this.borrow()
  }

  #finish(reason: ChannelCloseReason): void {
    if (this.#closed) return
    this.#closed = true
    receiverDrops.unregister(this)
    this.#core.removeReceiver(reason)
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#closed) throw new MeshscopeError('CHANNEL_CLOSED', 'a closed watch receiver cannot be sent')
    const stream = connection.openPortStream()
    return {
      payload: { k: 'watch.rx', s: stream.id, v: this.#core.value },
      activate: () => {
        // The half moves: a new handle takes over this one's place among the receivers.
        const handle = this.clone()
        this.#closed = true
        receiverDrops.unregister(this)
        this.#core.removeReceiver('closed')
        void pumpWatchToStream(connection, handle, stream)
      },
      rollback: () => stream.reset('closed', 'the value carrying this port failed to encode'),
    }
  }
}

/** Sends every newer value the receiver observes; the remote side going away closes the receiver. */
async function pumpWatchToStream<T>(connection: Connection, receiver: Receiver<T>, stream: MuxStream): Promise<void> {
  stream.onSendEnd((reason) => (reason === 'dropped' ? receiver[Symbol.dispose]() : receiver.close()))
  receiver.borrow() // the current value already travelled in the port's payload
  try {
    for (;;) {
      if (!(await receiver.changed())) {
        const reason = receiver.senderGone ?? 'closed'
        if (reason !== 'closed') await stream.send(encodeEnd(connection, reason)).catch(() => {})
        stream.close()
        return
      }
      try {
        await stream.send(encodeItem(connection, { ok: true, value: receiver.borrow() }))
      } catch (error) {
        if ((error as { code?: string }).code !== 'ITEM_TOO_LARGE') return
      }
    }
  } catch {
    // the receiver was closed because the stream ended
  }
}

/** Applies each value from the stream to the core; the end of the stream ends the sender. */
async function pumpStreamToWatch<T>(connection: Connection, stream: MuxStream, core: WatchCore<T>): Promise<void> {
  stream.close()
  core.onReceiversGone((reason) => stream.stop(reason === 'dropped' ? 'dropped' : 'closed'))
  for (;;) {
    let bytes: Uint8Array | null
    try {
      bytes = await stream.receive()
    } catch (error) {
      if ((error as { code?: string }).code === 'ITEM_TOO_LARGE') continue // a watch just keeps the previous value
      core.closeSender('disconnected')
      return
    }
    if (bytes === null) return core.closeSender('closed')
    const item = decodeItem<T>(connection, bytes)
    if ('end' in item) return core.closeSender(item.end)
    if (item.ok) core.set(item.value)
  }
}

/** The watch port kinds, for a connection's port table. */
export const watchPorts: PortTable = {
  kinds: {
    'watch.rx': (connection, payload) => {
      // A watch keeps only the latest value, so a peer cannot queue anything here; its item size is still bounded.
      const stream = connection.claimInboundPortStream(payload.s)
      const core = new WatchCore<unknown>(payload.v)
      const receiver = new Receiver(core)
      void pumpStreamToWatch(connection, stream, core)
      return receiver
    },
    'watch.tx': (connection, payload) => {
      const stream = connection.claimPortStream(payload.s)
      const core = new WatchCore<unknown>(payload.v)
      const sender = new Sender(core)
      const internal = new Receiver(core)
      void pumpWatchToStream(connection, internal, stream)
      return sender
    },
  },
}
