/**
 * What a channel half received from a peer may cost this side (documented in docs/protocol.md,
 * "Channel limits"). A peer that sends a half chooses its capacity and item limit; this side's
 * limits bound both, whatever it asked for — remoc's rule that buffer sizes are the receiver's choice.
 */
import { MeshscopeError } from '../errors.js'

export interface ChannelLimits {
  /**
   * Most values a received half's buffer holds (an mpsc or bytes receiver's queue, a broadcast
   * ring). A larger requested capacity is clamped to this: the remote senders simply wait on credit
   * sooner (a broadcast receiver lags sooner). A oneshot always holds one.
   * @default 1024
   */
  maxReceivedCapacity: number
  /**
   * Largest encoded item accepted on a received half whose values flow to this side; a larger one
   * fails that item only (`ITEM_TOO_LARGE`), as on any stream. Never above the session's
   * `maxItemBytes`.
   * @default 16 * 1024 * 1024
   */
  maxReceivedItemBytes: number
  /**
   * Encoded bytes of the items that arrived from a peer and wait in one channel's buffer. When the
   * next item would go over it, an mpsc or bytes channel's pump waits (the stream withholds credit,
   * which holds the remote senders back) and a broadcast ring drops its oldest values (its
   * receivers lag). One item is always let into an empty buffer, so a value up to
   * `maxReceivedItemBytes` always gets through; that is why it must not be larger than this (a
   * smaller budget given without an item limit lowers the item limit to it).
   * Encoded size stands for memory: a decoded binary or string is the same size, small numbers and
   * objects are larger (the codec's `maxElements` bounds how much).
   * @default 16 * 1024 * 1024
   */
  maxReceivedBufferBytes: number
}

/** The limits a tab and a Node peer can both afford: one 16 MiB item (the session's limit) per channel. */
export const DEFAULT_CHANNEL_LIMITS: Readonly<ChannelLimits> = Object.freeze({
  maxReceivedCapacity: 1024,
  maxReceivedItemBytes: 16 * 1024 * 1024,
  maxReceivedBufferBytes: 16 * 1024 * 1024,
})

/** The defaults with `overrides` applied, checked once. Throws INVALID_ARGUMENT. */
export function resolveChannelLimits(overrides: Partial<ChannelLimits> = {}): ChannelLimits {
  const limits = { ...DEFAULT_CHANNEL_LIMITS, ...overrides }
  // A smaller buffer with no item limit given lowers the item limit with it.
  if (overrides.maxReceivedItemBytes === undefined) limits.maxReceivedItemBytes = Math.min(limits.maxReceivedItemBytes, limits.maxReceivedBufferBytes)
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0) throw new MeshscopeError('INVALID_ARGUMENT', `channel ${name} must be a positive integer, got ${value}`)
  }
  if (limits.maxReceivedItemBytes > limits.maxReceivedBufferBytes)
    throw new MeshscopeError('INVALID_ARGUMENT', 'channel maxReceivedItemBytes must not be larger than maxReceivedBufferBytes')
  return limits
}

/** The capacity a received half gets: what its sender asked for, within this side's limit. */
export function receivedCapacity(limits: ChannelLimits, asked: number): number {
  return Math.min(asked, limits.maxReceivedCapacity)
}
