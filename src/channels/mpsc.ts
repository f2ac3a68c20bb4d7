/**
 * mpsc: a bounded, ordered channel with many senders and one receiver — remoc's `rch::mpsc`.
 *
 * Either half may be placed inside a value sent to another peer and keeps working there. Sending a
 * half moves it, as transferring does in postMessage: using it here afterwards fails with
 * CHANNEL_MOVED (send `tx.clone()` to keep a sender here). The receiver sees the end once every sender is closed or
 * gone; senders see why the receiver went away (`closed`, `dropped`, `disconnected`). `close()` is a
 * close; disposing (`using`) or garbage collection without `close()` is a drop.
 *
 * A sender whose receiver is on another peer encodes at `send`: a value that cannot travel, or one
 * over `maxItemBytes`, fails that send only.
 *
 * As in remoc: the receiver's `close()` stops the senders but what is queued stays receivable; a
 * sender lost with its connection does not end the receiver early — its error is held back until
 * every other sender is gone and then surfaces once (`error` / `takeError()` look at it first).
 * `trySend` never waits, `reserve()` takes a slot of capacity ahead of the value, `recvMany(max)`
 * takes what is queued in one call.
 */
import { MeshscopeError } from '../errors.js'
import type { StreamLane } from '../mux/frame.js'
import type { Connection } from './connection.js'
import { ChannelClosedError, movedError, type ChannelCloseReason } from './errors.js'
import type { Item } from './items.js'
import { MpscCore, type ReleaseReceived } from './mpsc-core.js'
import { receivedCapacity } from './limits.js'
import { ENCODE_PORT, numberOption, type PortPayload, type PortPlan, type PortTable } from './port.js'
import { pumpCoreToStream, pumpStreamToSender } from './pumps.js'
import { StreamSender } from './stream-sender.js'

export interface ChannelOptions {
  /**
   * Values the channel holds before `send` waits.
   * @default 16
   */
  capacity?: number
  /**
   * Largest encoded value accepted when the channel crosses to another peer.
   * @default the session's `maxItemBytes` (16 MiB)
   */
  maxItemBytes?: number
  /**
   * The link lane the channel's stream travels on when it crosses to another peer: `bulk` for bulk
   * data (`bytes` channels use it), so it never sits ahead of other channels' small values.
   * @default 'latency'
   */
  lane?: StreamLane
}

const MAX_CAPACITY = 1 << 20

/** A new channel. */
export function channel<T>(options: ChannelOptions | number = {}): [Sender<T>, Receiver<T>] {
  const { capacity = 16, maxItemBytes, lane = 'latency' } = typeof options === 'number' ? { capacity: options } : options
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY)
    throw new MeshscopeError('INVALID_ARGUMENT', `capacity must be 1..${MAX_CAPACITY}`)
  const core = new MpscCore<T>(capacity)
  core.lane = lane
  return [Sender.local(core, maxItemBytes), new Receiver(core, maxItemBytes)]
}

/** Where a sender's values go: a core in this process, or a stream to the peer holding the receiver. */
type SenderBackend<T> = { kind: 'local'; core: MpscCore<T> } | { kind: 'remote'; port: StreamSender; capacity: number }

function release(backend: SenderBackend<unknown>, reason: ChannelCloseReason): void {
  if (backend.kind === 'local') backend.core.removeSender(reason)
  else backend.port.release(reason)
}

const senderDrops = new FinalizationRegistry<SenderBackend<unknown>>((backend) => release(backend, 'dropped'))
const receiverDrops = new FinalizationRegistry<MpscCore<unknown>>((core) => core.closeReceiver('dropped'))

export class Sender<T> {
  #backend: SenderBackend<T>
  #closed = false
  #moved = false
  /** Largest encoded value accepted when this half crosses to another peer. */
  maxItemBytes: number | undefined

