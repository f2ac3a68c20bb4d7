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
 */
import type { StreamLane } from '../mux/frame.js'
import type { ChannelCloseReason } from './errors.js'
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
    if (this.#senders === 0 && this.length === 0) this.#wakeReceiver(undefined)
  }

  /**
   * Waits while the queue is full (in items, or in bytes for an item of `receivedBytes` encoded
   * bytes from a peer); rejects with ChannelClosedError once the receiver is gone.
   */
  async push(item: Item<T>, receivedBytes = 0, release?: ReleaseReceived): Promise<void> {
    while (this.#isFullFor(receivedBytes) && !this.#receiverGone) {
      await new Promise<void>((resolve, reject) => this.#spaceWaiters.push({ resolve, reject }))
    }
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
    if (this.length >= this.capacity) return true
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

  /** The next item, or undefined once every sender is gone and the queue is empty. */
  pull(): Promise<Item<T> | undefined> {
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
      return Promise.resolve(item)
    }
    if (this.#senders === 0 || this.#receiverGone) return Promise.resolve(undefined)
    if (this.#itemWaiter) throw new Error('MpscCore has a single consumer')
    const next = new Promise<Item<T> | undefined>((resolve) => (this.#itemWaiter = resolve))
    for (const listener of this.#readerWaitingListeners) listener()
    return next
  }

  /** The receiver closed, was dropped, or its connection failed: senders fail from now on with `reason`. */
  closeReceiver(reason: ChannelCloseReason): void {
    if (this.#receiverGone) return
    this.#receiverGone = reason
    // What was queued is dropped with the receiver: it no longer counts in its peers' budgets.
    for (let i = this.#head; i < this.#queue.length; i++) this.#releases[i]?.(this.#sizes[i]!)
    this.#queue = []
    this.#sizes = []
    this.#releases = []
    this.#head = 0
    this.#bufferedBytes = 0
    for (const waiter of this.#spaceWaiters.splice(0)) waiter.resolve()
    // Nothing will read lent bytes any more; the writers learn that the receiver is gone on their next write.
    for (const resolve of this.#lent.values()) resolve()
    this.#lent.clear()
    this.#wakeReceiver(undefined)
    for (const listener of this.#receiverGoneListeners.splice(0)) listener(reason)
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
