/**
 * The inbound budget's part above the mux (src/mux/inbound-budget.ts): bytes held for the peer in
 * channel buffers and requests in service count in `committed`, reads wait for room for one window
 * (accepted exactly at the limit, refused one byte over), and the head-of-line rule lets a reader
 * whose consumer waits in, and only such a reader's stream lead the assembly past the limit.
 */
import { describe, expect, it } from 'vitest'
import { InboundBudget, type BudgetedStream } from '../../src/mux/inbound-budget.js'
import { tick } from './helpers.js'

const stream = (): BudgetedStream & { retried: number } => {
  const s = { retried: 0, retryCredit: () => void s.retried++ }
  return s
}
const never = () => false

describe('inbound budget: held above the mux', () => {
  it('channel and serving bytes count in committed and in the stats, and OPENs see them', () => {
    const budget = new InboundBudget(1000)
    budget.hold('channel', 300)
    budget.hold('serving', 200)
    expect(budget.committed).toBe(500)
    expect(budget.stats()).toMatchObject({ channelBytes: 300, servingBytes: 200 })
    expect(budget.mayOpen(500)).toBe(true)
    expect(budget.mayOpen(501)).toBe(false)
    budget.hold('channel', -300)
    expect(budget.stats().channelBytes).toBe(0)
  })

  it('a read of one window is admitted exactly at the limit and waits one byte over, until room comes', async () => {
    const budget = new InboundBudget(1000)
    budget.hold('channel', 600)
    const first = stream()
    expect(budget.startRead(first, 'channel', 400, never)).toBeUndefined() // 600 + 400 = limit
    const second = stream()
    const waiting = budget.startRead(second, 'channel', 1, never)
    expect(waiting).toBeDefined()
    let admitted = false
    void waiting!.admitted.then(() => (admitted = true))
    await tick()
    expect(admitted).toBe(false)
    budget.endRead(first) // its reservation goes; nothing was held
    await tick()
    expect(admitted).toBe(true)
    expect(budget.reading('channel')).toBe(1)
    budget.endRead(second)
    expect(budget.reading('channel')).toBe(0)
  })

  it('head of line: a reader whose consumer waits is let in when full, and started waiting wakes it', async () => {
    const budget = new InboundBudget(1000)
    budget.hold('channel', 1000)
    let consumerWaits = false
    const reader = stream()
    const waiting = budget.startRead(reader, 'channel', 100, () => consumerWaits)
    let admitted = false
    void waiting!.admitted.then(() => (admitted = true))
    consumerWaits = true
    budget.recheckWaiters()
    await tick()
    expect(admitted).toBe(true)
  })

  it('a cancelled wait is not admitted later, and says it was still waiting', async () => {
    const budget = new InboundBudget(1000)
    budget.hold('serving', 1000)
    const waiting = budget.startRead(stream(), 'serving', 100, never)!
    expect(waiting.cancel()).toBe(true)
    budget.hold('serving', -1000)
    await tick()
    expect(budget.reading('serving')).toBe(0)
  })

  it('only a reader that may overdraw leads the assembly past the limit', () => {
    const budget = new InboundBudget(1000)
    const held = stream()
    const handedOn = stream()
    let waits = false
    budget.startRead(held, 'serving', 100, never)
    budget.startRead(handedOn, 'channel', 100, () => waits)
    budget.hold('channel', 1000) // full
    budget.startAssembly(held) // the oldest assembly, but what it completes stays held
    budget.startAssembly(handedOn)
    expect(budget.mayGrant(held, 100, true)).toBe(false)
    expect(budget.mayGrant(handedOn, 100, true)).toBe(false)
    waits = true // its consumer waits: its item goes straight on
    expect(budget.mayGrant(handedOn, 100, true)).toBe(true)
    expect(budget.mayGrant(held, 100, true)).toBe(false)
  })

  it('a stream no reader above the mux reads keeps the plain head-of-line rule', () => {
    const budget = new InboundBudget(1000)
    budget.hold('channel', 1000)
    const plain = stream()
    budget.startAssembly(plain)
    expect(budget.mayGrant(plain, 100, true)).toBe(true)
  })
})
