/**
 * Attack: holding the whole mesh's head of line. With the mesh-wide budget, a peer H that started a
 * message on a stream whose reader waits, and never finished it, was the mesh's head of line for
 * good; another peer P over its own budget with one large message then never got credit, the mesh
 * far from full. Now each budget is checked on its own terms: P's own head of line, and room in the
 * pool (its head only matters when the pool is full).
 */
import { describe, expect, it } from 'vitest'
import { SharedInboundBudget } from '../../src/mux/shared-budget.js'
import { nextIncoming } from '../mux/helpers.js'
import { rawPeersDisposedAfterEach } from '../mux/raw-peer.js'

const MiB = 1024 * 1024
const peer = rawPeersDisposedAfterEach()

async function run(hostileFirst: boolean) {
  const pool = new SharedInboundBudget(8 * MiB)
  const config = { maxInboundBytes: 2 * MiB, maxItemBytes: 4 * MiB }
  const h = peer(config, { pool })
  const p = peer(config, { pool })
  await Promise.all([h.handshake(), p.handshake()])
  if (hostileFirst) {
    const incoming = nextIncoming(h.session)
    await h.send({ type: 'open', streamId: 2, purpose: 'request' })
    void (await incoming).receive().catch(() => {})
    await h.send({ type: 'data', streamId: 2, fin: false, payload: new Uint8Array(1024) }) // never finished
    await h.barrier()
  }
  const incoming = nextIncoming(p.session)
  await p.send({ type: 'open', streamId: 2, purpose: 'request' })
  const message = (await incoming).receive()
  const sent = await p.sendWhileCredit(2, 3 * MiB - 1, { idleMs: 1_000 })
  let done = false
  if (sent === 3 * MiB - 1) {
    await p.send({ type: 'data', streamId: 2, fin: true, payload: Uint8Array.of(1) })
    done = (await message)?.byteLength === 3 * MiB
  }
  return { sent, done, pool: pool.committed }
}

describe('attack: a stuck head of line across the mesh', () => {
  it('control: alone, P’s 3 MiB message (over its 2 MiB budget) completes as head of line', async () => {
    expect((await run(false)).done).toBe(true)
  })
  it('with H’s unfinished message first, P’s still completes', async () => {
    const outcome = await run(true)
    expect(outcome.done).toBe(true)
  })
})
