/**
 * A Link is one reliable, ordered, message-oriented connection to one peer. Upper layers (the mesh's
 * framing today, the multiplexer later) are written against this interface and tested on the memory
 * pair first.
 *
 * Failure behaviour:
 * - `send` resolves once the link has taken the bytes — copied them or handed them to a transport that
 *   copies — so the caller may reuse its buffer afterwards (the mux writes frames into one buffer); it
 *   waits while more than `highWaterMarkBytes`
 *   are buffered, so nothing is ever silently dropped by an underlying buffer. It rejects with
 *   LINK_CLOSED after close, and with MESSAGE_TOO_LARGE for messages over `maxMessageBytes`.
 * - Messages sent before `close()` are flushed as far as the transport allows; messages a peer sent
 *   before its close are delivered before the `close` event.
 * - `close` fires exactly once, with the reason; after it no `message` event fires.
 *
 * Lanes: a link carries two ordered message lanes to the same peer, `latency` and `bulk` (two data
 * channels of one SCTP association on WebRTC). Each lane keeps its own order and its own
 * backpressure; messages on different lanes may overtake each other. The point is that a small
 * message on the latency lane does not wait behind the bulk data queued on the other lane (the SCTP
 * stack serves its streams' queues in turn: docs/architecture.md, "Latency"). A lane that fails
 * fails the whole link.
 */
import type { Emitter } from '../util/emitter.js'

export type LinkState = 'connecting' | 'open' | 'closing' | 'closed'

export type LinkCloseReason =
  /** `close()` was called on this side. */
  | 'closed'
  /** The other side closed the link. */
  | 'remote-closed'
  /** The transport failed (ICE failure, SCTP abort, …). */
  | 'failed'
  /** The link did not open in time. */
  | 'timeout'

export interface LinkCloseInfo {
  reason: LinkCloseReason
  message: string
}

/** One of a link's two ordered lanes; see the header. */
export type LinkLane = 'latency' | 'bulk'

export type LinkEvents = {
  open: []
  /** A message arrived on `lane`. */
  message: [data: Uint8Array, lane: LinkLane]
  close: [info: LinkCloseInfo]
}

export interface Link {
  readonly state: LinkState
  /** Largest single message `send` accepts. */
  readonly maxMessageBytes: number
  /** Bytes accepted by `send` but not yet handed to the network. */
  readonly bufferedBytes: number
  readonly events: Emitter<LinkEvents>
  /** Resolves when the link opens; rejects with the close reason if it never does. */
  readonly opened: Promise<void>
  /** Queues `data` on `lane` (default `latency`); see the failure behaviour above. */
  send(data: Uint8Array, lane?: LinkLane): Promise<void>
  /** Graceful and idempotent. */
  close(message?: string): void
  /**
   * Ends the link at once, also while a graceful `close()` is still flushing: what is still queued
   * is dropped (its `send` rejects with LINK_CLOSED) and the `close` event fires before this returns,
   * with reason `closed`. For an owner that may not wait longer (a mesh closing after its grace).
   * Idempotent; nothing after a `close` event.
   */
  abort(message?: string): void
}

/**
 * Default high-water mark: small, so a small message never waits long behind bulk data (in Chromium
 * a ping behind 4 MiB queued waited about 185 ms; the multiplexer's own window, not this mark, bounds
 * what sits ahead of a ping in practice, see src/mux/config.ts).
 */
export const DEFAULT_HIGH_WATER_MARK_BYTES = 256 * 1024
/**
 * The latency lane's high-water mark: it carries control frames and small messages, so a little
 * buffer is enough, and a stream that does put bulk data on it cannot queue much ahead of the next
 * small message.
 */
export const DEFAULT_LATENCY_HIGH_WATER_MARK_BYTES = 64 * 1024
/** Data channels accept 256 KiB messages; meshscope frames stay far below. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
