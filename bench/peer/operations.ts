/**
 * Every measurement the runner can ask a peer for (`bench/run.mjs`: `pair.a.run(name, args)`), by
 * name, with typed arguments; results are inferred from the workloads. Both sides build the same
 * rig; the runner asks only the initiating side, whose peer answers through its responders.
 */
import type { BenchPeer } from './rig.js'

export const operations = {
  /** The raw channel's bulk throughput (16 KiB messages; `highBytes`/`lowBytes`: its bufferedAmount marks). */
  rawThroughput: (peer: BenchPeer, { durationMs, highBytes, lowBytes }: { durationMs: number; highBytes?: number; lowBytes?: number }) =>
    peer.raw.throughput(durationMs, highBytes, lowBytes),
  /** A `bytes` channel's bulk throughput. */
  muxBytesThroughput: (peer: BenchPeer, { durationMs }: { durationMs: number }) => peer.mux.bytesThroughput(durationMs),
  /** A lazy blob of `totalBytes` fetched by the peer with `get()` (issue 15). */
  lazyBlobThroughput: (peer: BenchPeer, { totalBytes }: { totalBytes: number }) => peer.mux.lazyBlobThroughput(totalBytes),
  /** One mux stream's bulk throughput (no channel layer, no codec). */
  muxStreamThroughput: (peer: BenchPeer, { durationMs }: { durationMs: number }) => peer.mux.streamThroughput(durationMs),
  /** Pings on the raw channel, behind `queuedBytes` of bulk data in it (0: idle). */
  rawPing: (peer: BenchPeer, { pings, intervalMs, queuedBytes }: { pings: number; intervalMs: number; queuedBytes: number }) =>
    peer.raw.ping(pings, intervalMs, queuedBytes),
  /** Pings on an mpsc channel; with `load`, beside a `bytes` channel carrying bulk data. */
  muxPing: (peer: BenchPeer, { pings, intervalMs, load }: { pings: number; intervalMs: number; load: boolean }) => peer.mux.ping(pings, intervalMs, load),
  /** Pings on a second raw channel (the raw lane) while bulk data stays queued in the first: does SCTP serve the second stream beside the first? */
  rawLanePing: (peer: BenchPeer, { pings, intervalMs, queuedBytes }: { pings: number; intervalMs: number; queuedBytes: number }) =>
    peer.raw.ping(pings, intervalMs, queuedBytes, peer.rawLane),
  /** Small messages per second on the raw channel. */
  rawSmall: (peer: BenchPeer, { durationMs, messageBytes }: { durationMs: number; messageBytes: number }) => peer.raw.small(durationMs, messageBytes),
  /** Small values per second through an mpsc channel. */
  muxSmall: (peer: BenchPeer, { durationMs, messageBytes }: { durationMs: number; messageBytes: number }) => peer.mux.small(durationMs, messageBytes),
  /** Small values per second through an mpsc channel, 64 sends in flight (diagnosis). */
  muxSmallPipelined: (peer: BenchPeer, { durationMs, messageBytes }: { durationMs: number; messageBytes: number }) =>
    peer.mux.smallPipelined(durationMs, messageBytes),
  /** Raw ping, call and hop round trips, interleaved one by one, `calls` of each. */
  interleavedRtt: (peer: BenchPeer, { calls }: { calls: number }) => peer.mux.interleavedRtt(calls),
  /** The first `count` raw pings, mpsc pings and calls on a fresh link, interleaved one by one. */
  coldRtt: (peer: BenchPeer, { count }: { count: number }) => peer.mux.coldRtt(count),
  /** `updates` observable-map changes mirrored by the peer, one at a time, interleaved with raw pings. */
  mirrorUpdate: (peer: BenchPeer, { updates }: { updates: number }) => peer.mux.mirrorUpdate(updates),
  /** Calls completed per second with `inFlight` outstanding. */
  callsPerSecond: (peer: BenchPeer, { inFlight, durationMs }: { inFlight: number; durationMs: number }) => peer.mux.callsPerSecond(inFlight, durationMs),
  /** Plain mailbox sends completed per second with `inFlight` outstanding (1: awaited one by one). */
  sendsPerSecond: (peer: BenchPeer, { inFlight, durationMs }: { inFlight: number; durationMs: number }) => peer.mux.sendsPerSecond(inFlight, durationMs),
  /** `totalBytes` through a `bytes` channel into a reader paced at `readMBps`. */
  slowReceiver: (peer: BenchPeer, { totalBytes, readMBps }: { totalBytes: number; readMBps: number }) => peer.mux.slowReceiver(totalBytes, readMBps),
} satisfies Record<string, (peer: BenchPeer, args: never) => Promise<unknown>>

export type OperationName = keyof typeof operations
export type OperationArgs<Name extends OperationName> = Parameters<(typeof operations)[Name]>[1]
export type OperationResult<Name extends OperationName> = Awaited<ReturnType<(typeof operations)[Name]>>

/** Whether a name that came over IPC or from page.evaluate is an operation. */
export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(operations, name)
}
