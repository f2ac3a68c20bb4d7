/**
 * Attack: links without end. Any identity that signs an offer got an RTCPeerConnection, with no cap
 * (Chromium refuses more than about 500 per tab, and each costs sockets and memory). Now a mesh holds
 * at most `maxLinks`; offers past it are refused with TOO_MANY_LINKS on its `error` event, and the
 * links it has keep working.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import type { Mesh } from '../../src/mesh/mesh.js'
import type { SignalingServer } from '../../signaling/index.js'
import { closeChecked, joinMesh, startServer, until } from '../mesh/helpers.js'

describe('attack: more offers than a peer should hold links', () => {
  let server: SignalingServer | undefined
  const meshes: Mesh[] = []
  afterEach(async () => {
    await closeChecked(meshes.splice(0))
    await server?.close()
  })

  it('a victim with maxLinks 2 among 5 offerers holds 2 links, refuses the rest with TOO_MANY_LINKS, and its links work', { timeout: 60_000 }, async () => {
    server = await startServer()
    const { url } = server.address()
    // The victim has the highest id: in a full room every other member offers to it.
    const identities = (await Promise.all(Array.from({ length: 6 }, () => Identity.generate()))).sort((x, y) => (x.id < y.id ? -1 : 1))
    const victim = await joinMesh(url, 'cap', { identity: identities[5]!, maxLinks: 2 })
    meshes.push(victim)
    const errors: string[] = []
    victim.on('error', (error) => errors.push(error.code))
    const offerers = await Promise.all(identities.slice(0, 5).map((identity) => joinMesh(url, 'cap', { identity })))
    meshes.push(...offerers)
    for (const offerer of offerers) offerer.register<string>('echo', (value) => value)
    await until('two links and refusals', () => victim.peers.length === 2 && errors.filter((code) => code === 'TOO_MANY_LINKS').length >= 3, 30_000).catch(
      (e) => {
        throw new Error(`${e.message}: peers ${victim.peers.length}, errors ${errors.join(',')}`)
      },
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(victim.peers).toHaveLength(2)
    expect(victim.state).toBe('open')
    for (const peerId of victim.peers) expect(await victim.call(peerId, 'echo', 'alive')).toBe('alive')
  })
})
