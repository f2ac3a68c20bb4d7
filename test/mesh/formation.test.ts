/**
 * Forming a room (docs/architecture.md, "Forming a mesh"): a link costs the signaling server a handful
 * of signals — an offer, an answer and a batch or two of ICE candidates — not one per candidate, so
 * peers on one address that join at once stay within its limits: no RATE_LIMITED, no reconnect.
 *
 * Six peers in this process (wrtc holds about 90 file descriptors per connection, so twelve in one
 * process would need 66 × 2 of them; `npm run bench:formation` forms twelve, in processes of their
 * own, and reports any refusal). The server's per-address budget is cut down to what a room of six
 * legitimately needs: 6 links' worth per link at most, which one signal per candidate (about 10 per
 * link) overran.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Mesh } from '../../src/mesh/mesh.js'
import type { SignalingServer } from '../../signaling/index.js'
import { closeChecked, fullMesh, joinMesh, startServer } from './helpers.js'

const PEERS = 6
const LINKS = (PEERS * (PEERS - 1)) / 2
/** Offer, answer, one candidate batch per side, and room for a second batch per side on a busy machine. */
const SIGNALS_PER_LINK = 6

describe('forming a room', () => {
  const meshes: Mesh[] = []
  let server: SignalingServer | undefined

  afterEach(async () => {
    try {
      await closeChecked(meshes.splice(0))
    } finally {
      await server?.close()
    }
  })

  it(`${PEERS} peers on one address joining at once form the full mesh with ${SIGNALS_PER_LINK} signals per link, none refused`, async () => {
    const refusals: string[] = []
    server = await startServer({
      // Hellos, plus what the links need; renewed too slowly to matter while the room forms.
      rateLimitPerIpBurst: PEERS + LINKS * SIGNALS_PER_LINK,
      rateLimitPerIpPerSecond: 1,
      log: (line) => void (line.includes(' refused ') && refusals.push(line)),
    })
    const { url } = server.address()
    const joined = await Promise.all(Array.from({ length: PEERS }, () => joinMesh(url, 'formation')))
    meshes.push(...joined)
    const errors: string[] = []
    const reconnects: string[] = []
    for (const mesh of joined) {
      mesh.on('error', (error) => void errors.push(error.code))
      mesh.on('signaling', (state) => void (state === 'reconnecting' && reconnects.push(mesh.id)))
    }
    await fullMesh(joined, 20_000)
    expect(refusals).toEqual([])
    expect(errors.filter((code) => code === 'RATE_LIMITED')).toEqual([])
    expect(reconnects).toEqual([])
  }, 40_000)
})