  /** @internal a handle on a local core (counted as one of its senders) */
  static local<T>(core: MpscCore<T>, maxItemBytes?: number): Sender<T> {
    core.addSender()
    return new Sender({ kind: 'local', core }, maxItemBytes)
  }

  /** @internal use `mpsc.channel()` */
  constructor(backend: SenderBackend<T>, maxItemBytes?: number) {
    this.#backend = backend
    this.maxItemBytes = maxItemBytes
    senderDrops.register(this, backend as SenderBackend<unknown>, this)
  }

  /**
   * Sends a value, waiting while the channel is full. Rejects with ChannelClosedError when the
   * receiver is gone (its `reason` says how) or this sender was closed; when the receiver is remote,
   * also with a codec error (the value cannot travel) or ITEM_TOO_LARGE — for this send only.
   */
  async send(value: T): Promise<void> {
    await this.sendItem({ ok: true, value })
  }

  /**
   * Sends a value only if the channel has room now: true when it took the value, false when it is
   * full (nothing sent). Throws as `send` rejects otherwise (CHANNEL_CLOSED, CHANNEL_MOVED, a codec
   * error, ITEM_TOO_LARGE).
   */
  trySend(value: T): boolean {
    this.#assertUsable()
    const backend = this.#backend
    return backend.kind === 'local' ? backend.core.tryPush({ ok: true, value }) : backend.port.trySend({ ok: true, value })
  }

  /**
   * Waits for room in the channel and keeps it for one value: the permit's `send` never waits and
   * never fails for lack of capacity (it still fails if the receiver went away meanwhile, or, for
   * a receiver on another peer, if the value cannot travel). A permit disposed or `release`d unused
   * gives its slot back. Rejects with CHANNEL_CLOSED once the receiver is gone.
   */
  async reserve(): Promise<Permit<T>> {
    this.#assertUsable()
    const backend = this.#backend
    if (backend.kind === 'local') {
      await backend.core.reserve()
      return new Permit<T>(
        (value) => backend.core.pushReserved({ ok: true, value }),
        () => backend.core.unreserve(),
      )
    }
    await backend.port.reserve()
    return new Permit<T>(
      (value) => backend.port.sendReserved({ ok: true, value }),
      () => backend.port.unreserve(),
    )
  }

