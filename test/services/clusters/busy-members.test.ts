/**
 * A member at its own `maxLinks` in a scamp room refuses a requester's on-demand link explicitly (a
 * signed refusal, PEER_BUSY): the requester keeps it in its directory (it is busy, not a phantom) and
 * tries another member; with every member busy the request fails with PEER_BUSY, not NO_MEMBER after
 * the member was struck off for 60 s. Before the refusal existed, the attempt timed out unanswered
 * (`connectTimeoutMs`) and the honest member was dropped as unreachable.
 */
import { afterEach, expect, test } from 'vitest'
import type { Mesh } from '../../../src/mesh/mesh.js'
import type { SignalingServer } from '../../../signaling/index.js'
import { closeChecked, joinMesh, startServer, until } from '../../mesh/helpers.js'

let server: SignalingServer | undefined
let meshes: Mesh[] = []
afterEach(async () => {
  try {
    await closeChecked(meshes)
  } finally {
    meshes = []
    await server?.close()
  }
})

// Retried: about one run in 5–10 the busy member's SCAMP partial view stays empty — the peers that
// keep its subscription take both its link slots, and the link for its own arc is refused and
// dropped from the view — so its announcement reaches only its two linked peers and no unlinked
// requester exists to test with. That is a gossip limitation (a node at maxLinks with an empty view),
// recorded for the gossip issue, not what this test is about.
test('a member at its maxLinks refuses a link with PEER_BUSY: it stays listed, requests go elsewhere or fail with PEER_BUSY', {
  retry: 2,
  timeout: 60_000,
}, async () => {
  server = await startServer()
  const options = { topology: 'scamp' as const, gossip: { heartbeatIntervalMs: 1_000 }, connectTimeoutMs: 8_000 }
  for (let index = 0; index < 5; index++) {
    const mesh = await joinMesh(server.address().url, 'clusters-busy', options)
    meshes.push(mesh)
    await until(`${index} to subscribe`, () => mesh.gossip.metrics().sent.subscribe === 0 || mesh.gossip.partialView().length > 0, 10_000)
  }
  // The busy member joins last (no one takes it as their contact) and takes two links only.
  const busy = await joinMesh(server.address().url, 'clusters-busy', { ...options, maxLinks: 2 })
  meshes.push(busy)
  await until('the busy member to link', () => busy.peers.length > 0, 10_000)
  await busy.serve('busy-echo', { request: (value) => `busy: ${value}` })
  const others = meshes.filter((mesh) => mesh !== busy)
  await until('the busy member at its maxLinks', () => busy.peers.length === 2, 15_000)
  // A requester: a peer with no link to the busy member that has heard (by gossip) that it serves.
  // Not "every peer": a gossiped announcement may miss one until its refresh, which is not under test.
  const unlinked = () => others.filter((mesh) => !busy.peers.includes(mesh.id) && !mesh.peers.includes(busy.id))
  const knowsBusy = (mesh: Mesh) => mesh.directory().clusters['busy-echo']?.includes(busy.id) === true
  await until('a peer without a link to the busy member to know it serves', () => unlinked().some(knowsBusy), 20_000)
  const requester = unlinked().find(knowsBusy)
  expect(requester, 'a peer without a link to the busy member').toBeDefined()
  if (!requester) return

  // The only member is busy: the request fails with PEER_BUSY, and the member is still listed.
  await expect(requester.request('busy-echo', 1, { timeout: 6_000 })).rejects.toMatchObject({ code: 'PEER_BUSY' })
  expect(requester.directory().clusters['busy-echo'], 'a busy member is not struck off as a phantom').toContain(busy.id)

  // Another member with room: the requests go to it while the busy one refuses links.
  const spare = others.find((mesh) => mesh !== requester)!
  await spare.serve('busy-echo', { request: (value) => `spare: ${value}` })
  await until('the requester knows the second member', () => requester.directory().clusters['busy-echo']?.includes(spare.id) === true, 15_000)
  await expect(requester.request('busy-echo', 2, { timeout: 6_000 })).resolves.toBe('spare: 2')
  expect(requester.directory().clusters['busy-echo']).toContain(busy.id)
})
