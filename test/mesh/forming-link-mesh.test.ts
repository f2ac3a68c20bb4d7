/**
 * The full topology over wrtc and a real signaling server: a peer that just joined calls (and
 * hops to) a room member at once, whatever state its link is in — the call waits for the link
 * (issue 15 §3) instead of failing with PEER_NOT_CONNECTED. And a remote-object proxy is closed
 * when its peer leaves the mesh.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Mesh } from '../../src/mesh/mesh.js'
import type { SignalingServer } from '../../signaling/index.js'
import { closeChecked, joinMesh, startServer } from './helpers.js'

describe('meshes over wrtc: forming links, leaving peers', () => {
  const servers: SignalingServer[] = []
  const meshes: Mesh[] = []
  afterEach(async () => {
    try {
      await closeChecked(meshes.splice(0))
    } finally {
      await Promise.all(servers.splice(0).map((server) => server.close()))
    }
  })

  it('reaches a member whose link is still forming', async () => {
    const server = await startServer()
    servers.push(server)
    const { url } = server.address()
    const first = await joinMesh(url, 'forming')
    meshes.push(first)
    first.register('ping', (value: number) => value + 1)
    for (let round = 0; round < 3; round++) {
      const late = await joinMesh(url, 'forming')
      meshes.push(late)
      // Straight after join resolves: the welcome named `first`, its link may not have formed yet.
      expect(await late.call(first.id, 'ping', round, { timeout: 15_000 })).toBe(round + 1)
    }
  }, 30_000)

  it('a remote-object proxy is closed when its peer leaves', async () => {
    const server = await startServer()
    servers.push(server)
    const { url } = server.address()
    const owner = await joinMesh(url, 'leaving')
    const user = await joinMesh(url, 'leaving')
    meshes.push(user)
    owner.expose('calc', { add: (x: number, y: number) => x + y })
    const calc = user.remote<{ add(x: number, y: number): number }>(owner.id, 'calc', { timeout: 15_000 })
    expect(await calc.add(1, 2)).toBe(3)
    await owner.close()
    await calc.closed()
    expect(calc.isClosed).toBe(true)
    await expect(calc.add(1, 2)).rejects.toMatchObject({ code: 'PEER_GONE' })
  }, 30_000)
})
