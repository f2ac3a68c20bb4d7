/**
 * broadcast: every subscriber gets every value, in order — remoc's `rch::broadcast`. Senders never
 * block: the channel keeps the last `capacity` values, and a subscriber that falls further behind gets
 * exactly one LaggedError (how many it missed) and then goes on with the oldest value still kept.
 * Sending either half moves it (clone or subscribe first to keep one here).
 *
 * A half received from a peer keeps at most this side's `ChannelLimits.maxReceivedCapacity` values
 * and `maxReceivedBufferBytes` of what arrived, whatever capacity its sender asked for: a broadcast
 * never holds a sender back, so its bound is lag, not backpressure.
 *
 * As in remoc, `send` with no receiver left fails with CHANNEL_CLOSED (a SendClosedError holding
 * the value); a sender sent to another peer learns that its receivers there are all gone.
 */
import { MeshscopeError } from '../errors.js'
import type { MuxStream } from '../mux/stream.js'
import type { Connection } from './connection.js'
import { BudgetedReader } from './budgeted-reader.js'
import { LaggedError, SendClosedError, movedError, type ChannelCloseReason } from './errors.js'
import { decodeItem, decodedItemOverhead, encodeEnd, encodeItem } from './items.js'
import { receivedCapacity } from './limits.js'
import type { ReleaseReceived } from './mpsc-core.js'
import { ENCODE_PORT, numberOption, type PortPayload, type PortPlan, type PortTable } from './port.js'

type Entry<T> = { value: T } | { lagged: number }
type Read<T> = { entry: Entry<T>; next: number } | { lagged: number; next: number } | 'wait' | 'end'

/**
 * The values a broadcast channel keeps, as a ring: the last `capacity` entries (and, for entries that
 * came from a peer, no more than `maxBufferedBytes` of them, encoded), each numbered by a sequence
 * number. Pushing and reading are O(1); a receiver is just a cursor (the next sequence number it
 * reads), so one that falls behind the oldest kept entry learns how many it missed.
 */
class BroadcastCore<T> {
  /** Grows by doubling up to `capacity`, so a large capacity costs nothing until it is used. */
  #slots: Array<Entry<T> | undefined>
  /** Encoded bytes of each slot's entry (0 for values sent in this process), beside `#slots`. */
  #sizes: number[]
  /** What to call once each slot's entry from a peer is dropped (its peer's inbound budget), beside `#slots`. */
  #releases: Array<ReleaseReceived | undefined>
  /** Slot of the oldest entry kept. */
  #head = 0
  #count = 0
  /** Sequence number of the oldest entry kept. */
  #firstSeq = 0
  #bufferedBytes = 0
  #senders = 0
  #receivers = 0
  #receiversGoneListeners: Array<(reason: ChannelCloseReason) => void> = []
  #waiters: Array<() => void> = []
  lastSenderReason: ChannelCloseReason = 'closed'
  lastReceiverReason: ChannelCloseReason = 'closed'
  /** Most encoded bytes from peers kept; the oldest entries go first (their readers lag). */
  maxBufferedBytes = Number.POSITIVE_INFINITY

  constructor(readonly capacity: number) {
    this.#slots = new Array(Math.min(capacity, 16))
    this.#sizes = new Array(this.#slots.length).fill(0)
    this.#releases = new Array(this.#slots.length)
  }

  /** Whether a receiver waits for the next value now (it read everything kept). */
  get readerWaiting(): boolean {
    return this.#waiters.length > 0
  }

  /** Called whenever a receiver starts waiting for more. */
  onReaderWaiting?: () => void

  get nextSeq(): number {
    return this.#firstSeq + this.#count
  }

  /** Encoded bytes kept of the entries that came from a peer. */
  get bufferedBytes(): number {
    return this.#bufferedBytes
  }

