/** What the measurements return, and the statistics over round trips (percentiles, mean). */

/** Pings at the start of a series that are not counted (port setup, first frames on a new stream). */
export const PING_DISCARD = 5

export interface ThroughputResult {
  sentBytes: number
  receivedBytes: number
  ms: number
  mbps: number
  /** The longest time between two arrivals at the receiver (a stall of the link shows here). */
  maxGapMs?: number
}

export interface RoundTripSummary {
  count: number
  p50: number
  p99: number
  max: number
  mean: number
}

export interface PingResult extends RoundTripSummary {
  /** Bulk throughput while the pings ran (MB/s), to show the load was real. */
  loadMBps?: number
  /** The longest gap between two bulk arrivals at the peer: a link stall during the series shows here. */
  loadMaxGapMs?: number
  /** Bytes queued in the data channel when each ping was sent (median): raw, behind its own filler; mux, the link's `bufferedBytes`. */
  queuedBytesMedian?: number
  lost?: number
  /** Mux only: the a→b part of each round trip, by the two sides' wall clocks (the rest is b→a). */
  forward?: RoundTripSummary
}

export interface SmallResult {
  sent: number
  received: number
  ms: number
  perSecond: number
}

export interface RateResult {
  calls: number
  ms: number
  perSecond: number
}

/** Nearest-rank percentile of an ascending series (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return sorted[Math.max(0, index)]!
}

export function summarize(rtts: number[]): RoundTripSummary {
  const sorted = [...rtts].sort((a, b) => a - b)
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, sorted.length),
  }
}

/** The median of a series sorted in place (undefined when empty). */
export function medianInPlace(values: number[]): number | undefined {
  values.sort((a, b) => a - b)
  return values[values.length >> 1]
}
