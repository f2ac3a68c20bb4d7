/**
 * SignalFreshness (src/mesh/signal-freshness.ts): the time window, the newer-offer rule, and the
 * bound on what it remembers — with a clock the test moves.
 */
import { describe, expect, it } from 'vitest'
import { SIGNAL_FRESHNESS_DEFAULTS, SignalFreshness } from '../../src/mesh/signal-freshness.js'

const PEER = 'a'.repeat(32)

function withClock(options: { windowMs?: number; maxSenders?: number } = {}) {
  const clock = { now: 1_000_000_000 }
  return { clock, freshness: new SignalFreshness({ ...options, now: () => clock.now }) }
}

describe('signal freshness', () => {
  it('the window: exactly at its edge either way is accepted, one ms past it is refused', () => {
    const { clock, freshness } = withClock({ windowMs: 60_000 })
    expect(freshness.checkTime(clock.now - 60_000)).toBeUndefined()
    expect(freshness.checkTime(clock.now + 60_000)).toBeUndefined()
    expect(freshness.checkTime(clock.now - 60_001)).toMatch(/ago, outside the ±60 s window/)
    expect(freshness.checkTime(clock.now + 60_001)).toMatch(/ahead of this peer/)
  })

  it('the default window is 15 minutes', () => {
    expect(SIGNAL_FRESHNESS_DEFAULTS.windowMs).toBe(15 * 60_000)
  })

  it('an offer for a new attempt must be newer than every signal taken from its sender', () => {
    const { clock, freshness } = withClock()
    expect(freshness.checkNewOffer(PEER, clock.now)).toBeUndefined() // nothing known yet
    freshness.took(PEER, clock.now)
    expect(freshness.checkNewOffer(PEER, clock.now)).toMatch(/replay/)
    expect(freshness.checkNewOffer(PEER, clock.now - 1)).toMatch(/replay/)
    expect(freshness.checkNewOffer(PEER, clock.now + 1)).toBeUndefined()
    // An older signal taken later (a candidate that was slow to arrive) does not move it back.
    freshness.took(PEER, clock.now - 5_000)
    expect(freshness.checkNewOffer(PEER, clock.now)).toMatch(/replay/)
  })

  it('remembers at most maxSenders, and forgets senders older than the window', () => {
    const { clock, freshness } = withClock({ windowMs: 1_000, maxSenders: 3 })
    for (let i = 0; i < 10; i++) freshness.took(String(i).repeat(32), clock.now)
    expect(freshness.size).toBe(3)
    clock.now += 1_001
    freshness.took(PEER, clock.now)
    expect(freshness.size).toBe(1)
  })
})

describe('signal freshness: a flood of senders', () => {
  it('a sender pushed out of memory by a flood cannot have its older offer replayed', () => {
    const { clock, freshness } = withClock({ maxSenders: 3 })
    freshness.took(PEER, clock.now) // the linked peer's last signal
    clock.now += 1
    for (let i = 0; i < 3; i++) freshness.took(String(i).repeat(32), clock.now) // throwaway senders push it out
    expect(freshness.size).toBe(3)
    expect(freshness.checkNewOffer(PEER, clock.now - 1)).toMatch(/replay/) // its captured, older offer
    expect(freshness.checkNewOffer(PEER, clock.now + 10)).toBeUndefined() // a new one from it is fine
  })
})
