/**
 * The idle-channel attack of budget-idle-reads.test.ts at the default limits (64 MiB budget, 128 channels).
 */
import { describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import { ID_B, messagingPair } from '../rpc/helpers.js'

async function rendezvous(channels: number) {
  const peers = await messagingPair({ callTimeoutMs: 1_500 })
  const kept: unknown[] = []
  peers.b.register('subscribe', (rx: unknown) => void kept.push(rx))
  const senders: unknown[] = []
  for (let i = 0; i < channels; i++) {
    const [tx, rx] = mpsc.channel<number>()
    senders.push(tx)
    await peers.a.send(ID_B, 'subscribe', rx)
  }
  await new Promise((r) => setTimeout(r, 50))
  const budget = peers.pair.b.inboundBudget
  const snapshot = { ...peers.pair.b.stats(), readingChannel: budget.reading('channel'), committed: budget.committed, limit: budget.limit }
  let second!: () => void
  const secondArrived = new Promise<void>((resolve) => (second = resolve))
  peers.b.register('first', async () => {
    await secondArrived
    return 'first done'
  })
  peers.b.register('second', () => {
    second()
    return 'second done'
  })
  const outcomes = await Promise.all(['first', 'second'].map((name) => peers.a.call(ID_B, name, 1).then(String, (e: { code: string }) => e.code)))
  await peers.dispose()
  return { snapshot, outcomes, senders }
}

describe('attack: idle received channels and the peer budget (defaults)', () => {
  it('control: with no idle channel both calls go through', async () => {
    const { outcomes } = await rendezvous(0)
    expect(outcomes).toEqual(['first done', 'second done'])
  })
  it('128 idle received receivers (defaults) leave room for the peer’s requests (defaults): both calls go through', async () => {
    const { snapshot, outcomes } = await rendezvous(128)
    expect(snapshot.inboundBytes).toBeLessThan(64 * 1024) // nothing is really held
    expect(outcomes).toEqual(['first done', 'second done'])
  })
})
