/**
 * The in-process heart of an mpsc channel: a bounded FIFO of items with many senders and one
 * receiver. Every mpsc endpoint, local or remote, is a handle on one of these; a half sent to another
 * peer is served by a pump between a core and a mux stream (see pumps.ts).
 *
 * Two bounds: `capacity` items, and `maxBufferedBytes` of items that came from a peer (a pump
 * passes each item's encoded size; values sent in this process count 0). The byte bound is what
 * keeps a peer from filling capacity × 16 MiB: once it is reached the pump waits, and its stream
 * withholds credit from the remote sender. Such an item's bytes also count in its peer's inbound
 * budget while this core holds it: the pump passes a `release` that the core calls once the item
 * leaves (taken by the receiver, handed to it directly, or dropped with the queue).
 *
 * As in remoc: a receiver's `close()` stops the senders but keeps what is queued receivable (only a
 * drop discards it); a sender lost with its connection (an item failing with CHANNEL_CLOSED) is not
 * queued but held back — one error, the first — and surfaces once, after every other sender is gone;
 * `reserve` takes a slot of capacity ahead of the value (a permit), so its send cannot wait.
 */
import type { StreamLane } from '../mux/frame.js'
import type { ChannelCloseReason } from './errors.js'
import type { MeshscopeError } from '../errors.js'
import { ChannelClosedError } from './errors.js'
import type { Item } from './items.js'

/** Called once an item from a peer leaves a core, with its encoded size (it no longer counts in that peer's budget). */
export type ReleaseReceived = (bytes: number) => void

export class MpscCore<T> {
  #queue: Item<T>[] = []
  /** Encoded bytes of each queued item (0 for values sent in this process), beside `#queue`. */
  #sizes: number[] = []
  /** What to call once each queued item from a peer leaves (its peer's budget), beside `#queue`. */
  #releases: Array<ReleaseReceived | undefined> = []
  /** Told when the receiver starts waiting for an item (a pump waiting for its peer's budget may go on). */
  readonly #readerWaitingListeners = new Set<() => void>()
  #head = 0
  #bufferedBytes = 0
  #senders = 0
  #receiverGone?: ChannelCloseReason
  #spaceWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = []
  #itemWaiter?: (item: Item<T> | undefined) => void
  #receiverGoneListeners: Array<(reason: ChannelCloseReason) => void> = []
  #lastSenderReason: ChannelCloseReason = 'closed'
  /** A sender's connection failed: its error waits here until every other sender is gone. */
  #heldError?: MeshscopeError
  /** Slots of capacity taken by permits (`reserve`) not yet used. */
  #reserved = 0

  /**
   * Set by a bytes channel's receiver, for which chunk boundaries carry no meaning: a pump may then
   * push a large bytes value in the pieces it arrived in rather than joined (one copy fewer).
   */
  takesBytePieces = false
  /** Set once a pump drains this core into a stream: the receiver is on another peer. */
  drainsToStream = false
  /** Items lent by a writer (their bytes not copied), each with what to call once the pump is done with it. */
  #lent = new Map<Item<T>, () => void>()

  /** Most encoded bytes from peers this core holds (one item always fits an empty queue). Infinity: only `capacity` bounds it. */
  maxBufferedBytes = Number.POSITIVE_INFINITY

  /** The link lane the channel's stream takes when a half crosses to another peer (`ChannelOptions.lane`). */
  lane: StreamLane = 'latency'

  constructor(readonly capacity: number) {}

  /** Encoded bytes of the queued items that came from a peer. */
  get bufferedBytes(): number {
    return this.#bufferedBytes
  }

  get senderCount(): number {
    return this.#senders
  }

  get receiverGone(): ChannelCloseReason | undefined {
    return this.#receiverGone
  }

  get length(): number {
    return this.#queue.length - this.#head
  }

  addSender(): void {
    this.#senders++
  }

  /** Why the last sender went away (`closed` unless one was dropped or disconnected). */
  get lastSenderReason(): ChannelCloseReason {
    return this.#lastSenderReason
  }