  #assertUsable(): void {
    if (this.#moved) throw movedError('sender')
    if (this.#closed) throw new ChannelClosedError('closed', 'this sender was closed')
  }

  /** @internal for pumps: values and per-item errors, with the encoded size of one that came from a peer. */
  /**
   * `release`, for an item from a peer, is called once the item no longer waits here: when it left the
   * local core (see MpscCore.push), when it went on to the next peer, or when it could not be sent.
   */
  async sendItem(item: Item<T>, receivedBytes = 0, release?: ReleaseReceived): Promise<void> {
    try {
      if (this.#moved) throw movedError('sender')
      if (this.#closed) throw new ChannelClosedError('closed', 'this sender was closed')
    } catch (error) {
      release?.(receivedBytes)
      throw error
    }
    if (this.#backend.kind === 'local') {
      // Once queued the core calls `release`; if it refused the item (its receiver is gone), here.
      try {
        await this.#backend.core.push(item, receivedBytes, release)
      } catch (error) {
        release?.(receivedBytes)
        throw error
      }
      return
    }
    try {
      // An item from a peer counts in that peer's budget until the link took it: it does not run ahead.
      await this.#backend.port.send(item, release !== undefined)
    } finally {
      release?.(receivedBytes)
    }
  }

  /** @internal for pumps: whether the receiver waits for a value now, and how to hear when it starts to. */
  readerWaiting(): boolean {
    return this.#backend.kind === 'local' && this.#backend.core.readerWaiting
  }

  /** @internal for pumps: calls `listener` whenever a local receiver starts waiting; returns how to stop. */
  onReaderWaiting(listener: () => void): () => void {
    return this.#backend.kind === 'local' ? this.#backend.core.onReaderWaiting(listener) : () => {}
  }

  /**
   * @internal for the bytes channel: sends bytes to a receiver on another peer without copying them
   * (they are read as they go out, so they must not change until this resolves — which it does once
   * they are on the link); a receiver in this process gets a copy, as it keeps what it is given.
   */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    if (this.#moved) throw movedError('sender')
    if (this.#closed) throw new ChannelClosedError('closed', 'this sender was closed')
    const backend = this.#backend
    if (backend.kind === 'remote') return backend.port.sendBytes(bytes)
    if (backend.core.drainsToStream) return backend.core.pushLent({ ok: true, value: bytes as T })
    // An explicit copy into a plain Uint8Array: a Node Buffer's `slice` would be a view, and a Buffer.
    const copy = new Uint8Array(bytes.byteLength)
    copy.set(bytes)
    await backend.core.push({ ok: true, value: copy as T })
  }

  /** @internal for pumps: whether values may be pushed in pieces (a bytes receiver in this process). */
  get takesBytePieces(): boolean {
    return this.#backend.kind === 'local' && this.#backend.core.takesBytePieces
  }

  /** Another sender on the same channel. */
  clone(): Sender<T> {
    if (this.#moved) throw movedError('sender')
    if (this.#closed) throw new ChannelClosedError('closed', 'this sender was closed')
    const backend = this.#backend
    if (backend.kind === 'local') backend.core.addSender()
    else backend.port.retain()
    return new Sender(backend, this.maxItemBytes)
  }

  /** This sender is done; the receiver ends once every sender is. Idempotent. */
  close(): void {
    this.#finish('closed')
  }

  /** Disposing without `close()` drops the sender: the receiver learns it was `dropped`. */
  [Symbol.dispose](): void {
    this.#finish('dropped')
  }

  /** @internal for pumps: ends this handle with a reason. */
  finish(reason: ChannelCloseReason): void {
    this.#finish(reason)
  }

  /** Resolves when the receiver is gone, with the reason. */
  closed(): Promise<ChannelCloseReason> {
    const backend = this.#backend
    if (backend.kind === 'remote') return backend.port.closed()
    return new Promise((resolve) => backend.core.onReceiverGone(resolve))
  }

  get isClosed(): boolean {
    const backend = this.#backend
    return this.#closed || (backend.kind === 'local' ? backend.core.receiverGone : backend.port.receiverGone) !== undefined
  }

  #finish(reason: ChannelCloseReason): void {
    if (this.#closed || this.#moved) return
    this.#closed = true
    senderDrops.unregister(this)
    release(this.#backend as SenderBackend<unknown>, reason)
  }

  /** Hands this handle's place among the senders to a new handle and retires this one. */
  #moveOut(): Sender<T> {
    this.#moved = true
    senderDrops.unregister(this)
    return new Sender(this.#backend, this.maxItemBytes)
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#moved) throw movedError('sender')
    if (this.#closed) throw new ChannelClosedError('closed', 'a closed sender cannot be sent')
    const lane = this.#backend.kind === 'local' ? this.#backend.core.lane : 'latency'
    const stream = connection.openPortStream({ maxItemBytes: this.maxItemBytes, lane })
    const capacity = this.#backend.kind === 'local' ? this.#backend.core.capacity : this.#backend.capacity
    return {
      payload: portPayload('mpsc.tx', stream.id, capacity, this.maxItemBytes),
      // The half moves: values from the other side go on through a handle that takes over this one's place.
      activate: () => {
        // What that peer sends waits here: this side's byte budget bounds it.
        if (this.#backend.kind === 'local')
          this.#backend.core.maxBufferedBytes = Math.min(this.#backend.core.maxBufferedBytes, connection.channelLimits.maxReceivedBufferBytes)
        void pumpStreamToSender(connection, stream, this.#moveOut())
      },
      rollback: () => stream.reset('closed', 'the value carrying this port failed to encode'),
    }
  }
}

export class Receiver<T> implements AsyncIterable<T> {
  #core: MpscCore<T>
  #moved = false
  maxItemBytes: number | undefined

  /** @internal use `mpsc.channel()` */
  constructor(core: MpscCore<T>, maxItemBytes?: number) {
    this.#core = core
    this.maxItemBytes = maxItemBytes
    receiverDrops.register(this, core as MpscCore<unknown>, this)
  }

  /**
   * The next value, or undefined at the end (every sender closed). Rejects for an item that failed
   * (ITEM_TOO_LARGE, a codec error, CHANNEL_CLOSED with reason `disconnected` when a remote sender's
   * connection failed); the next call goes on.
   */
  async recv(): Promise<T | undefined> {
    if (this.#moved) throw movedError('receiver')
    const item = await this.#core.pull()
    if (item === undefined) return undefined
    if (item.ok) return item.value
    throw errorOf(item)
  }

  /**
   * Up to `max` values in one call: waits for the first (as `recv`), then takes what is already
   * queued behind it. An empty array at the end. Rejects as `recv` when the first item failed; a
   * failed item behind values is left for the next call.
   */
  async recvMany(max: number): Promise<T[]> {
    if (!Number.isInteger(max) || max < 1) throw new MeshscopeError('INVALID_ARGUMENT', 'recvMany takes a positive integer')
    if (this.#moved) throw movedError('receiver')
    const first = await this.#core.pull()
    if (first === undefined) return []
    if (!first.ok) throw errorOf(first)
    const values = [first.value]
    while (values.length < max && this.#core.nextIsValue) values.push((this.#core.pullQueued() as { value: T }).value)
    return values
  }

  /**
   * The held-back error of a sender whose connection failed, while other senders go on (remoc's
   * `error()`): it surfaces once, from `recv` (or as the end of a `for await`), after they are gone.
   */
  get error(): MeshscopeError | undefined {
    return this.#core.heldError
  }

  /** Takes the held-back error (remoc's `take_error()`): the end is then a plain end. */
  takeError(): MeshscopeError | undefined {
    return this.#core.takeHeldError()
  }

  /**
   * Values this receiver's buffer holds before senders wait. A receiver that came from another peer
   * has the capacity its sender asked for, within this side's `ChannelLimits.maxReceivedCapacity`.
   */
  get capacity(): number {
    return this.#core.capacity
  }

  /** @internal for the bytes channel: values may arrive from another peer cut into pieces (see MpscCore.takesBytePieces). */
  takeBytePieces(): void {
    this.#core.takesBytePieces = true
  }

  /** Why the last sender went away, once every sender has (`closed`, `dropped` or `disconnected`). */
  get senderGone(): ChannelCloseReason | undefined {
    return this.#core.senderCount === 0 ? this.#core.lastSenderReason : undefined
  }

  /**
   * Stops receiving: senders fail from now on with reason `closed`, but what is already queued here
   * stays receivable (`recv` gives it, then the end). Idempotent. Dispose the receiver to discard
   * the queue at once (a closed receiver collected unread discards it too).
   */
  close(): void {
    if (this.#moved) return
    this.#core.closeReceiver('closed')
  }

  /** Disposing without `close()` drops the receiver: senders learn it was `dropped`. */
  [Symbol.dispose](): void {
    if (this.#moved) return
    receiverDrops.unregister(this)
    this.#core.closeReceiver('dropped')
  }

  /**
   * Yields every value until the end; an item that failed ends the iteration by throwing its error
   * (a sender's lost connection only once every other sender is gone: see `error`).
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#moved) throw movedError('receiver')
      const item = await this.#core.pull()
      if (item === undefined) return
      if (!item.ok) throw errorOf(item)
      yield item.value
    }
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#moved) throw movedError('receiver')
    const stream = connection.openPortStream({ maxItemBytes: this.maxItemBytes, lane: this.#core.lane })
    return {
      payload: portPayload('mpsc.rx', stream.id, this.#core.capacity, this.maxItemBytes),
      activate: () => {
        this.#moved = true
        receiverDrops.unregister(this)
        void pumpCoreToStream(connection, this.#core, stream)
      },
      rollback: () => stream.reset('closed', 'the value carrying this port failed to encode'),
    }
  }
}

/** A permit collected unused gives its slot back. */
const permitDrops = new FinalizationRegistry<() => void>((giveBack) => giveBack())

/** A slot of an mpsc channel's capacity, kept for one value by `Sender.reserve()`. */
export class Permit<T> {
  #used = false

  /** @internal use `sender.reserve()` */
  constructor(
    private readonly sendInto: (value: T) => void,
    private readonly giveBack: () => void,
  ) {
    permitDrops.register(this, giveBack, this)
  }

  /**
   * Sends into the kept slot, at once (never waits, never fails for capacity). Throws CHANNEL_CLOSED
   * if the receiver went away meanwhile, INVALID_ARGUMENT if the permit was already used.
   */
  send(value: T): void {
    if (this.#used) throw new MeshscopeError('INVALID_ARGUMENT', 'this permit was already used')
    this.#used = true
    permitDrops.unregister(this)
    this.sendInto(value)
  }

  /** Gives the slot back unused. Idempotent; a no-op after `send`. */
  release(): void {
    if (this.#used) return
    this.#used = true
    permitDrops.unregister(this)
    this.giveBack()
  }

  [Symbol.dispose](): void {
    this.release()
  }
}

function errorOf(item: { ok: false; error: MeshscopeError } | { ok: false; lagged: number }): MeshscopeError {
  return 'error' in item ? item.error : new MeshscopeError('CHANNEL_LAGGED', 'unexpected lag on an mpsc channel')
}

function portPayload(kind: string, streamId: number, capacity: number, maxItemBytes: number | undefined): PortPayload {
  return { k: kind, s: streamId, o: maxItemBytes === undefined ? { c: capacity } : { c: capacity, m: maxItemBytes } }
}

/** The options a port asked for: out-of-protocol values are refused (BAD_PORT); the capacity is brought within this side's limit. */
function portOptions(connection: Connection, payload: PortPayload): { capacity: number; maxItemBytes: number | undefined } {
  const capacity = receivedCapacity(connection.channelLimits, numberOption(payload, 'c', 16, 1, MAX_CAPACITY))
  const maxItemBytes = payload.o?.m === undefined ? undefined : numberOption(payload, 'm', 0, 0, 0xffffffff)
  return { capacity, maxItemBytes }
}

/** A sender arrived: it sends straight onto the stream, to the receiver on the other side. */
export function decodeSenderPort(connection: Connection, payload: PortPayload): Sender<unknown> {
  const { capacity, maxItemBytes } = portOptions(connection, payload)
  const stream = connection.claimPortStream(payload.s)
  if (maxItemBytes !== undefined) stream.maxItemBytes = maxItemBytes
  return new Sender({ kind: 'remote', port: new StreamSender(connection, stream, capacity), capacity }, maxItemBytes)
}

/**
 * A receiver arrived: values from the remote senders are fed into a local core it reads. Its
 * capacity, item size and buffered bytes are bounded by this side's ChannelLimits, whatever the
 * sender asked for (the remote senders then wait on credit sooner).
 */
export function decodeReceiverPort(connection: Connection, payload: PortPayload): Receiver<unknown> {
  const { capacity, maxItemBytes } = portOptions(connection, payload)
  const stream = connection.claimInboundPortStream(payload.s, maxItemBytes)
  const core = new MpscCore<unknown>(capacity)
  core.maxBufferedBytes = connection.channelLimits.maxReceivedBufferBytes
  void pumpStreamToSender(connection, stream, Sender.local(core))
  return new Receiver(core, stream.maxItemBytes)
}

/** The mpsc port kinds, for a connection's port table. */
export const mpscPorts: PortTable = { kinds: { 'mpsc.tx': decodeSenderPort, 'mpsc.rx': decodeReceiverPort } }
