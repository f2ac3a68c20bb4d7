/**
 * The scamp topology over real wrtc links and a real signaling server: peers join through one
 * contact each, link only to their SCAMP views, gossip reaches everyone, a mailbox call to a peer
 * with no link opens one on demand, and a leaver's unsubscriptions keep the views mirrored.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Mesh } from '../../src/mesh/mesh.js'
import type { GossipMessageEvent } from '../../src/mesh/scamp-topology.js'
import type { SignalingServer } from '../../signaling/index.js'
import { closeChecked, joinMesh, startServer, until } from './helpers.js'

const ROOM = 'scamp-unit'
const N = 8

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

async function scampGroup(count: number): Promise<{ meshes: Mesh[]; received: Map<string, GossipMessageEvent[]> }> {
  server = await startServer()
  const received = new Map<string, GossipMessageEvent[]>()
  for (let i = 0; i < count; i++) {
    const mesh = await joinMesh(server.address().url, ROOM, { topology: 'scamp', gossip: { heartbeatIntervalMs: 1_000 } })
    const log: GossipMessageEvent[] = []
    received.set(mesh.id, log)
    mesh.on('gossip', (message) => log.push(message))
    meshes.push(mesh)
    await until(`${i} to subscribe`, () => mesh.gossip.metrics().sent.subscribe === 0 || mesh.gossip.partialView().length > 0, 10_000)
  }
  // Every member holds someone and is held by someone, and the views are mirrored.
  await until('every member in the group', () => meshes.every((mesh) => mesh.gossip.partialView().length > 0 && mesh.gossip.inView().length > 0), 15_000)
  return { meshes, received }
}

describe('the scamp topology', () => {
  it('links follow the SCAMP views, views are mirrored, and one publish reaches every member once', async () => {
    const { received } = await scampGroup(N)
    // Keep notices may still be in flight: the views mirror each other once they arrived.
    const byId = new Map(meshes.map((mesh) => [mesh.id, mesh]))
    await until('mirrored views', () => meshes.every((mesh) => mesh.gossip.partialView().every((peer) => byId.get(peer)!.gossip.inView().includes(mesh.id))))
    for (const mesh of meshes) {
      const neighbours = new Set([...mesh.gossip.partialView(), ...mesh.gossip.inView()])
      await until('links to every neighbour', () => [...neighbours].every((peer) => mesh.peers.includes(peer)))
    }
    const id = meshes[3]!.gossip.publish({ hello: 'everyone', n: 42n })
    await until(
      'every other member to receive the message',
      () => meshes.every((mesh, i) => i === 3 || received.get(mesh.id)!.some((m) => m.id === id)),
      10_000,
    )
    for (const [i, mesh] of meshes.entries()) {
      const copies = received.get(mesh.id)!.filter((m) => m.id === id)
      expect(copies).toHaveLength(i === 3 ? 0 : 1)
      if (i !== 3) expect(copies[0]).toMatchObject({ origin: meshes[3]!.id, value: { hello: 'everyone', n: 42n } })
    }
  })

  it('a call to a peer without a link opens one on demand', async () => {
    await scampGroup(12)
    const pairs = meshes.flatMap((a) => meshes.filter((b) => b !== a && !a.peers.includes(b.id)).map((b) => [a, b] as const))
    expect(pairs.length, 'among 12 peers with views of about 2 ln 12, some pair has no link').toBeGreaterThan(0)
    const [a, stranger] = pairs[0]!
    stranger!.register('echo', (value: unknown) => value)
    await expect(a!.call(stranger!.id, 'echo', 'via a fresh link')).resolves.toBe('via a fresh link')
    expect(a!.peers).toContain(stranger!.id)
  })

  it('with the signaling server gone, a link still forms on demand: its signals travel through the mesh', async () => {
    await scampGroup(12)
    const pairs = meshes.flatMap((a) => meshes.filter((b) => b !== a && !a.peers.includes(b.id)).map((b) => [a, b] as const))
    expect(pairs.length).toBeGreaterThan(0)
    const [a, stranger] = pairs[0]!
    await server!.close()
    server = undefined
    await until('the signaling connection to drop', () => meshes.every((mesh) => mesh.signalingState !== 'joined'))
    stranger.register('echo', (value: unknown) => value)
    await expect(a.call(stranger.id, 'echo', 'relayed signals')).resolves.toBe('relayed signals')
    expect(a.peers).toContain(stranger.id)
  })

  it('a malformed signal relay from a neighbour is refused with BAD_SIGNAL and changes nothing', async () => {
    await scampGroup(3)
    const [a, b] = meshes
    await until('a link between the first two', () => a!.peers.includes(b!.id) || b!.peers.includes(a!.id))
    const errors: string[] = []
    b!.on('error', (error) => errors.push(error.code))
    await a!.send(b!.id, 'meshscope.relay', { to: 'nobody', from: a!.id, ttl: 99, payload: {} })
    await until('the refusal', () => errors.includes('BAD_SIGNAL'))
    expect(b!.peers).toContain(a!.id)
    // A relayed signal whose key does not hash to its sender's id: refused before anything else.
    const forgedFrom = 'f'.repeat(32)
    await a!.send(b!.id, 'meshscope.relay', {
      to: b!.id,
      from: forgedFrom,
      ttl: 1,
      payload: { body: '{}', signature: 'A'.repeat(86), publicKey: a!.identity.publicKey },
    })
    await until('the key refusal', () => errors.includes('BAD_PUBLIC_KEY'))
    expect(b!.peers).not.toContain(forgedFrom)
  })

  it('an on-demand link closes once idle for idleLinkMs; a neighbour’s link stays', async () => {
    server = await startServer()
    for (let i = 0; i < 12; i++) {
      meshes.push(await joinMesh(server.address().url, ROOM, { topology: 'scamp', idleLinkMs: 300 }))
    }
    await until('every member in the group', () => meshes.every((mesh) => mesh.gossip.partialView().length > 0 && mesh.gossip.inView().length > 0), 15_000)
    const pairs = meshes.flatMap((a) => meshes.filter((b) => b !== a && !a.peers.includes(b.id)).map((b) => [a, b] as const))
    expect(pairs.length).toBeGreaterThan(0)
    const [a, stranger] = pairs[0]!
    stranger.register('echo', (value: unknown) => value)
    await a.call(stranger.id, 'echo', 1)
    expect(a.peers).toContain(stranger.id)
    const neighbours = new Set([...a.gossip.partialView(), ...a.gossip.inView()])
    if (neighbours.has(stranger.id)) return // SCAMP took it in meanwhile: then it rightly stays
    await until('the idle on-demand link to close', () => !a.peers.includes(stranger.id), 10_000)
    for (const peer of a.gossip.partialView()) expect(a.peers).toContain(peer)
  })

  it('a neighbour that keeps sending malformed SCAMP messages is refused with a code, then disconnected', async () => {
    await scampGroup(3)
    const [a, b] = meshes
    await until('a link between the first two', () => a!.peers.includes(b!.id))
    const errors: string[] = []
    b!.on('error', (error) => errors.push(error.code))
    // A send resolves once b took the message; the one that makes b hang up fails (the link closed
    // before its acceptance came back). Sending on would open a new link on demand: stop there.
    for (let i = 0; i < 5; i++) {
      const hungUp = await a!.send(b!.id, 'meshscope.scamp', ['not', 'a', 'scamp', 'message']).then(
        () => false,
        () => true,
      )
      if (hungUp) break
    }
    await until('b to disconnect a', () => !b!.peers.includes(a!.id))
    expect(errors).toContain('GOSSIP_MALFORMED')
  })

  it('a leaving member unsubscribes: nobody keeps it in a view, and gossip still reaches the rest', async () => {
    const { received } = await scampGroup(N)
    const leaver = meshes[5]!
    await leaver.close()
    const rest = meshes.filter((mesh) => mesh !== leaver)
    await until(
      'the leaver out of every view',
      () => rest.every((mesh) => !mesh.gossip.partialView().includes(leaver.id) && !mesh.gossip.inView().includes(leaver.id)),
      10_000,
    )
    const id = rest[0]!.gossip.publish('after the leave')
    await until('the rest to receive it', () => rest.slice(1).every((mesh) => received.get(mesh.id)!.some((m) => m.id === id)), 10_000)
  })

  it('gossip needs the scamp topology, and a full-topology peer cannot join a room the server runs as scamp', async () => {
    server = await startServer({ roomTopology: (room) => (room === ROOM ? 'scamp' : 'full') })
    const full = await joinMesh(server.address().url, 'plain')
    meshes.push(full)
    expect(() => full.gossip).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    meshes.push(await joinMesh(server.address().url, ROOM, { topology: 'scamp' }))
    await expect(joinMesh(server.address().url, ROOM)).rejects.toMatchObject({ code: 'SIGNALING_REFUSED' })
  })
})