  removeSender(reason: ChannelCloseReason = 'closed'): void {
    if (this.#senders === 0) return
    this.#senders--
    this.#lastSenderReason = reason
    // A waiting receiver gets the held-back error now; otherwise its next pull does.
    if (this.#senders === 0 && this.length === 0 && this.#itemWaiter) this.#wakeReceiver(this.#takeHeldError())
  }

  /** The held-back error of a sender whose connection failed (see the header), until taken. */
  get heldError(): MeshscopeError | undefined {
    return this.#heldError
  }

  /** Takes the held-back error: it will not surface at the end any more. */
  takeHeldError(): MeshscopeError | undefined {
    const error = this.#heldError
    this.#heldError = undefined
    return error
  }

  #takeHeldError(): Item<T> | undefined {
    const error = this.takeHeldError()
    return error ? { ok: false, error } : undefined
  }

  /**
   * Waits while the queue is full (in items, or in bytes for an item of `receivedBytes` encoded
   * bytes from a peer); rejects with ChannelClosedError once the receiver is gone.
   */
  async push(item: Item<T>, receivedBytes = 0, release?: ReleaseReceived): Promise<void> {
    if (this.#holdBack(item)) return release?.(receivedBytes)
    while (this.#isFullFor(receivedBytes) && !this.#receiverGone) await this.#waitForSpace()
    this.#enqueue(item, receivedBytes, release)
  }

  /** `push` without waiting: false (nothing queued) while the queue is full. */
  tryPush(item: Item<T>): boolean {
    if (this.#holdBack(item)) return true
    if (this.#receiverGone) throw new ChannelClosedError(this.#receiverGone)
    if (this.#isFullFor(0)) return false
    this.#enqueue(item, 0, undefined)
    return true
  }

  /** Waits for a slot of capacity and keeps it for one `pushReserved` (or `unreserve`). */
  async reserve(): Promise<void> {
    while (this.#isFullFor(0) && !this.#receiverGone) await this.#waitForSpace()
    if (this.#receiverGone) throw new ChannelClosedError(this.#receiverGone)
    this.#reserved++
  }

  /** Queues an item into a slot `reserve` kept: never waits; fails only if the receiver is gone. */
  pushReserved(item: Item<T>): void {
    this.#reserved--
    try {
      this.#enqueue(item, 0, undefined)
    } catch (error) {
      this.#spaceWaiters.shift()?.resolve()
      throw error
    }
  }

  /** A reserved slot given back unused. */
  unreserve(): void {
    this.#reserved--
    this.#spaceWaiters.shift()?.resolve()
  }

  #waitForSpace(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#spaceWaiters.push({ resolve, reject }))
  }

  /** A sender's lost connection (an item failing with CHANNEL_CLOSED) is held back, not queued; only the first is kept. */
  #holdBack(item: Item<T>): boolean {
    if (item.ok || !('error' in item) || item.error.code !== 'CHANNEL_CLOSED') return false
    this.#heldError ??= item.error
    return true
  }

  #enqueue(item: Item<T>, receivedBytes: number, release: ReleaseReceived | undefined): void {
    if (this.#receiverGone) throw new ChannelClosedError(this.#receiverGone)
    if (this.#itemWaiter) {
      release?.(receivedBytes)
      return this.#wakeReceiver(item)
    }
    this.#queue.push(item)
    this.#sizes.push(receivedBytes)
    this.#releases.push(release)
    this.#bufferedBytes += receivedBytes
  }

  /** Whether the receiver waits for an item now (one pushed goes straight to it). */
  get readerWaiting(): boolean {
    return this.#itemWaiter !== undefined
  }

  /** Calls `listener` whenever the receiver starts waiting for an item; returns how to stop. */
  onReaderWaiting(listener: () => void): () => void {
    this.#readerWaitingListeners.add(listener)
    return () => this.#readerWaitingListeners.delete(listener)
  }

  #isFullFor(receivedBytes: number): boolean {
    if (this.length + this.#reserved >= this.capacity) return true
    return receivedBytes > 0 && this.length > 0 && this.#bufferedBytes + receivedBytes > this.maxBufferedBytes
  }

  /**
   * `push` for an item whose bytes the writer lends rather than gives (the bytes channel, when the
   * receiver is on another peer): resolves only once the pump has sent it (`returnLent`), or the
   * receiver is gone, so the writer may then reuse its buffer.
   */
  async pushLent(item: Item<T>): Promise<void> {
    const returned = new Promise<void>((resolve) => this.#lent.set(item, resolve))
    try {
      await this.push(item)
    } catch (error) {
      this.#lent.delete(item)
      throw error
    }
    await returned
  }

  /** The pump is done with `item` (sent, or failed): a writer that lent it may go on. */
  returnLent(item: Item<T>): void {
    const resolve = this.#lent.get(item)
    if (!resolve) return
    this.#lent.delete(item)
    resolve()
  }

  /**
   * The next item, or undefined once every sender is gone (or the receiver closed) and the queue is
   * empty — after the held-back error, if any, as one last failed item.
   */
  pull(): Promise<Item<T> | undefined> {
    const queued = this.pullQueued()
    if (queued) return Promise.resolve(queued)
    if (this.#receiverGone) return Promise.resolve(undefined)
    if (this.#senders === 0) return Promise.resolve(this.#takeHeldError())
    if (this.#itemWaiter) throw new Error('MpscCore has a single consumer')
    const next = new Promise<Item<T> | undefined>((resolve) => (this.#itemWaiter = resolve))
    for (const listener of this.#readerWaitingListeners) listener()
    return next
  }

  /** Whether the oldest queued item is a value (not a failed item). */
  get nextIsValue(): boolean {
    return this.length > 0 && this.#queue[this.#head]!.ok
  }

  /** The oldest queued item, taken off the queue; undefined when it is empty (never waits). */
  pullQueued(): Item<T> | undefined {
    if (this.length > 0) {
      const item = this.#queue[this.#head]!
      const size = this.#sizes[this.#head]!
      const release = this.#releases[this.#head]
      this.#bufferedBytes -= size
      this.#queue[this.#head] = undefined as unknown as Item<T>
      this.#releases[this.#head++] = undefined
      if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head)
        this.#sizes = this.#sizes.slice(this.#head)
        this.#releases = this.#releases.slice(this.#head)
        this.#head = 0
      }
      release?.(size)
      // One waiter per item taken out; one that still does not fit (bytes) waits again.
      this.#spaceWaiters.shift()?.resolve()
      return item
    }
    return undefined
  }

  /**
   * The receiver closed, was dropped, or its connection failed: senders fail from now on with
   * `reason`. A close keeps what is queued receivable; any other reason discards it (and a drop
   * after a close does too).
   */
  closeReceiver(reason: ChannelCloseReason): void {
    if (reason !== 'closed') this.#discardQueue()
    if (this.#receiverGone) return
    this.#receiverGone = reason
    for (const waiter of this.#spaceWaiters.splice(0)) waiter.resolve()
    // Nothing will read lent bytes any more; the writers learn that the receiver is gone on their next write.
    for (const resolve of this.#lent.values()) resolve()
    this.#lent.clear()
    this.#wakeReceiver(undefined)
    for (const listener of this.#receiverGoneListeners.splice(0)) listener(reason)
  }

  /** What was queued goes with the receiver: it no longer counts in its peers' budgets. */
  #discardQueue(): void {
    for (let i = this.#head; i < this.#queue.length; i++) this.#releases[i]?.(this.#sizes[i]!)
    this.#queue = []
    this.#sizes = []
    this.#releases = []
    this.#head = 0
    this.#bufferedBytes = 0
  }

  onReceiverGone(listener: (reason: ChannelCloseReason) => void): void {
    if (this.#receiverGone) listener(this.#receiverGone)
    else this.#receiverGoneListeners.push(listener)
  }

  #wakeReceiver(item: Item<T> | undefined): void {
    const waiter = this.#itemWaiter
    this.#itemWaiter = undefined
    waiter?.(item)
  }
}
