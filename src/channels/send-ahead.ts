/**
 * How far a channel's sending side may run ahead of the link: values queued on a stream whose
 * `send` (a remote sender's) or whose pump (a local core draining to a peer) does not wait for the
 * link to take them. Waiting per value would leave every small value in its own data-channel
 * message; running ahead lets the session pack those queued meanwhile into one (src/mux/coalesce.ts).
 * Bounded both in values (the channel's capacity) and in bytes, each value charged
 * SEND_AHEAD_MESSAGE_OVERHEAD_BYTES beyond its encoding, so large values still go one at a time and
 * a tiny capacity cannot queue thousands of small values.
 *
 * Never before the peer's HELLO: until then an item cannot be checked against the peer's item limit,
 * and one found over it when the HELLO arrives must fail in its place (the pump sends its error; a
 * remote sender's `send` rejects), not behind the values queued after it, nor unseen.
 */
import type { MuxStream } from '../mux/stream.js'

/** Bytes that may wait on a stream for the link while its sender goes on. */
export const SEND_AHEAD_MAX_BYTES = 64 * 1024

/**
 * What one queued value costs beyond its encoded bytes (its queue entry, promise and callbacks), as
 * the codec charges a decoded entry (DECODED_ELEMENT_BYTES): at most 1 024 values in 64 KiB.
 */
export const SEND_AHEAD_MESSAGE_OVERHEAD_BYTES = 64

/**
 * Whether the sender may go on while what waits on `stream` is within `capacity` values and
 * SEND_AHEAD_MAX_BYTES (with each value's overhead): only once the peer's item limit is known.
 */
export function mayRunAhead(stream: MuxStream, capacity: number): boolean {
  if (!stream.peerLimitKnown) return false
  const queued = stream.queuedMessages
  return queued <= capacity && stream.queuedBytes + queued * SEND_AHEAD_MESSAGE_OVERHEAD_BYTES <= SEND_AHEAD_MAX_BYTES
}