  /**
   * Adds an entry (of `receivedBytes` encoded bytes if it came from a peer, `release`d once dropped),
   * dropping the oldest to make room — and while `overBudget()` says its peer's budget is over
   * (the ring lags rather than hold more than the peer may make this side hold).
   */
  push(entry: Entry<T>, receivedBytes = 0, release?: ReleaseReceived, overBudget?: () => boolean): void {
    while (this.#count > 0 && (this.#count >= this.capacity || this.#bufferedBytes + receivedBytes > this.maxBufferedBytes || (overBudget?.() ?? false)))
      this.#dropOldest()
    if (this.#count === this.#slots.length) this.#grow()
    const slot = (this.#head + this.#count) % this.#slots.length
    this.#slots[slot] = entry
    this.#sizes[slot] = receivedBytes
    this.#releases[slot] = release
    this.#bufferedBytes += receivedBytes
    this.#count++
    for (const wake of this.#waiters.splice(0)) wake()
  }

  read(cursor: number): Read<T> {
    if (cursor < this.#firstSeq) return { lagged: this.#firstSeq - cursor, next: this.#firstSeq }
    const index = cursor - this.#firstSeq
    if (index < this.#count) return { entry: this.#slots[(this.#head + index) % this.#slots.length]!, next: cursor + 1 }
    return this.#senders === 0 ? 'end' : 'wait'
  }

  #dropOldest(): void {
    this.#slots[this.#head] = undefined
    this.#bufferedBytes -= this.#sizes[this.#head]!
    const release = this.#releases[this.#head]
    this.#releases[this.#head] = undefined
    release?.(this.#sizes[this.#head]!)
    this.#head = (this.#head + 1) % this.#slots.length
    this.#count--
    this.#firstSeq++
  }

  /** Only called when full: copies the entries, oldest first, into twice the slots (at most `capacity`). */
  #grow(): void {
    const length = Math.min(this.capacity, this.#slots.length * 2)
    const slots = new Array<Entry<T> | undefined>(length)
    const sizes = new Array<number>(length).fill(0)
    const releases = new Array<ReleaseReceived | undefined>(length)
    for (let i = 0; i < this.#count; i++) {
      const from = (this.#head + i) % this.#slots.length
      slots[i] = this.#slots[from]
      sizes[i] = this.#sizes[from]!
      releases[i] = this.#releases[from]
    }
    this.#slots = slots
    this.#sizes = sizes
    this.#releases = releases
    this.#head = 0
  }

  waitForMore(): Promise<void> {
    const more = new Promise<void>((resolve) => this.#waiters.push(resolve))
    this.onReaderWaiting?.()
    return more
  }

  /** Every sender and receiver is gone: drops what is kept, so it no longer counts in any peer's budget. */
  dropAll(): void {
    while (this.#count > 0) this.#dropOldest()
  }

  addSender(): void {
    this.#senders++
  }

  get receiverCount(): number {
    return this.#receivers
  }

  addReceiver(): void {
    this.#receivers++
  }

  removeReceiver(reason: ChannelCloseReason): void {
    if (this.#receivers === 0) return
    this.#receivers--
    this.lastReceiverReason = reason
    if (this.#receivers === 0) for (const listener of this.#receiversGoneListeners.splice(0)) listener(reason)
  }

  /** Calls `listener` when the last receiver goes (at once if there is none). */
  onReceiversGone(listener: (reason: ChannelCloseReason) => void): void {
    if (this.#receivers === 0) listener(this.lastReceiverReason)
    else this.#receiversGoneListeners.push(listener)
  }

  removeSender(reason: ChannelCloseReason): void {
    if (this.#senders === 0) return
    this.#senders--
    this.lastSenderReason = reason
    if (this.#senders === 0) for (const wake of this.#waiters.splice(0)) wake()
  }
}

const MAX_CAPACITY = 1 << 20

export function channel<T>(capacity = 64): [Sender<T>, Receiver<T>] {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY)
    throw new MeshscopeError('INVALID_ARGUMENT', `capacity must be 1..${MAX_CAPACITY}`)
  const core = new BroadcastCore<T>(capacity)
  return [new Sender(core), new Receiver(core, core.nextSeq)]
}

const senderDrops = new FinalizationRegistry<BroadcastCore<unknown>>((core) => core.removeSender('dropped'))
const receiverDrops = new FinalizationRegistry<Array<(reason: ChannelCloseReason) => void>>((listeners) => {
  for (const listener of listeners.splice(0)) listener('dropped')
})

export class Sender<T> {
  #core: BroadcastCore<T>
  #closed = false

  /** @internal use `broadcast.channel()` */
  constructor(core: BroadcastCore<T>) {
    this.#core = core
    core.addSender()
    senderDrops.register(this, core as BroadcastCore<unknown>, this)
  }

  /**
   * Publishes a value to every subscriber. Never waits. Throws CHANNEL_CLOSED when this sender was
   * closed, and once no receiver is left (a SendClosedError holding the value; nothing is kept).
   */
  send(value: T): void {
    if (this.#closed) throw new MeshscopeError('CHANNEL_CLOSED', 'this broadcast sender was closed')
    if (this.#core.receiverCount === 0) throw new SendClosedError(this.#core.lastReceiverReason, value)
    this.#core.push({ value })
  }

  /** How many receivers are subscribed now (a receiver on another peer counts as one here). */
  get receiverCount(): number {
    return this.#core.receiverCount
  }

  /** A receiver that gets every value sent from now on. */
  subscribe(): Receiver<T> {
    return new Receiver(this.#core, this.#core.nextSeq)
  }

  clone(): Sender<T> {
    return new Sender(this.#core)
  }

  close(): void {
    this.#finish('closed')
  }

  [Symbol.dispose](): void {
    this.#finish('dropped')
  }

  #finish(reason: ChannelCloseReason): void {
    if (this.#closed) return
    this.#closed = true
    senderDrops.unregister(this)
    this.#core.removeSender(reason)
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#closed) throw new MeshscopeError('CHANNEL_CLOSED', 'a closed broadcast sender cannot be sent')
    const stream = connection.openPortStream()
    return {
      payload: { k: 'broadcast.tx', s: stream.id, o: { c: this.#core.capacity } },
      activate: () => {
        // What that peer publishes is kept here: this side's byte budget bounds it.
        this.#core.maxBufferedBytes = Math.min(this.#core.maxBufferedBytes, connection.channelLimits.maxReceivedBufferBytes)
        // The half moves: a new handle takes over this one's place among the senders.
        this.#closed = true
        senderDrops.unregister(this)
        const handle = new Sender(this.#core)
        this.#core.removeSender('closed')
        // Every receiver here gone: the sender there learns it (its sends then fail).
        const core = this.#core
        const stopped = new Promise<void>((resolve) =>
          core.onReceiversGone((reason) => {
            stream.stop(reason === 'dropped' ? 'dropped' : 'closed')
            resolve()
          }),
        )
        void pumpStreamToBroadcast(connection, stream, handle, stopped)
      },
      rollback: () => stream.reset('closed', 'the value carrying this port failed to encode'),
    }
  }

  /**
   * @internal for pumps: publishes what arrived from a peer (a value, or upstream lag every
   * subscriber learns of), counting its encoded size (`release`d once the ring drops it).
   */
  publishReceived(entry: Entry<T>, receivedBytes: number, release?: ReleaseReceived, overBudget?: () => boolean): void {
    this.#core.push(entry, receivedBytes, release, overBudget)
  }

  /** @internal for pumps: whether a receiver waits for the next value now, and how to hear when one starts to. */
  get readerWaiting(): boolean {
    return this.#core.readerWaiting
  }

  /** @internal for pumps */
  set onReaderWaiting(listener: (() => void) | undefined) {
    this.#core.onReaderWaiting = listener
  }
}

export class Receiver<T> implements AsyncIterable<T> {
  #core: BroadcastCore<T>
  #cursor: number
  #state: 'open' | 'closed' | 'moved' = 'open'
  #stopListeners: Array<(reason: ChannelCloseReason) => void> = []
  /** Takes this receiver off the core's count, once (on close, drop, collection or move). */
  #uncount: (reason: ChannelCloseReason) => void

  /** @internal use `broadcast.channel()` or `sender.subscribe()` */
  constructor(core: BroadcastCore<T>, cursor: number) {
    this.#core = core
    this.#cursor = cursor
    core.addReceiver()
    let counted = true
    this.#uncount = (reason) => {
      if (!counted) return
      counted = false
      core.removeReceiver(reason)
    }
    this.#stopListeners.push(this.#uncount)
    receiverDrops.register(this, this.#stopListeners, this)
  }

  get isClosed(): boolean {
    return this.#state !== 'open'
  }

  /**
   * Values the channel keeps for a receiver that falls behind. One that came from another peer has
   * the capacity its sender asked for, within this side's `ChannelLimits.maxReceivedCapacity`.
   */
  get capacity(): number {
    return this.#core.capacity
  }

  /**
   * The next value, or undefined once every sender is gone and everything was read. Rejects with
   * LaggedError once if this receiver fell behind by more than the capacity; the next call goes on.
   */
  async recv(): Promise<T | undefined> {
    if (this.#state === 'moved') throw movedError('receiver')
    const next = await this.#next()
    return next?.value
  }

  /** The next entry as `{ value }`, or undefined at the end (or once closed); throws LaggedError. */
  async #next(): Promise<{ value: T } | undefined> {
    for (;;) {
      if (this.#state !== 'open') return undefined
      const read = this.#core.read(this.#cursor)
      if (read === 'end') return undefined
      if (read === 'wait') {
        await this.#core.waitForMore()
        continue
      }
      this.#cursor = read.next
      if ('lagged' in read) throw new LaggedError(read.lagged)
      if ('lagged' in read.entry) throw new LaggedError(read.entry.lagged)
      return { value: read.entry.value }
    }
  }

  /** Stops receiving (other subscribers go on). */
  close(): void {
    this.#stop('closed')
  }

  [Symbol.dispose](): void {
    this.#stop('dropped')
  }

  get senderGone(): ChannelCloseReason | undefined {
    return this.#core.read(this.#core.nextSeq) === 'end' ? this.#core.lastSenderReason : undefined
  }

  /** Yields every value until the senders are gone; a LaggedError ends the iteration by throwing. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (let next = await this.#next(); next; next = await this.#next()) yield next.value
  }

  /** @internal for pumps */
  onStop(listener: (reason: ChannelCloseReason) => void): void {
    this.#stopListeners.push(listener)
  }

  #stop(reason: ChannelCloseReason): void {
    if (this.#state !== 'open') return
    this.#state = 'closed'
    receiverDrops.unregister(this)
    for (const listener of this.#stopListeners.splice(0)) listener(reason)
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#state === 'moved') throw movedError('receiver')
    const stream = connection.openPortStream()
    return {
      payload: { k: 'broadcast.rx', s: stream.id, o: { c: this.#core.capacity } },
      activate: () => {
        const moved = new Receiver(this.#core, this.#cursor)
        this.#state = 'moved'
        receiverDrops.unregister(this)
        this.#uncount('closed')
        void pumpBroadcastToStream(connection, moved, stream)
      },
      rollback: () => stream.reset('closed', 'the value carrying this port failed to encode'),
    }
  }
}

/** Forwards every value (and lag) a receiver sees; the remote receiver going away closes it. */
async function pumpBroadcastToStream<T>(connection: Connection, receiver: Receiver<T>, stream: MuxStream): Promise<void> {
  stream.onSendEnd(() => receiver.close())
  for (;;) {
    let item: Parameters<typeof encodeItem>[1]
    try {
      const value = await receiver.recv()
      if (receiver.isClosed) return
      if (value === undefined && receiver.senderGone) {
        const reason = receiver.senderGone
        if (reason !== 'closed') await stream.send(encodeEnd(connection, reason)).catch(() => {})
        stream.close()
        return
      }
      item = { ok: true, value }
    } catch (error) {
      if (!(error instanceof LaggedError)) return
      item = { ok: false, lagged: error.skipped }
    }
    try {
      await stream.send(encodeItem(connection, item))
    } catch (error) {
      if ((error as { code?: string }).code !== 'ITEM_TOO_LARGE') return
    }
  }
}

/**
 * Publishes every value from the stream through `sender`; the stream's end closes the sender. What the
 * ring keeps counts in the peer's inbound budget; the next value is read only when that budget has
 * room or a receiver waits for it (budgeted-reader.ts), and a ring over the budget lags.
 */
async function pumpStreamToBroadcast<T>(connection: Connection, stream: MuxStream, sender: Sender<T>, stopped: Promise<unknown>): Promise<void> {
  stream.close()
  const reader = new BudgetedReader(connection, stream, () => sender.readerWaiting, stopped)
  sender.onReaderWaiting = reader.consumerStartedWaiting
  const budget = connection.session.inboundBudget
  const overBudget = () => budget.committed > budget.limit
  let reason: ChannelCloseReason = 'closed'
  try {
    for (;;) {
      let bytes: Uint8Array | null
      try {
        bytes = await reader.read(
          () => stream.receive(),
          (received) => received?.byteLength ?? 0,
        )
      } catch (error) {
        if ((error as { code?: string }).code === 'ITEM_TOO_LARGE') {
          sender.publishReceived({ lagged: 1 }, 0) // the item is lost to every subscriber; say so
          continue
        }
        reason = 'disconnected'
        return
      }
      if (bytes === null) return
      let item: ReturnType<typeof decodeItem<T>>
      try {
        item = decodeItem<T>(connection, bytes)
      } catch (error) {
        reader.release(bytes.byteLength)
        throw error
      }
      if ('end' in item) {
        reader.release(bytes.byteLength)
        reason = item.end
        continue
      }
      if (item.ok) {
        // Its entries as JS values cost more than their bytes: that counts too, in budget and ring.
        const decodedExtra = decodedItemOverhead(connection)
        reader.holdMore(decodedExtra)
        sender.publishReceived({ value: item.value }, bytes.byteLength + decodedExtra, reader.release, overBudget)
      } else if ('lagged' in item) sender.publishReceived({ lagged: item.lagged }, bytes.byteLength, reader.release, overBudget)
      else reader.release(bytes.byteLength)
    }
  } finally {
    reason === 'dropped' ? sender[Symbol.dispose]() : sender.close()
  }
}

/** The broadcast port kinds, for a connection's port table. */
export const broadcastPorts: PortTable = {
  kinds: {
    'broadcast.rx': (connection, payload) => {
      const core = new BroadcastCore<unknown>(capacityOf(connection, payload))
      const stream = connection.claimInboundPortStream(payload.s)
      core.maxBufferedBytes = connection.channelLimits.maxReceivedBufferBytes
      const sender = new Sender(core)
      const receiver = new Receiver(core, core.nextSeq)
      const stopped = new Promise<void>((resolve) =>
        receiver.onStop((reason) => {
          stream.stop(reason === 'dropped' ? 'dropped' : 'closed')
          core.dropAll() // nobody reads it any more: it no longer counts in the peer's budget
          resolve()
        }),
      )
      void pumpStreamToBroadcast(connection, stream, sender, stopped)
      return receiver
    },
    'broadcast.tx': (connection, payload) => {
      // The values kept are this side's own, but how many is still not the peer's choice.
      const core = new BroadcastCore<unknown>(capacityOf(connection, payload))
      const stream = connection.claimPortStream(payload.s)
      const sender = new Sender(core)
      const internal = new Receiver(core, core.nextSeq)
      void pumpBroadcastToStream(connection, internal, stream)
      return sender
    },
  },
}

/** The capacity a received half asked for (1..2^20, else BAD_PORT), within this side's limit. */
function capacityOf(connection: Connection, payload: PortPayload): number {
  return receivedCapacity(connection.channelLimits, numberOption(payload, 'c', 64, 1, MAX_CAPACITY))
}
