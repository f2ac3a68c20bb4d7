/**
 * Attack: replaying a signed signal. The signaling server's operator (or a scamp relay that once
 * carried it) keeps an offer and delivers it again later. A signature says who made a signal, not
 * when; before signals carried their time, a replayed offer for an earlier session replaced the live
 * link it met ("replaced"), so whoever had seen one offer could cut two peers apart at will. Now the
 * offer is refused (BAD_SIGNAL) and the link stays (src/mesh/signal-freshness.ts).
 *
 * The hostile server is played at the victim's socket: a WebSocket that records what the real server
 * delivers and can deliver a recorded message again, exactly as a server that replays would.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Identity } from '../../src/identity/identity.js'
import type { Mesh } from '../../src/mesh/mesh.js'
import { signSignal } from '../../src/mesh/signed-signal.js'
import type { SignalingServer } from '../../signaling/index.js'
import { closeChecked, joinMesh, nodePlatform, startServer, until } from '../mesh/helpers.js'

/** What the server delivered to the victim, as text, and a way to deliver it again. */
class ReplayingWebSocket extends WebSocket {
  static delivered: string[] = []
  static last?: ReplayingWebSocket

  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args)
    ReplayingWebSocket.last = this
    this.on('message', (data) => ReplayingWebSocket.delivered.push(String(data)))
  }

  /** Delivers `text` as if the server had sent it. */
  deliver(text: string): void {
    this.emit('message', Buffer.from(text), false)
  }
}

/** Two identities, the first with the lower id: in a full room the lower id makes the offers. */
async function orderedIdentities(): Promise<[Identity, Identity]> {
  const [one, two] = await Promise.all([Identity.generate(), Identity.generate()])
  return one.id < two.id ? [one, two] : [two, one]
}

function recordedOffers(from: string): string[] {
  return ReplayingWebSocket.delivered.filter((text) => {
    const message = JSON.parse(text) as { type: string; from?: string; payload?: { body?: string } }
    return message.type === 'signal' && message.from === from && message.payload?.body?.includes('"type":"offer"') === true
  })
}

describe('attack: a replayed signal', () => {
  let server: SignalingServer | undefined
  const meshes: Mesh[] = []
  afterEach(async () => {
    await closeChecked(meshes.splice(0))
    await server?.close()
    ReplayingWebSocket.delivered = []
  })

  it('an offer replayed after the link was renewed is refused (BAD_SIGNAL) and the live link stays', async () => {
    server = await startServer()
    const { url } = server.address()
    const [offererIdentity, victimIdentity] = await orderedIdentities()
    const victim = await joinMesh(url, 'replay', { identity: victimIdentity, platform: { ...nodePlatform, WebSocket: ReplayingWebSocket as never } })
    meshes.push(victim)
    const errors: string[] = []
    victim.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
    const left: string[] = []
    victim.on('peer:leave', (peerId) => left.push(peerId))

    // The offerer links, leaves, and comes back: a second link, a second session.
    const first = await joinMesh(url, 'replay', { identity: offererIdentity })
    await until('the first link', () => victim.peers.includes(offererIdentity.id))
    await first.close()
    await until('the first link gone', () => !victim.peers.includes(offererIdentity.id))
    const offerer = await joinMesh(url, 'replay', { identity: offererIdentity })
    meshes.push(offerer)
    await until('the second link', () => victim.peers.includes(offererIdentity.id))
    offerer.register<string>('echo', (value) => value)
    const offers = recordedOffers(offererIdentity.id)
    expect(offers.length).toBeGreaterThanOrEqual(2)
    left.length = 0

    // The hostile server delivers the first link's offer again.
    ReplayingWebSocket.last!.deliver(offers[0]!)
    await until('the refusal', () => errors.some((error) => error.startsWith('BAD_SIGNAL') && error.includes('replay')))
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(left).toEqual([])
    expect(victim.peers).toEqual([offererIdentity.id])
    expect(await victim.call(offererIdentity.id, 'echo', 'still linked')).toBe('still linked')
  })

  it('a correctly signed offer from long ago is refused as outside the window, before it touches any link', async () => {
    server = await startServer()
    const { url } = server.address()
    const [offererIdentity, victimIdentity] = await orderedIdentities()
    const victim = await joinMesh(url, 'old', { identity: victimIdentity, platform: { ...nodePlatform, WebSocket: ReplayingWebSocket as never } })
    const offerer = await joinMesh(url, 'old', { identity: offererIdentity })
    meshes.push(victim, offerer)
    await until('the link', () => victim.peers.includes(offererIdentity.id))
    const errors: string[] = []
    victim.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
    const left: string[] = []
    victim.on('peer:leave', (peerId) => left.push(peerId))

    const anHourAgo = Date.now() - 60 * 60_000
    const payload = await signSignal(offererIdentity, {
      room: 'old',
      from: offererIdentity.id,
      to: victimIdentity.id,
      session: 'an-old-session',
      t: anHourAgo,
      signal: { kind: 'description', type: 'offer', sdp: 'v=0' },
    })
    ReplayingWebSocket.last!.deliver(JSON.stringify({ type: 'signal', from: offererIdentity.id, payload }))
    await until('the refusal', () => errors.some((error) => error.startsWith('BAD_SIGNAL') && error.includes('window')))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(left).toEqual([])
    expect(victim.peers).toEqual([offererIdentity.id])
  })
})
