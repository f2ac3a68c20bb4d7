/**
 * The calling side of a peer's call stream (call-stream-wire.ts): one long-lived `calls` stream to
 * the peer, opened with the first request that fits one frame, on which every such request travels
 * under a call id and every answer comes back under it. A call then costs one message each way and
 * none of a stream's own bookkeeping (OPEN, CLOSE, a window reserved and released on both sides).
 *
 * An answer settles at most one call: the one waiting under its id. One for an id nobody waits for
 * (a call that gave up, or an id never asked) is dropped. When the stream ends (the peer reset or
 * closed it, the session ended) every call waiting on it fails; the next request opens a new one.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import { FRAME_HEADER_BYTES } from '../mux/frame.js'
import type { MuxStream } from '../mux/stream.js'
import { CALL_HEADER_BYTES, CallStreamAnswer, CallStreamMessage, MAX_CALL_ID, callHeader, readCallHeader } from './call-stream-wire.js'

/** What a call waiting on the stream is told: its answer (a reply's bytes, or null: a send accepted), or the stream's failure. */
export interface PendingCall {
  answered(reply: Uint8Array | null): void
  failed(error: unknown): void
}

export class CallStream {
  readonly #stream: MuxStream
  readonly #pending = new Map<number, PendingCall>()
  #nextId = 1
  #ended = false

  constructor(connection: Connection) {
    this.#stream = connection.session.openStream('calls')
    void this.#read(connection.peerId ?? 'the peer')
  }

  /** Whether requests may still go on this stream (it has not ended, and has ids left). */
  get usable(): boolean {
    return !this.#ended && this.#nextId <= MAX_CALL_ID
  }

  /** The largest request that goes on a call stream: what fits one DATA frame with the header. */
  static maxRequestBytes(connection: Connection): number {
    return connection.session.config.maxFrameBytes - FRAME_HEADER_BYTES - CALL_HEADER_BYTES
  }

  /** Sends `request` (encoded) under a new call id and waits for its answer; returns the id (for `cancel`). */
  request(request: Uint8Array, pending: PendingCall): number {
    const id = this.#nextId++
    this.#pending.set(id, pending)
    this.#stream.send([callHeader(CallStreamMessage.request, id), request]).catch((error: unknown) => {
      if (this.#pending.delete(id)) pending.failed(error)
    })
    return id
  }

  /** The call under `id` gave up: it waits no more, and the server is told (it aborts the handler's signal). */
  cancel(id: number): void {
    if (!this.#pending.delete(id) || this.#ended) return
    this.#stream.send(callHeader(CallStreamMessage.cancel, id)).catch(() => {})
  }

  async #read(peerId: string): Promise<void> {
    for (;;) {
      let message: Uint8Array | null
      try {
        message = await this.#stream.receive()
      } catch (error) {
        // One answer over this side's item limit is dropped (its call times out); the stream goes on.
        if (isMeshscopeError(error, 'ITEM_TOO_LARGE')) continue
        return this.#end(error)
      }
      if (message === null) return this.#end(new MeshscopeError('PEER_GONE', `${peerId} closed the call stream without a reply`))
      const header = readCallHeader(message)
      if (!header || header.type > CallStreamAnswer.accepted || (header.type === CallStreamAnswer.accepted && message.byteLength > CALL_HEADER_BYTES)) {
        this.#stream.reset('protocolError', 'a malformed answer on the call stream')
        return this.#end(new MeshscopeError('BAD_MESSAGE', `${peerId} sent a malformed answer on the call stream`))
      }
      const call = this.#pending.get(header.id)
      if (!call) continue // the call gave up, or never was
      this.#pending.delete(header.id)
      call.answered(header.type === CallStreamAnswer.reply ? message.subarray(CALL_HEADER_BYTES) : null)
    }
  }

  #end(error: unknown): void {
    this.#ended = true
    // Both ways: a stream the server closed is released here too (no-ops on one that failed).
    this.#stream.close()
    this.#stream.stop('closed')
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const call of pending) call.failed(error)
  }
}
