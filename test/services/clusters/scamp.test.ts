/**
 * Clusters in a scamp room: the directory travels by gossip, so a member is known beyond the links;
 * requests and events to a peer without a link use links opened on demand; an entry that is not
 * refreshed expires (checked on the directory with a clock, test/services/clusters/directory.test.ts).
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

test('in a scamp room every peer learns every member by gossip and reaches it, linked or not', async () => {
  server = await startServer()
  for (let index = 0; index < 8; index++) {
    const mesh = await joinMesh(server.address().url, 'clusters-scamp', { topology: 'scamp', gossip: { heartbeatIntervalMs: 1_000 } })
    meshes.push(mesh)
    await until(`${index} to subscribe`, () => mesh.gossip.metrics().sent.subscribe === 0 || mesh.gossip.partialView().length > 0, 10_000)
  }
  await until('every member in the group', () => meshes.every((mesh) => mesh.gossip.partialView().length > 0 && mesh.gossip.inView().length > 0), 15_000)
  const userGossip: unknown[] = []
  for (const mesh of meshes) mesh.on('gossip', (message) => userGossip.push(message.value))
  const [member, subscriber] = [meshes[0]!, meshes[7]!]
  await member.serve('scamp-echo', { request: (value) => value })
  const events: unknown[] = []
  await subscriber.subscribe('scamp-news', (value) => void events.push(value))
  await until('every peer knows the member and the subscriber', () =>
    meshes.every((mesh) => mesh.directory().clusters['scamp-echo']?.includes(member.id) && mesh.directory().topics['scamp-news']?.includes(subscriber.id)),
  )
  const unlinked = meshes.filter((mesh) => mesh !== member && !mesh.peers.includes(member.id))
  for (const mesh of meshes) await expect(mesh.request('scamp-echo', mesh.id, { timeout: 5_000 })).resolves.toBe(mesh.id)
  await Promise.all(meshes.map((mesh) => mesh.publish('scamp-news', mesh.id)))
  await until('every event delivered', () => events.length === meshes.length)
  expect(userGossip, 'directory announcements are not the application’s gossip').toEqual([])
  console.info(`scamp clusters: ${unlinked.length} of ${meshes.length - 1} peers reached the member without a link of their own at first`)

  // A member that closes says so on its way out: it leaves every directory at once, not after the
  // 35 s expiry, and new requests go to the other members.
  const second = meshes[3]!
  await second.serve('scamp-echo', { request: (value) => `second: ${value}` })
  await until('every peer knows the second member', () =>
    meshes.every((mesh) => mesh === second || mesh.directory().clusters['scamp-echo']?.includes(second.id)),
  )
  const closedAt = Date.now()
  await member.close()
  meshes = meshes.filter((mesh) => mesh !== member)
  await until('the closed member left every directory', () => meshes.every((mesh) => !mesh.directory().clusters['scamp-echo']?.includes(member.id)), 5_000)
  console.info(`scamp clusters: a closed member left every directory ${Date.now() - closedAt} ms after close()`)
  for (const mesh of meshes) await expect(mesh.request('scamp-echo', 1, { timeout: 5_000 })).resolves.toBe('second: 1')
})
