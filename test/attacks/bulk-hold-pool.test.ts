/**
 * The bulk-lane hold (src/mux/lanes.ts) against the mesh-wide inbound pool (src/mux/shared-budget.ts).
 *
 * Each session could hold 4 × initialWindowBytes (1 MiB with the defaults) of bulk-lane
 * frames for streams whose OPEN has not come, and a hostile peer can keep that much held as long as
 * it likes (frames for a stream id it never opens, just under the bound). Those bytes are counted by
 * the session's hold only, never by its budget or the pool: with the mesh's defaults (maxLinks 256,
 * maxInboundBytes 256 MiB) a crowd of peers holds another 256 MiB the pool does not know about, so
 * the pool no longer bounds what the peers make this process keep. Fixed: held frames are charged
 * to the inbound budget (and the pool), and one stream id may hold at most one initial window.
 */
import { describe, expect, it } from 'vitest'
import { HELD_FRAME_OVERHEAD_BYTES } from '../../src/mux/lanes.js'
import { SharedInboundBudget } from '../../src/mux/shared-budget.js'
import { rawPeersDisposedAfterEach } from '../mux/raw-peer.js'

const peer = rawPeersDisposedAfterEach()

describe('held bulk-lane frames and the mesh-wide pool', () => {
  it('what a session holds for streams not yet opened counts against the pool', async () => {
    const windowBytes = 16 * 1024
    const pool = new SharedInboundBudget(windowBytes)
    const raw = peer({ initialWindowBytes: windowBytes, maxWindowBytes: windowBytes, maxInboundBytes: windowBytes }, { pool })
    await raw.handshake()
    const frameBytes = 4 * 1024
    const counted = frameBytes + 6 + HELD_FRAME_OVERHEAD_BYTES
    let held = 0
    // Stream 2 is never opened: every frame stays held, up to the old hold's bound.
    while (held + counted <= 4 * windowBytes) {
      await raw.send({ type: 'data', streamId: 2, fin: false, payload: new Uint8Array(frameBytes) }, 'bulk')
      held += counted
    }
    // False once the session refused them (a stream id past its initial window is a protocol error).
    await raw.barrier()
    const open = raw.session.state === 'open'
    console.log(`held ${held} bytes with a pool of ${pool.limit}: session ${raw.session.state}, pool committed ${pool.committed}`)
    // Either the pool knows of the held bytes, or the session refused them past the pool.
    if (open) expect(pool.committed).toBeGreaterThanOrEqual(held)
  })
})
