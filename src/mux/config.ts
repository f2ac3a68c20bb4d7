/** Every limit and timing of a multiplexer session, in one place (documented in docs/protocol.md). */
import { MeshscopeError } from '../errors.js'
import { MIN_BULK_IN_FLIGHT_BYTES } from './bulk-pacing.js'
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './frame.js'

export interface MuxConfig {
  /**
   * Largest frame sent or accepted, header included: 16 KiB, the interoperable data-channel size.
   * @default 16 * 1024
   */
  maxFrameBytes: number
  /**
   * Credit a peer has on one stream before this side grants more: DATA payload plus
   * DATA_FRAME_CREDIT_BYTES (32) per frame.
   * @default 256 * 1024
   */
  initialWindowBytes: number
  /**
   * A stream whose reader keeps up (nothing left unread when credit goes back) has its window doubled,
   * up to this, while the inbound budget has room for the larger reservation; a reader that falls
   * behind never grows its window. By default it is the initial
   * window (no growth). Raising it lets one bulk stream go faster on a fast link, but everything in
   * flight on the link is ahead of every other stream's next message: with 2 MiB, a 64-byte message
   * beside bulk data waited about 40 ms (p50) instead of 5 on wrtc here.
   * @default 256 * 1024
   */
  maxWindowBytes: number
  /**
   * The floor of a bulk-lane stream's (a `bytes` channel's) in-flight limit — credit spent and not
   * yet given back by the peer. The limit follows the link: twice the bandwidth-delay product the
   * stream measures from its own credit round trips, never below this floor and never above the
   * window or `maxBulkInFlightBytes` (src/mux/bulk-inflight-estimator.ts). What is in flight sits in
   * the receiving WebRTC stack's UDP buffer and event queue ahead of every small message, and the
   * kernel drops what exceeds that buffer (src/mux/bulk-pacing.ts): on a fast short link the floor
   * holds. At least 32 KiB.
   * @default 64 * 1024
   */
  bulkInFlightBytes: number
  /**
   * The most a bulk-lane stream may have in flight however long the link; the window bounds it too.
   * Set it to `bulkInFlightBytes` for a fixed limit.
   * @default 16 * 1024 * 1024
   */
  maxBulkInFlightBytes: number
  /**
   * What a bulk-lane stream may keep in flight while it is alone: no latency-lane stream sent or
   * received DATA on the session for `bulkAloneAfterMs`. Then nothing small waits behind it, and the
   * paced limit (which holds while small messages flow) would leave the link idle while credit
   * travels (src/mux/latency-traffic.ts). The default stays under what a Linux UDP socket at the
   * default `rmem_default` holds (about 100 KiB of SCTP payload): more was dropped by the receiving
   * wrtc peer's kernel. The window bounds it too; below `bulkInFlightBytes` the paced limit holds.
   * @default 96 * 1024
   */
  bulkAloneInFlightBytes: number
  /**
   * How long after the last latency-lane DATA frame (either way) bulk-lane streams stay held to their
   * paced limit.
   * @default 100
   */
  bulkAloneAfterMs: number
  /**
   * Largest message (item) accepted on a stream; larger ones fail that item only.
   * @default 16 * 1024 * 1024
   */
  maxItemBytes: number
  /**
   * Streams the peer may have open at once; more are reset.
   * @default 1024
   */
  maxStreams: number
  /**
   * Memory the peer can make this side hold for received data, across all streams of the session:
   * chunks not yet handed to the application (unread, or in a message under assembly, counted as
   * the memory they retain) plus credit granted and not yet used. A remote OPEN that does not fit
   * is reset (`tooManyStreams`); credit for a message under assembly is withheld while the budget
   * is full, except for the oldest such message (src/mux/inbound-budget.ts); a window grows only
   * into room left here. Worst case: 1.25 × this (unread data retains at most about 1.25 × the
   * credit it cost) plus 1.25 × `maxItemBytes` and one window. With 256 KiB windows the default admits 256 idle streams
   * from the peer. At least `maxWindowBytes`.
   * @default 64 * 1024 * 1024
   */
  maxInboundBytes: number
  /**
   * Control frames the peer provoked (PONGs, RESETs answering its OPENs, CREDITs, …) waiting for the
   * link. PONGs and each stream's CREDITs are coalesced; more than this means the peer does not read
   * what it provokes, and the session fails with `PEER_NOT_READING`. (Frames this side queues on its
   * own, such as the OPENs of a burst of calls, do not count.)
   * @default 4096
   */
  maxQueuedControlFrames: number
  /**
   * A stream opened for a port that no received value claims within this time is reset.
   * @default 30_000
   */
  unclaimedStreamTimeoutMs: number
  /**
   * A ping goes out this often.
   * @default 1_000
   */
  keepaliveIntervalMs: number
  /**
   * The session fails as disconnected when nothing was heard for this long.
   * @default 5_000
   */
  idleTimeoutMs: number
}

