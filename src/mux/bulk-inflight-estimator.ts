/**
 * How much credit one bulk-lane stream may have in flight, following the link as BBR sizes its
 * inflight (issue 20): twice the bandwidth-delay product measured from the stream's own credit cycles.
 *
 * A fixed limit either overflows a fast link's receiving UDP buffer (loopback, where 256 KiB in flight
 * was dropped by the kernel) or starves a long one (64 KiB per round trip is 1.3 MB/s at 50 ms). The
 * stream knows both sides of the product without a timer or a wire change:
 * - round trip: a DATA frame's credit comes back once the peer's reader took it; the time from
 *   sending to that return, minimum over MIN_RTT_WINDOW_MS, is the path's floor without queueing;
 * - delivery rate: credit given back per unit time while a marked frame was in flight, maximum over
 *   RATE_WINDOW_ROUND_TRIPS round trips.
 * Limit = clamp(BULK_INFLIGHT_GAIN × rate × round trip, floor, ceiling). The gain leaves room for the
 * credit travelling back and lets the limit grow: while the limit is what holds the stream back, a
 * round trip delivers about the limit, so the next is up to twice it — slow start's doubling per round
 * trip, until the link (its rate stops rising) or the window (the ceiling) stops it. It rises only
 * when the rate rose RATE_RISE_TO_GROW since it last rose (more in flight bought throughput), and
 * falls as soon as the product does. On a fast short link rate × round trip stays near the floor,
 * and more in flight buys no rate there: the floor holds.
 *
 * A receiver decides when credit comes back, so it can only make the limit grow by returning credit
 * promptly — and never past the window it granted itself. One that never returns credit yields no
 * samples: the limit stays at the floor.
 */
import { WindowedExtreme } from './windowed-extreme.js'

/** Inflight as a multiple of the measured bandwidth-delay product (BBR's cwnd gain). */
export const BULK_INFLIGHT_GAIN = 2
/** How long a round-trip minimum holds (BBR's min-RTT window). */
export const MIN_RTT_WINDOW_MS = 10_000
/** How many (minimum) round trips a delivery-rate maximum holds (BBR's bandwidth window). */
export const RATE_WINDOW_ROUND_TRIPS = 10
/**
 * The limit rises only when the delivery rate rose this much since it last rose (BBR's full-bandwidth
 * test): more in flight must have bought more throughput. On loopback the product is close to the
 * floor and its noise alone would double the limit; there more in flight buys no rate, only kernel drops.
 */
export const RATE_RISE_TO_GROW = 1.25
/** Credit between two send marks: a mark per frame at most, and no per-byte bookkeeping. */
export const SEND_MARK_SPACING_BYTES = 8 * 1024
/** Send marks kept at once (with the spacing, 256 KiB in flight are marked); past that, frames go unmarked. */
export const MAX_SEND_MARKS = 32

interface SendMark {
  /** Credit spent up to and including the marked frame. */
  sentEnd: number
  at: number
  /** Credit given back when the marked frame was sent, and when it last came back. */
  deliveredAtSend: number
  lastCreditAtSend: number
  /** When the newest frame covered by that credit was sent. */
  coveredSentAtSend: number
}

/** The in-flight limit of one bulk stream, fed with the credit it spends and the credit that comes back. */
export class BulkInFlightEstimator {
  readonly floorBytes: number
  #sent = 0
  #delivered = 0
  #marks: SendMark[] = []
  #lastCreditAt: number | undefined
  /** The limit now; it moves on samples only. */
  #limit: number
  /** The maximum rate when the limit last rose (or at the first sample), and when: growth must beat it. */
  #rateAtGrowth: { rate: number; at: number } | undefined
  #coveredSentAt: number | undefined
  readonly #minRttMs = new WindowedExtreme('min')
  /** Bytes per millisecond. */
  readonly #maxRate = new WindowedExtreme('max')

  /** `floorBytes`: the limit before any sample and whenever the product is smaller. */
  constructor(floorBytes: number) {
    this.floorBytes = floorBytes
    this.#limit = floorBytes
  }

  /** The stream spent `creditBytes` (a frame's payload and charge) at `now` (ms). */
  onSent(creditBytes: number, now: number): void {
    this.#sent += creditBytes
    const last = this.#marks.at(-1)
    if (this.#marks.length < MAX_SEND_MARKS && (!last || this.#sent - last.sentEnd >= SEND_MARK_SPACING_BYTES))
      this.#marks.push({
        sentEnd: this.#sent,
        at: now,
        deliveredAtSend: this.#delivered,
        lastCreditAtSend: this.#lastCreditAt ?? now,
        coveredSentAtSend: this.#coveredSentAt ?? now,
      })
  }

  /**
   * `creditBytes` of what the stream spent came back at `now` (ms). Only spent credit counts: the
   * caller passes no more than was unreturned (a window's growth comes in the same CREDIT frame).
   */
  onCredited(creditBytes: number, now: number): void {
    this.#delivered = Math.min(this.#sent, this.#delivered + Math.max(0, creditBytes))
    let newest: SendMark | undefined
    while (this.#marks.length > 0 && this.#marks[0]!.sentEnd <= this.#delivered) newest = this.#marks.shift()
    this.#lastCreditAt = now
    if (!newest) return
    this.#coveredSentAt = newest.at
    const rttMs = now - newest.at
    if (!(rttMs > 0)) return // same clock tick: no rate can be had from it
    const minRttMs = this.#minRttMs.update(rttMs, now, MIN_RTT_WINDOW_MS)
    // As BBR's delivery rate: over the longer of the span the credit came back in and the span the
    // covered frames were sent in, so a burst of credit after a stall (the peer's thread was
    // descheduled) does not read as a faster link.
    const intervalMs = Math.max(now - newest.lastCreditAtSend, newest.at - newest.coveredSentAtSend, rttMs)
    const rate = this.#maxRate.update((this.#delivered - newest.deliveredAtSend) / intervalMs, now, RATE_WINDOW_ROUND_TRIPS * minRttMs)
    const target = Math.max(this.floorBytes, Math.ceil(BULK_INFLIGHT_GAIN * rate * minRttMs))
    const grown = this.#rateAtGrowth
    if (!grown || now - grown.at > MIN_RTT_WINDOW_MS) this.#rateAtGrowth = { rate, at: now }
    if (target <= this.#limit) this.#limit = target
    else if (grown && rate >= RATE_RISE_TO_GROW * grown.rate) {
      this.#limit = target
      this.#rateAtGrowth = { rate, at: now }
    }
  }

  /** The minimum round trip measured (ms), or undefined before the first sample. */
  get minRttMs(): number | undefined {
    return this.#minRttMs.value
  }

  /** The maximum delivery rate measured (bytes per ms), or undefined before the first sample. */
  get maxRate(): number | undefined {
    return this.#maxRate.value
  }

  /** Credit the stream may have in flight: the paced product, at least the floor, at most `ceilingBytes` (unless that is under the floor). */
  limit(ceilingBytes: number): number {
    return Math.max(this.floorBytes, Math.min(this.#limit, ceilingBytes))
  }
}
