/**
 * The in-flight limit of a bulk stream (src/mux/bulk-inflight-estimator.ts), fed as stream.ts feeds
 * it, over simulated links: a long link lets it grow to the window within a few round trips, a fast
 * short one keeps it at the floor, and a receiver that withholds credit or returns it in odd sizes
 * cannot push it past the window or below the floor. Then the same over a delayed memory link.
 */
import { describe, expect, it } from 'vitest'
import { BulkInFlightEstimator, MAX_SEND_MARKS } from '../../src/mux/bulk-inflight-estimator.js'
import { DATA_FRAME_CREDIT_BYTES } from '../../src/mux/frame.js'
import { MuxSession } from '../../src/mux/session.js'
import { WindowedExtreme } from '../../src/mux/windowed-extreme.js'
import { createMemoryLinkPair } from '../../src/transport/memory-link.js'
import { nextIncoming, pattern, readAll, sameBytes } from './helpers.js'

const KiB = 1024
const FLOOR = 64 * KiB
const WINDOW = 256 * KiB
const FRAME = 16 * KiB + DATA_FRAME_CREDIT_BYTES

/**
 * A sender that always has data, over a link with round trip `rttMs` that carries `bytesPerMs`:
 * each frame's credit comes back a round trip after it was sent, or later when the link is the
 * bottleneck (frames leave the link one after another at its rate). Returns the limit after each
 * round trip.
 */
function simulate(estimator: BulkInFlightEstimator, options: { rttMs: number; bytesPerMs: number; roundTrips: number }): number[] {
  const { rttMs, bytesPerMs, roundTrips } = options
  const returns: Array<{ at: number; bytes: number }> = []
  const limits: number[] = []
  let now = 0
  let inFlight = 0
  let linkFreeAt = 0
  let nextReport = rttMs
  while (limits.length < roundTrips) {
    // Send while the limit (and the window) allows.
    while (inFlight + FRAME <= Math.min(estimator.limit(WINDOW), WINDOW)) {
      estimator.onSent(FRAME, now)
      inFlight += FRAME
      linkFreeAt = Math.max(linkFreeAt, now) + FRAME / bytesPerMs
      returns.push({ at: Math.max(now + rttMs, linkFreeAt + rttMs / 2), bytes: FRAME })
    }
    // The next event: a credit coming back, or a round trip's report.
    const credit = returns[0]
    if (credit && credit.at <= nextReport) {
      returns.shift()
      now = credit.at
      inFlight -= credit.bytes
      estimator.onCredited(credit.bytes, now)
    } else {
      now = nextReport
      limits.push(estimator.limit(WINDOW))
      nextReport += rttMs
    }
  }
  return limits
}

describe('the in-flight limit follows the link', () => {
  it('on a 50 ms link it grows from the floor to the window within a few round trips', () => {
    const estimator = new BulkInFlightEstimator(FLOOR)
    expect(estimator.limit(WINDOW)).toBe(FLOOR)
    const limits = simulate(estimator, { rttMs: 50, bytesPerMs: 100_000, roundTrips: 6 })
    expect(limits[3]).toBe(WINDOW)
    // It doubled on the way, as slow start does: never more than twice the previous round trip's.
    for (let i = 1; i < limits.length; i++) expect(limits[i]!).toBeLessThanOrEqual(2 * limits[i - 1]! + FRAME)
    expect(estimator.minRttMs).toBeCloseTo(50, 0)
  })

  it('on a 1 ms link of 25 MB/s it stays at the floor', () => {
    const estimator = new BulkInFlightEstimator(FLOOR)
    const limits = simulate(estimator, { rttMs: 1, bytesPerMs: 25_000, roundTrips: 200 })
    expect(limits.every((limit) => limit === FLOOR)).toBe(true)
    expect(estimator.maxRate).toBeGreaterThan(10_000)
  })

  it('on a 20 ms link that carries only 2 or 5 MB/s it settles at twice the product, below the window', () => {
    for (const bytesPerMs of [2_000, 5_000]) {
      const last = simulate(new BulkInFlightEstimator(FLOOR), { rttMs: 20, bytesPerMs, roundTrips: 40 }).at(-1)!
      // 2 MB/s × 20 ms = 40 kB, 5 MB/s × 20 ms = 100 kB: twice that is room for the credit travelling back.
      expect(last).toBeGreaterThan(2 * bytesPerMs * 20 * 0.95)
      expect(last).toBeLessThan(2 * bytesPerMs * 20 * 1.05)
      expect(last).toBeLessThan(WINDOW)
    }
  })

  it('never exceeds the ceiling it is given, and the floor wins over a smaller ceiling', () => {
    const estimator = new BulkInFlightEstimator(FLOOR)
    simulate(estimator, { rttMs: 50, bytesPerMs: 100_000, roundTrips: 6 })
    expect(estimator.limit(128 * KiB)).toBe(128 * KiB)
    expect(estimator.limit(16 * KiB)).toBe(FLOOR)
  })
})