export const DEFAULT_MUX_CONFIG: Readonly<MuxConfig> = Object.freeze({
  maxFrameBytes: MAX_FRAME_BYTES,
  initialWindowBytes: 256 * 1024,
  maxWindowBytes: 256 * 1024,
  bulkInFlightBytes: 64 * 1024,
  maxBulkInFlightBytes: 16 * 1024 * 1024,
  bulkAloneInFlightBytes: 96 * 1024,
  bulkAloneAfterMs: 100,
  maxItemBytes: 16 * 1024 * 1024,
  maxStreams: 1024,
  maxInboundBytes: 64 * 1024 * 1024,
  maxQueuedControlFrames: 4096,
  unclaimedStreamTimeoutMs: 30_000,
  keepaliveIntervalMs: 1_000,
  idleTimeoutMs: 5_000,
})

export function resolveMuxConfig(overrides: Partial<MuxConfig> = {}): MuxConfig {
  const config = { ...DEFAULT_MUX_CONFIG, ...overrides }
  // A larger initial window than the default maximum, with no maximum given, simply does not grow.
  if (overrides.maxWindowBytes === undefined) config.maxWindowBytes = Math.max(config.maxWindowBytes, config.initialWindowBytes)
  for (const [name, value] of Object.entries(config)) {
    if (!Number.isInteger(value) || value <= 0) throw new MeshscopeError('INVALID_ARGUMENT', `mux ${name} must be a positive integer, got ${value}`)
  }
  if (config.maxFrameBytes <= FRAME_HEADER_BYTES || config.maxFrameBytes > MAX_FRAME_BYTES) {
    throw new MeshscopeError('INVALID_ARGUMENT', `mux maxFrameBytes must be ${FRAME_HEADER_BYTES + 1}..${MAX_FRAME_BYTES}`)
  }
  if (config.maxWindowBytes > 0xffffffff || config.maxItemBytes > 0xffffffff)
    throw new MeshscopeError('INVALID_ARGUMENT', 'mux windows and item sizes must fit in 32 bits')
  // A peer refuses a HELLO announcing less (session.ts), and a window must hold more than a frame's charge.
  if (config.initialWindowBytes < 1024) throw new MeshscopeError('INVALID_ARGUMENT', 'mux initialWindowBytes must be at least 1024')
  if (config.maxWindowBytes < config.initialWindowBytes) throw new MeshscopeError('INVALID_ARGUMENT', 'mux maxWindowBytes must be at least initialWindowBytes')
  if (config.bulkInFlightBytes < MIN_BULK_IN_FLIGHT_BYTES)
    throw new MeshscopeError('INVALID_ARGUMENT', `mux bulkInFlightBytes must be at least ${MIN_BULK_IN_FLIGHT_BYTES}`)
  if (config.maxBulkInFlightBytes < config.bulkInFlightBytes)
    throw new MeshscopeError('INVALID_ARGUMENT', 'mux maxBulkInFlightBytes must be at least bulkInFlightBytes')
  if (config.maxInboundBytes < config.maxWindowBytes)
    throw new MeshscopeError('INVALID_ARGUMENT', 'mux maxInboundBytes must be at least maxWindowBytes (room for one stream)')
  if (config.idleTimeoutMs <= config.keepaliveIntervalMs)
    throw new MeshscopeError('INVALID_ARGUMENT', 'mux idleTimeoutMs must be longer than keepaliveIntervalMs')
  return config
}
