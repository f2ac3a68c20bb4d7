/**
 * How far a channel's sending side may run ahead of the link: values queued on a stream whose
 * `send` (a remote sender's) or whose pump (a local core draining to a peer) does not wait for the
 * link to take them. Waiting per value would leave every small value in its own data-channel
 * message; running ahead lets the session pack those queued meanwhile into one (src/mux/coalesce.ts).
 * Bounded both in values (the channel's capacity) and in bytes, so large values still go one at a time.
 */
import type { MuxStream } from '../mux/stream.js'

/** Bytes that may wait on a stream for the link while its sender goes on. */
export const SEND_AHEAD_MAX_BYTES = 64 * 1024

/** Whether what waits on `stream` is within `capacity` values and SEND_AHEAD_MAX_BYTES. */
export function mayRunAhead(stream: MuxStream, capacity: number): boolean {
  return stream.queuedMessages <= capacity && stream.queuedBytes <= SEND_AHEAD_MAX_BYTES
}
