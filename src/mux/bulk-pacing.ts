/**
 * Pacing of bulk-lane streams (issue 20): how much of its credit a bulk stream may have in flight,
 * and how often the receiver gives bulk credit back.
 *
 * The credit window (256 KiB) is what a stream may have unread at the receiver. For a bulk stream
 * on a fast link nearly all of it is in flight at once: in the kernel's UDP receive buffer of the
 * receiving WebRTC stack, in its SCTP stack, and as message events queued ahead of everything else
 * the receiving thread handles. Measured here (docs/architecture.md, "Latency"): a Linux UDP socket
 * at the default `rmem_default` (208 KiB) holds about 92 datagrams of 1 200 bytes (2 304 bytes of
 * buffer each), about 100 KiB of SCTP payload, so a 256 KiB window overflowed it whenever the
 * receiving thread was descheduled — hundreds of drops per second in wrtc, each a retransmission
 * stall of ~400 ms — and every byte in flight is ahead of a small message at the receiver.
 *
 * So a bulk stream's sender keeps at most its in-flight limit of credit unreturned — twice the
 * bandwidth-delay product it measures, at least `bulkInFlightBytes` (64 KiB), at most the window
 * (bulk-inflight-estimator.ts) — and the receiver returns a bulk stream's credit every BULK_CREDIT_BATCH_BYTES instead of every
 * quarter window, so the sender keeps going while credit travels. That limit holds while small
 * messages flow; a bulk stream alone on its session keeps up to `bulkAloneInFlightBytes`
 * (latency-traffic.ts). Latency-lane streams are not paced. Nothing on the wire changes: a CREDIT
 * is a CREDIT.
 */
import { DATA_FRAME_CREDIT_BYTES } from './frame.js'

/** A receiver gives a bulk stream's credit back once this much (or a quarter window, if less) was taken. */
export const BULK_CREDIT_BATCH_BYTES = 16 * 1024

/** The smallest `bulkInFlightBytes`: room for a batch in flight while the previous one's credit travels back. */
export const MIN_BULK_IN_FLIGHT_BYTES = 2 * BULK_CREDIT_BATCH_BYTES

/** The credit a receiver waits for before it returns a stream's credit: a quarter window, and for a bulk stream at most a batch. */
export function creditReturnThreshold(bulk: boolean, windowBytes: number): number {
  return bulk ? Math.min(windowBytes / 4, BULK_CREDIT_BATCH_BYTES) : windowBytes / 4
}

/**
 * How much unreturned credit a bulk stream may have: `limitBytes` (the estimator's), but never so little that
 * a receiver returning credit only every quarter of its window (`remoteWindowBytes`) would never
 * answer — a stream that stops at the limit has more than that quarter unreturned.
 */
export function bulkInFlightLimit(limitBytes: number, remoteWindowBytes: number): number {
  return Math.max(limitBytes, Math.ceil(remoteWindowBytes / 4) + DATA_FRAME_CREDIT_BYTES + 1)
}
