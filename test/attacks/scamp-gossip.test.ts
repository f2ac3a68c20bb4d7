/**
 * Attack: publishing as someone else, over real meshes. A member of a scamp room sends gossip
 * messages that claim another member as their origin, on the SCAMP mailbox, to every peer it is
 * linked to. Before, every member delivered them as the victim's (the origin was a field anyone
 * could write); now no member delivers or forwards them, the forger is refused with GOSSIP_FORGED
 * and disconnected (by every peer it sent three), and the victim's own gossip still reaches everyone once.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Codec } from '../../src/codec/codec.js'
import { messageIdAt } from '../../src/gossip/dissemination.js'
import { createRng, messageToWire } from '../../src/gossip/index.js'
import type { Mesh } from '../../src/mesh/mesh.js'
import { encodeGossipEnvelope, gossipSignedText } from '../../src/mesh/gossip-origin.js'
import { SCAMP_MAILBOX } from '../../src/mesh/scamp-driver.js'
import type { GossipMessageEvent } from '../../src/mesh/scamp-topology.js'
import type { SignalingServer } from '../../signaling/index.js'
import { closeChecked, joinMesh, startServer, until } from '../mesh/helpers.js'

describe('attack: a forged gossip origin over real meshes', () => {
  let server: SignalingServer | undefined
  const meshes: Mesh[] = []
  afterEach(async () => {
    await closeChecked(meshes.splice(0))
    await server?.close()
  })

  it('nobody delivers a message the claimed origin did not sign; the forger is cut off', { timeout: 60_000 }, async () => {
    server = await startServer()
    const { url } = server.address()
    const received = new Map<string, GossipMessageEvent[]>()
    const errors: string[] = []
    const disconnecting: string[] = []
    for (let i = 0; i < 5; i++) {
      const mesh = await joinMesh(url, 'forged-origin', { topology: 'scamp', gossip: { heartbeatIntervalMs: 1_000 } })
      const log: GossipMessageEvent[] = []
      received.set(mesh.id, log)
      mesh.on('gossip', (message) => log.push(message))
      if (i < 4)
        mesh.on('error', (error) => {
          errors.push(error.code)
          if (error.message.includes('disconnecting')) disconnecting.push(mesh.id)
        })
      meshes.push(mesh)
      await until(`${i} to subscribe`, () => mesh.gossip.metrics().sent.subscribe === 0 || mesh.gossip.partialView().length > 0, 10_000)
    }
    await until('every member in the group', () => meshes.every((mesh) => mesh.gossip.partialView().length > 0 && mesh.gossip.inView().length > 0), 15_000)
    const [victim] = meshes as [Mesh]
    const forger = meshes[4]!
    await until('the forger linked to someone', () => forger.peers.length > 0)

    // The forger signs with its own key, claiming the victim as origin; and sends the victim's key with its own signature.
    const codec = new Codec()
    const rng = createRng(7)
    const forgeries: string[] = []
    const targets = forger.peers.filter((peer) => peer !== victim.id)
    for (const publicKey of [forger.identity.publicKey, victim.identity.publicKey, forger.identity.publicKey]) {
      const id = messageIdAt(Date.now(), rng)
      forgeries.push(id)
      const valueBytes = codec.encode({ from: 'the victim, honestly' })
      const signature = await forger.identity.sign(await gossipSignedText(id, victim.id, valueBytes), 'gossip')
      const wire = messageToWire({ type: 'gossip', id, payload: encodeGossipEnvelope(codec, victim.id, publicKey, signature, valueBytes) })
      for (const peer of targets) await forger.send(peer, SCAMP_MAILBOX, wire).catch(() => {})
    }
    await until('the forgeries refused', () => errors.filter((code) => code === 'GOSSIP_FORGED').length >= 3 * targets.length)
    // Each target struck it three times: it reported the forger misbehaving and dropped its link
    // (nothing stops the forger from linking again: a ban list is not part of this).
    await until('the forger disconnected', () => targets.every((peer) => disconnecting.includes(peer)))

    const honest = victim.gossip.publish({ from: 'the victim, really' })
    await until('the genuine message everywhere', () => meshes.slice(1, 4).every((mesh) => received.get(mesh.id)!.some((m) => m.id === honest)), 15_000)
    for (const mesh of meshes.slice(0, 4)) {
      const log = received.get(mesh.id)!
      expect(log.filter((m) => forgeries.includes(m.id))).toEqual([])
      if (mesh !== victim)
        expect(log.filter((m) => m.id === honest)).toEqual([{ origin: victim.id, via: expect.any(String), id: honest, value: { from: 'the victim, really' } }])
    }
  })
})
