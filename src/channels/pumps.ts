/**
 * Pumps move a channel's items between an in-process core and a mux stream, so an endpoint sent to
 * another peer keeps working. Backpressure crosses the wire: a pump waits for room before reading
 * more from its stream, which then stops granting credit, which stops the remote sender.
 */
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import { joinBytes } from '../util/bytes.js'
import type { MuxStream } from '../mux/stream.js'
import type { Connection } from './connection.js'
import { ChannelClosedError, channelReasonOf, type ChannelCloseReason } from './errors.js'
import { binaryItemPieces, decodeItem, decodedItemOverhead, encodeEnd, encodeItem, encodeItemParts } from './items.js'
import { BudgetedReader } from './budgeted-reader.js'
import { mayRunAhead } from './send-ahead.js'
import type { MpscCore, ReleaseReceived } from './mpsc-core.js'

/** The part of a sender a pump drives (mpsc and oneshot senders). */
export interface ItemSink<T> {
  /**
   * `receivedBytes`: the item's encoded size, which the sink's byte budget counts; `release` is
   * called with it once the item no longer waits in the sink (taken, passed on, or refused).
   */
  sendItem(
    item: { ok: true; value: T } | { ok: false; error: import('../errors.js').MeshscopeError },
    receivedBytes?: number,
    release?: ReleaseReceived,
  ): Promise<void>
  /** Whether the sink's receiver waits for an item now. */
  readerWaiting(): boolean
  /** Calls `listener` whenever the receiver starts waiting; returns how to stop. */
  onReaderWaiting(listener: () => void): () => void
  /** A bytes receiver's sink: a bytes value that arrived in chunks may be sent on in those pieces. */
  readonly takesBytePieces?: boolean
  closed(): Promise<ChannelCloseReason>
  finish(reason: ChannelCloseReason): void
}

/** Drains `core` into `stream`; the consumer is on the other side (a receiver was sent there). */
export async function pumpCoreToStream<T>(connection: Connection, core: MpscCore<T>, stream: MuxStream): Promise<void> {
  // The remote consumer stopped (closed or dropped) or the connection failed: the local senders learn why.
  stream.onSendEnd((reason) => core.closeReceiver(channelReasonOf(reason)))
  core.drainsToStream = true
  for (;;) {
    const item = await core.pull()
    if (item === undefined) {
      // Tell the other side how the senders went, unless simply closed (a plain CLOSE says that).
      if (core.receiverGone === undefined && core.lastSenderReason !== 'closed') await stream.send(encodeEnd(connection, core.lastSenderReason)).catch(() => {})
      stream.close()
      return
    }
    // A value that is only bytes goes out without being copied into an encoding: the channel owns
    // what was sent on it, and a bytes writer lent its buffer until `returnLent`, once it is sent.
    const parts = encodeItemParts(connection, item)
    const bytes = parts instanceof Uint8Array ? parts.byteLength : byteLengthOf(parts)
    if (bytes > stream.sendLimit) {
      // That one item fails on the other side, in its place; the channel goes on.
      core.returnLent(item)
      const error = new MeshscopeError('ITEM_TOO_LARGE', `an item of ${bytes} bytes is over this stream's limit of ${stream.sendLimit}`)
      stream.send(encodeItem(connection, { ok: false, error })).catch(() => {})
      continue
    }
    const written = stream.send(parts).then(
      () => core.returnLent(item),
      (error: unknown) => {
        core.returnLent(item)
        // Queued before the peer's HELLO told its item limit, and over it: that item fails on the
        // other side. Any other failure is the stream's, which `onSendEnd` above tells the senders.
        if (isMeshscopeError(error, 'ITEM_TOO_LARGE')) stream.send(encodeItem(connection, { ok: false, error })).catch(() => {})
      },
    )
    // Not awaited while few values wait on the stream (send-ahead.ts): the next ones join them, and
    // the session sends them together, one link message for many small values.
    if (!mayRunAhead(stream, core.capacity)) await written
  }
}

/**
 * Feeds items arriving on `stream` into `sender`; the producer is on the other side (a sender was
 * sent there). Each item counts in the peer's inbound budget until it leaves the sink, and the next
 * one is read only when that budget has room (budgeted-reader.ts).
 */
export async function pumpStreamToSender<T>(connection: Connection, stream: MuxStream, sender: ItemSink<T>): Promise<void> {
  stream.close() // nothing flows back on this stream but STOP
  const closed = sender.closed()
  void closed.then((reason) => stream.stop(reason === 'dropped' ? 'dropped' : 'closed'))
  const reader = new BudgetedReader(connection, stream, () => sender.readerWaiting(), closed)
  const stopWatching = sender.onReaderWaiting(reader.consumerStartedWaiting)
  let endReason: ChannelCloseReason = 'closed'
  try {
    for (;;) {
      let chunks: Uint8Array[] | null
      try {
        chunks = await reader.read(
          () => stream.receiveParts(),
          (parts) => byteLengthOf(parts),
        )
      } catch (error) {
        if (isMeshscopeError(error, 'ITEM_TOO_LARGE')) {
          await sender.sendItem({ ok: false, error })
          continue
        }
        // The producer vanished with the connection: the receiver gets one error, then the end.
        endReason = 'disconnected'
        await sender.sendItem({ ok: false, error: new ChannelClosedError('disconnected', 'the connection to the sending peer failed') })
        return
      }
      if (chunks === null) return
      // Held (by `reader.read`) from now until the sink lets go of it (each piece on its own).
      const receivedBytes = byteLengthOf(chunks)
      // Bulk data reaches a bytes receiver in the chunks it arrived in, not joined into one buffer.
      const pieces = chunks.length > 1 && sender.takesBytePieces ? binaryItemPieces(chunks, connection.codec.limits.maxBinaryBytes) : undefined
      if (pieces) {
        let pushed = 0
        try {
          for (const piece of pieces) {
            pushed += piece.byteLength
            await sender.sendItem({ ok: true, value: piece as T }, piece.byteLength, reader.release)
          }
        } finally {
          // Pieces not pushed (the receiver went away), and framing bytes beyond the pieces.
          reader.release(receivedBytes - pushed)
        }
        continue
      }
      let item: ReturnType<typeof decodeItem<T>>
      try {
        item = decodeItem<T>(connection, joinBytes(chunks))
      } catch (error) {
        reader.release(receivedBytes)
        throw error
      }
      if ('end' in item || 'lagged' in item) {
        reader.release(receivedBytes)
        if ('end' in item) endReason = item.end
        continue // a lag is not meaningful for mpsc
      }
      // Its entries as JS values cost more than their bytes: that counts too, in budget and buffer.
      const decodedExtra = decodedItemOverhead(connection)
      reader.holdMore(decodedExtra)
      await sender.sendItem(item, receivedBytes + decodedExtra, reader.release)
    }
  } catch {
    // The receiver is gone; `closed()` above already told the producer.
  } finally {
    stopWatching()
    sender.finish(endReason)
  }
}

function byteLengthOf(chunks: Uint8Array[] | null): number {
  let bytes = 0
  for (const chunk of chunks ?? []) bytes += chunk.byteLength
  return bytes
}
