/**
 * The sending end of a channel whose receiver is on another peer: values are encoded when `send` is
 * called, so a value that cannot travel fails that send (with the path inside it), and an item over
 * the limit fails that send only. Clones share the stream; the last one to go closes it, saying why.
 *
 * As for a channel in this process, a resolved `send` means the channel holds the value: it resolves
 * once the encoded value is queued on the stream while at most `capacity` values (and 64 KiB) wait
 * there for the link (send-ahead.ts), and otherwise once this one has been handed to the link. So a
 * loop that awaits each send does not wait for every value to be written, and the session sends the
 * values it queued meanwhile in one link message. A value queued this way that cannot be delivered
 * after all (the connection failed) makes the next `send` fail, and `closed()` says why.
 */
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import type { MuxStream } from '../mux/stream.js'
import type { Connection } from './connection.js'
import { ChannelClosedError, channelReasonOf, type ChannelCloseReason } from './errors.js'
import { mayRunAhead } from './send-ahead.js'
import { binaryItemParts, encodeEnd, encodeItem, type Item } from './items.js'

export class StreamSender {
  #handles = 1
  #receiverGone?: ChannelCloseReason
  #closing = false
  /** Slots taken by permits (`reserve`) not yet used. */
  #reserved = 0
  /** `reserve` calls waiting for room: woken whenever a write settles or a slot is given back. */
  #roomWaiters: Array<() => void> = []

  constructor(
    readonly connection: Connection,
    readonly stream: MuxStream,
    /** Values that may wait on the stream for the link with their sends resolved (the channel's capacity). */
    readonly capacity: number,
  ) {
    stream.onSendEnd((reason) => {
      if (!this.#closing) this.#receiverGone = channelReasonOf(reason)
      this.#wakeRoomWaiters()
    })
  }

  get receiverGone(): ChannelCloseReason | undefined {
    return this.#receiverGone
  }

  /**
   * Encodes and queues one item; resolves once the channel holds it (see above), or with
   * `waitForLink` once the link took it (an item forwarded from another peer, whose budget counts
   * it until then).
   */
  async send(item: Item<unknown>, waitForLink = false): Promise<void> {
    if (this.#receiverGone) throw new ChannelClosedError(this.#receiverGone)
    // Encode now: a value that cannot travel throws here, for this send only.
    const bytes = item.ok ? this.connection.encode([0, item.value]) : encodeItem(this.connection, item)
    // Checked here (as the stream would) so that a send resolved early never hides this failure.
    if (bytes.byteLength > this.stream.sendLimit)
      throw new MeshscopeError('ITEM_TOO_LARGE', `an item of ${bytes.byteLength} bytes is over this stream's limit of ${this.stream.sendLimit}`)
    const written = this.#write(bytes)
    if (waitForLink || !mayRunAhead(this.stream, this.capacity)) return written
    // Queued within the capacity: the channel holds it. A failure from now on is the stream's, which the next send reports.
    written.catch(() => {})
  }

  /**
   * Queues an item without waiting: false (nothing sent) while `capacity` values wait on the
   * stream. Throws as `send` does (receiver gone, cannot encode, too large); a later failure of the
   * stream is reported by the next send, as for a send that ran ahead.
   */
  trySend(item: Item<unknown>): boolean {
    if (this.#receiverGone) throw new ChannelClosedError(this.#receiverGone)
    if (!this.#hasRoom()) return false
    void this.send(item).catch(() => {})
    return true
  }

  /** Waits until fewer than `capacity` values wait on the stream, and keeps that slot for one `sendReserved`. */
  async reserve(): Promise<void> {
    while (!this.#receiverGone && !this.#hasRoom()) await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
    if (this.#receiverGone) throw new ChannelClosedError(this.#receiverGone)
    this.#reserved++
  }

  /** Sends into a slot `reserve` kept: never waits for room (it may still fail to encode, or the receiver be gone). */
  sendReserved(item: Item<unknown>): void {
    this.unreserve()
    if (this.#receiverGone) throw new ChannelClosedError(this.#receiverGone)
    const bytes = item.ok ? this.connection.encode([0, item.value]) : encodeItem(this.connection, item)
    if (bytes.byteLength > this.stream.sendLimit)
      throw new MeshscopeError('ITEM_TOO_LARGE', `an item of ${bytes.byteLength} bytes is over this stream's limit of ${this.stream.sendLimit}`)
    this.#write(bytes).catch(() => {})
  }

  /** A reserved slot given back unused. */
  unreserve(): void {
    this.#reserved--
    this.#wakeRoomWaiters()
  }

  #wakeRoomWaiters(): void {
    for (const wake of this.#roomWaiters.splice(0)) wake()
  }

  #hasRoom(): boolean {
    return this.stream.queuedMessages + this.#reserved < this.capacity
  }

  /**
   * Sends a value that is only bytes without copying them: the stream reads them as its chunks go
   * out, so they must not change until this resolves (the bytes channel's writes).
   */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    if (this.#receiverGone) throw new ChannelClosedError(this.#receiverGone)
    // Over the codec's binary limit, `encode` throws as `send` would.
    await this.#write(bytes.byteLength <= this.connection.codec.limits.maxBinaryBytes ? binaryItemParts(bytes) : this.connection.encode([0, bytes]))
  }

  async #write(message: Uint8Array | readonly Uint8Array[]): Promise<void> {
    try {
      await this.stream.send(message)
    } catch (error) {
      if (isMeshscopeError(error, 'ITEM_TOO_LARGE')) throw error
      throw new ChannelClosedError(this.#receiverGone ?? 'disconnected')
    } finally {
      if (this.#roomWaiters.length > 0) this.#wakeRoomWaiters()
    }
  }

  retain(): void {
    this.#handles++
  }

  /** One handle is done; the last closes the stream, telling the receiver how the senders went. */
  release(reason: ChannelCloseReason): void {
    if (this.#handles === 0) return
    this.#handles--
    if (this.#handles > 0 || this.#receiverGone) return
    this.#closing = true
    if (reason !== 'closed') this.stream.send(encodeEnd(this.connection, reason)).catch(() => {})
    this.stream.close()
  }

  closed(): Promise<ChannelCloseReason> {
    return new Promise((resolve) => this.stream.onSendEnd((reason) => resolve(channelReasonOf(reason))))
  }
}
