/**
 * Attack: idle channels that starve a peer's requests. A received channel's pump reserved a window
 * in the peer's budget while it waited for the next item — forever, for a silent peer — on top of
 * the window its stream already had granted. A few idle channels made the budget "full" with nothing
 * held, and the peer's requests were then served one at a time: a handler that waited for the
 * peer's next request deadlocked until the call timeout. Now a pump reserves only once something
 * arrived (MuxStream.readable).
 */
import { describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import { ID_B, messagingPair } from '../rpc/helpers.js'

const MiB = 1024 * 1024

/** `channels` idle received receivers, then two calls that meet; `maxInboundBytes` null: the default budget. */
async function rendezvous(channels: number, maxInboundBytes: number | null = 4 * MiB) {
  const peers = await messagingPair({ config: maxInboundBytes === null ? {} : { maxInboundBytes }, callTimeoutMs: 1_500 })
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

describe('attack: idle received channels and the peer budget', () => {
  it('control: with no idle channel both calls go through', async () => {
    const { outcomes } = await rendezvous(0)
    expect(outcomes).toEqual(['first done', 'second done'])
  })
  it.each([
    { channels: 8, budget: 4 * MiB, label: 'a 4 MiB budget' },
    { channels: 128, budget: null, label: 'the default 64 MiB budget' },
  ])('$channels idle received receivers ($label) leave room for the peer’s requests: both calls of a rendezvous go through', async ({ channels, budget }) => {
    const { snapshot, outcomes } = await rendezvous(channels, budget)
    expect(snapshot.inboundBytes).toBeLessThan(64 * 1024) // nothing is really held
    expect(outcomes).toEqual(['first done', 'second done'])
  })
})
