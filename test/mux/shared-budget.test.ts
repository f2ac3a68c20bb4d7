/**
 * The whole mesh's budget (src/mux/shared-budget.ts): two peers' sessions count against one pool,
 * so what one peer holds leaves less room for the other, and neither can be made to hold the sum of
 * their own budgets. Raw mux peers perform the attack; each session also keeps its own budget.
 */
import { describe, expect, it } from 'vitest'
import { SharedInboundBudget } from '../../src/mux/shared-budget.js'
import { memoryAfterGc } from './memory.js'
import { nextIncoming } from './helpers.js'
import { rawPeersDisposedAfterEach, until } from './raw-peer.js'

const KiB = 1024
const MiB = 1024 * KiB
const peer = rawPeersDisposedAfterEach()

describe('the whole mesh’s inbound budget', () => {
  it('OPENs from two peers share the pool: the second peer is refused (tooManyStreams) once the first filled it, and admitted again once it drained', async () => {
    const windowBytes = 64 * KiB
    const pool = new SharedInboundBudget(4 * windowBytes)
    const config = { initialWindowBytes: windowBytes, maxWindowBytes: windowBytes, maxInboundBytes: 4 * windowBytes }
    const first = peer(config, { pool })
    const second = peer(config, { pool })
    await Promise.all([first.handshake(), second.handshake()])
    for (const id of [2, 4, 6]) await first.send({ type: 'open', streamId: id, purpose: 'request' })
    await first.barrier()
    expect(pool.committed).toBe(3 * windowBytes)
    // Exactly the room left: one window is admitted, the next refused although this peer's own budget is empty.
    for (const id of [2, 4]) await second.send({ type: 'open', streamId: id, purpose: 'request' })
    await second.barrier()
    expect(second.session.streamCount).toBe(1)
    expect(second.frames.filter((frame) => frame.type === 'reset')).toEqual([
      { type: 'reset', streamId: 4, reason: 'tooManyStreams', message: `the whole mesh's inbound budget of ${4 * windowBytes} bytes is full` },
    ])
    // The first peer's streams end: their windows go back to the pool.
    for (const id of [2, 4, 6]) await first.send({ type: 'close', streamId: id })
    await until('the pool drains', () => pool.committed === windowBytes)
    await second.send({ type: 'open', streamId: 6, purpose: 'request' })
    await second.barrier()
    expect(second.session.streamCount).toBe(2)
  })

  it('two peers assembling large items: the mesh holds its limit plus one item, not one item per peer; both complete in turn', async () => {
    const itemBytes = 2 * MiB
    const pool = new SharedInboundBudget(3 * MiB)
    const config = { maxInboundBytes: 3 * MiB, maxItemBytes: itemBytes }
    const peers = [peer(config, { pool }), peer(config, { pool })]
    await Promise.all(peers.map((raw) => raw.handshake()))
    const received: Array<Promise<Uint8Array | null>> = []
    for (const raw of peers) {
      for (const id of [2, 4]) {
        const incoming = nextIncoming(raw.session)
        await raw.send({ type: 'open', streamId: id, purpose: 'request' })
        received.push((await incoming).receive())
      }
    }
    const before = memoryAfterGc()
    const sent = await Promise.all(peers.flatMap((raw) => [2, 4].map((id) => raw.sendWhileCredit(id, itemBytes - 1))))
    const total = sent.reduce((a, b) => a + b, 0)
    const bound = 1.25 * 3 * MiB + itemBytes + 256 * KiB
    expect(total).toBeLessThanOrEqual(bound) // without the pool: each peer its own 3 MiB + an item
    expect(pool.committed).toBeLessThanOrEqual(bound)
    expect(memoryAfterGc() - before).toBeLessThan(bound + 8 * MiB)
    // Finishing them in the order they started assembling lets each one through.
    const ids = peers.flatMap((raw) => [2, 4].map((id) => [raw, id] as const))
    for (const [i, [raw, id]] of ids.entries()) {
      await raw.sendWhileCredit(id, itemBytes - 1 - sent[i]!, { idleMs: 2_000 })
      await raw.send({ type: 'data', streamId: id, fin: true, payload: Uint8Array.of(1) })
      expect((await received[i]!)?.byteLength).toBe(itemBytes)
    }
    await until('the pool drains to the streams’ windows', () => peers.every((raw) => raw.session.stats().inboundBytes === 0))
  }, 20_000)
})