describe('a hostile receiver cannot steer it', () => {
  it('credit never returned: no sample, the limit stays at the floor', () => {
    const estimator = new BulkInFlightEstimator(FLOOR)
    for (let i = 0; i < 1000; i++) estimator.onSent(FRAME, i)
    expect(estimator.minRttMs).toBeUndefined()
    expect(estimator.limit(WINDOW)).toBe(FLOOR)
  })

  it('credit returned early, in odd sizes, or more than was sent: the limit stays between floor and window', () => {
    const estimator = new BulkInFlightEstimator(FLOOR)
    let now = 0
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let i = 0; i < 5000; i++) {
      now += random() < 0.3 ? 0 : random() * 3
      if (random() < 0.5) estimator.onSent(1 + Math.floor(random() * FRAME), now)
      else estimator.onCredited([0, 1, 33, 7 * KiB + 3, 10 * WINDOW, -5][Math.floor(random() * 6)]!, now)
      const limit = estimator.limit(WINDOW)
      expect(Number.isInteger(limit)).toBe(true)
      expect(limit).toBeGreaterThanOrEqual(FLOOR)
      expect(limit).toBeLessThanOrEqual(WINDOW)
    }
  })

  it('credit back in the same clock tick it was sent gives no sample', () => {
    const estimator = new BulkInFlightEstimator(FLOOR)
    for (let i = 0; i < 100; i++) {
      estimator.onSent(FRAME, i)
      estimator.onCredited(FRAME, i)
    }
    expect(estimator.minRttMs).toBeUndefined()
    expect(estimator.limit(WINDOW)).toBe(FLOOR)
  })

  it('keeps at most MAX_SEND_MARKS marks however much is sent unreturned', () => {
    const estimator = new BulkInFlightEstimator(FLOOR)
    for (let i = 0; i < 10_000; i++) estimator.onSent(FRAME, i)
    // Everything comes back at once: one sample, from the newest mark kept, not the newest frame.
    estimator.onCredited(10_000 * FRAME, 20_000)
    expect(estimator.minRttMs).toBe(20_000 - (MAX_SEND_MARKS - 1))
  })
})

describe('WindowedExtreme', () => {
  it('a minimum holds for its window, then the best of the later samples takes over', () => {
    const min = new WindowedExtreme('min')
    expect(min.value).toBeUndefined()
    min.update(5, 0, 100)
    min.update(9, 40, 100)
    min.update(7, 80, 100)
    expect(min.value).toBe(5)
    expect(min.update(8, 120, 100)).toBe(7)
    expect(min.update(3, 130, 100)).toBe(3)
  })

  it('a maximum is replaced at once by a larger sample and forgotten after the window', () => {
    const max = new WindowedExtreme('max')
    max.update(10, 0, 50)
    expect(max.update(12, 10, 50)).toBe(12)
    expect(max.update(4, 100, 50)).toBe(4)
  })
})

describe('a bulk stream over a delayed link', () => {
  it('its limit grows past the floor to the window, and every byte arrives in order', async () => {
    const { a: linkA, b: linkB } = createMemoryLinkPair({ bulkLaneDelayMs: 25 })
    const a = new MuxSession(linkA, { initiator: true })
    const b = new MuxSession(linkB, { initiator: false })
    await Promise.all([a.ready, b.ready])
    const bulk = a.openStream('request', { lane: 'bulk' })
    const bulkIn = nextIncoming(b)
    const messages = Array.from({ length: 64 }, (_, i) => pattern(64 * KiB, i))
    let highest = 0
    const sent = Promise.all(
      messages.map((message) =>
        bulk.send(message).then(() => {
          highest = Math.max(highest, bulk.bulkInFlightLimit ?? 0)
        }),
      ),
    )
    bulk.close()
    const got = await readAll(await bulkIn)
    await sent
    expect(highest).toBe(WINDOW)
    expect(got).toHaveLength(messages.length)
    expect(got.every((message, i) => sameBytes(message, messages[i]!))).toBe(true)
    a.abort()
    b.abort()
  })
})
