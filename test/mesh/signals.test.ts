/**
 * Signals (src/mesh/signals.ts): two peers' signal handling back to back, with real identities and
 * rosters, a scripted link table and a server stand-in whose deliveries the test releases. The offer
 * rule (decideOffer), crossing offers, duplicates, stale and forged signals, order, and the way
 * signals travel while the server is away.
 */
import { Principals } from '../../src/mesh/principals.js'
import { describe, expect, it } from 'vitest'
import { delay } from '../until.js'
import type { MeshscopeError } from '../../src/errors.js'
import { Identity } from '../../src/identity/identity.js'
import type { PeerLink } from '../../src/mesh/link-table.js'
import { Roster } from '../../src/mesh/roster.js'
import { decideOffer, Signals } from '../../src/mesh/signals.js'
import { signSignal } from '../../src/mesh/signed-signal.js'
import { MAX_CANDIDATES_PER_SIGNAL } from '../../src/transport/candidate-batch.js'
import type { JsonObject } from '../../src/signaling/protocol.js'
import type { RtcSignal } from '../../src/transport/webrtc-link.js'

const ROOM = 'room'
const OFFER: RtcSignal = { kind: 'description', type: 'offer', sdp: 'v=0 offer' }
const candidate = (n: number): RtcSignal => ({ kind: 'candidates', candidates: [{ candidate: `candidate:${n}`, sdpMid: '0', sdpMLineIndex: 0 }] })
const SESSION_A = 'session-of-a'
const SESSION_B = 'session-of-b'

class ScriptedLinks {
  entries = new Map<string, PeerLink>()
  /** `session:kind` of every signal handed to a link, in order. */
  accepted: string[] = []
  started: string[] = []
  detached: string[] = []
  /** Links it has room for; `throwOnStart`: creating one throws (as RTCPeerConnection can). */
  maxLinks = Infinity
  throwOnStart = false
  hasRoomFor(peerId: string): boolean {
    return this.entries.has(peerId) || this.entries.size < this.maxLinks
  }
  get(peerId: string): PeerLink | undefined {
    return this.entries.get(peerId)
  }
  start(peerId: string, session: string, initiator: boolean): PeerLink {
    if (this.throwOnStart) throw new Error('RTCPeerConnection: too many connections')
    const accepted = this.accepted
    const link = {
      // A description takes a while to apply (as setRemoteDescription does): what comes after it must wait.
      acceptSignal: async (signal: RtcSignal) => {
        if (signal.kind === 'description') await new Promise((resolve) => setTimeout(resolve, 20))
        accepted.push(`${session}:${signal.kind === 'candidates' ? signal.candidates.map((c) => c.candidate).join(',') : signal.type}`)
      },
    }
    const entry = { peerId, session, joined: false, lastUsedAt: 0, link } as unknown as PeerLink
    this.entries.set(peerId, entry)
    this.started.push(`${session}:${initiator ? 'offering' : 'answering'}`)
    return entry
  }
  detach(entry: PeerLink, reason: string): void {
    if (this.entries.get(entry.peerId) === entry) this.entries.delete(entry.peerId)
    this.detached.push(`${entry.session}:${reason}`)
  }
  refusedBy(entry: PeerLink): void {
    this.detach(entry, 'refused')
  }
}

interface Peer {
  identity: Identity
  roster: Roster
  links: ScriptedLinks
  signals: Signals
  errors: string[]
  /** Signals sent through the server, not yet delivered. */
  outbox: Array<{ to: string; payload: JsonObject }>
  relayed: string[]
  server: { state: 'joined' | 'reconnecting' }
}

/** Two peers, `low` with the lower id; `eitherSide`: the scamp rules (either side offers, keys travel). */
async function twoPeers(eitherSide: boolean) {
  const [low, high] = (await Promise.all([Identity.generate(), Identity.generate()])).sort((x, y) => (x.id < y.id ? -1 : 1)) as [Identity, Identity]
  const make = (identity: Identity): Peer => {
    const peer = {
      identity,
      roster: new Roster(identity.id),
      links: new ScriptedLinks(),
      errors: [],
      outbox: [],
      relayed: [],
      server: { state: 'joined' },
    } as unknown as Peer
    peer.signals = new Signals({
      identity,
      room: ROOM,
      roster: peer.roster,
      links: peer.links,
      server: {
        get state() {
          return peer.server.state
        },
        sendSignal: (to, payload) => peer.outbox.push({ to, payload }) > 0,
      },
      topology: {
        signalsCarryKey: eitherSide,
        acceptsOfferFrom: (from) => eitherSide || from < identity.id,
        signalWithoutServer: (to) => eitherSide && peer.relayed.push(to) > 0,
      },
      isOpen: () => true,
      report: (error: MeshscopeError) => void peer.errors.push(error.code),
      principals: new Principals(identity.id, ROOM, undefined, () => {}),
    })
    return peer
  }
  const a = make(low)
  const b = make(high)
  if (!eitherSide) {
    a.roster.add({ id: b.identity.id, publicKey: b.identity.publicKey })
    b.roster.add({ id: a.identity.id, publicKey: a.identity.publicKey })
  }
  return { a, b }
}

/**
 * Delivers everything `from` sent so far to `to`, and waits until it was handled: 100 ms, then until
 * nothing more was accepted, started or refused for 60 ms (verification is slower on a loaded machine).
 */
async function deliver(from: Peer, to: Peer, tamper: (payload: JsonObject) => JsonObject = (p) => p): Promise<void> {
  for (const { payload } of from.outbox.splice(0)) to.signals.receive(from.identity.id, tamper(payload))
  await delay(100)
  const progress = () => to.links.accepted.length + to.links.started.length + to.errors.length
  for (let before = -1; before !== progress(); ) {
    before = progress()
    await delay(60)
  }
}

describe('decideOffer', () => {
  const SELF = '5'.repeat(32)
  const LOW = '1'.repeat(32)
  const HIGH = '9'.repeat(32)
  it.each([
    ['not acceptable', HIGH, 'new', undefined, false, 'refuse'],
    ['the first attempt', HIGH, 'new', undefined, true, 'accept'],
    ['the attempt under way', HIGH, 'same', { session: 'same', joined: false }, true, 'duplicate'],
    ['crossing ours, from the higher id: ours wins', HIGH, 'new', { session: 'ours', joined: false }, true, 'keep-ours'],
    ['crossing ours, from the lower id: theirs wins', LOW, 'new', { session: 'ours', joined: false }, true, 'replace'],
    ['a new attempt while a link is open', HIGH, 'new', { session: 'old', joined: true }, true, 'replace'],
  ] as const)('%s', (_, from, session, existing, acceptable, decision) => {
    expect(decideOffer(SELF, from, session, existing, acceptable)).toBe(decision)
  })
})

describe('Signals', () => {
  it('full rules: an offer from the higher id is refused; the lower id’s offer starts the answering side, in order, once', async () => {
    const { a, b } = await twoPeers(false)
    await b.signals.send(a.identity.id, SESSION_B, OFFER)
    await deliver(b, a)
    expect(a.errors).toEqual(['BAD_SIGNAL'])
    expect(a.links.started).toEqual([])

    await a.signals.send(b.identity.id, SESSION_A, OFFER)
    for (let n = 1; n <= 3; n++) await a.signals.send(b.identity.id, SESSION_A, candidate(n))
    await a.signals.send(b.identity.id, SESSION_A, OFFER) // repeated
    await a.signals.send(b.identity.id, 'another-session', candidate(4)) // for an attempt that is gone
    await deliver(a, b)
    expect(b.errors).toEqual([])
    expect(b.links.started).toEqual([`${SESSION_A}:answering`])
    expect(b.links.accepted).toEqual([`${SESSION_A}:offer`, `${SESSION_A}:candidate:1`, `${SESSION_A}:candidate:2`, `${SESSION_A}:candidate:3`])
  })

  it('an offer past maxLinks is refused with TOO_MANY_LINKS; a transport that throws is reported LINK_FAILED, not thrown', async () => {
    const { a, b } = await twoPeers(false)
    b.links.maxLinks = 0
    await a.signals.send(b.identity.id, SESSION_A, OFFER)
    await deliver(a, b)
    expect(b.errors).toEqual(['TOO_MANY_LINKS'])
    expect(b.links.started).toEqual([])
    // An exception while starting the link must not escape (an unhandled rejection is fatal in Node).
    b.links.maxLinks = Infinity
    b.links.throwOnStart = true
    await a.signals.send(b.identity.id, 'a-later-session', OFFER)
    await deliver(a, b)
    expect(b.errors).toEqual(['TOO_MANY_LINKS', 'LINK_FAILED'])
  })

  it('an offer past maxLinks is answered with a signed refusal: the offerer ends that attempt as refused (PEER_BUSY), not after a timeout', async () => {
    const { a, b } = await twoPeers(true)
    b.links.maxLinks = 0
    a.links.start(b.identity.id, SESSION_A, true)
    await a.signals.send(b.identity.id, SESSION_A, OFFER)
    await deliver(a, b)
    expect(b.errors).toEqual(['TOO_MANY_LINKS'])
    expect(b.outbox).toHaveLength(1) // the refusal
    const refusal = b.outbox[0]!.payload
    await deliver(b, a)
    expect(a.links.detached).toEqual([`${SESSION_A}:refused`])
    // Replayed, it refuses nothing more: the attempt it was for is gone.
    a.links.start(b.identity.id, 'a-later-session', true)
    a.signals.receive(b.identity.id, refusal)
    await delay(100)
    expect(a.links.detached).toEqual([`${SESSION_A}:refused`])
  })

  it('a replayed offer (older than what was taken from its sender) is refused; so is one signed outside the window', async () => {
    const { a, b } = await twoPeers(true)
    await a.signals.send(b.identity.id, SESSION_A, OFFER)
    const first = a.outbox[0]!.payload
    await deliver(a, b)
    await a.signals.send(b.identity.id, 'a-newer-session', OFFER)
    await deliver(a, b)
    expect(b.links.started).toEqual([`${SESSION_A}:answering`, 'a-newer-session:answering'])
    b.signals.receive(a.identity.id, first) // the replay
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(b.errors).toEqual(['BAD_SIGNAL'])
    expect(b.links.detached).toEqual([`${SESSION_A}:replaced`])
    expect(b.links.started).toHaveLength(2)
  })

  it('a signal that was altered, or from someone not in the room, is refused with BAD_SIGNAL', async () => {
    const { a, b } = await twoPeers(false)
    await a.signals.send(b.identity.id, SESSION_A, OFFER)
    await deliver(a, b, (payload) => ({ ...payload, body: String(payload.body).replace('v=0 offer', 'v=0 forged') }))
    expect(b.errors).toEqual(['BAD_SIGNAL'])
    b.roster.delete(a.identity.id)
    await a.signals.send(b.identity.id, SESSION_A, OFFER)
    await deliver(a, b)
    expect(b.errors).toEqual(['BAD_SIGNAL', 'BAD_SIGNAL'])
    expect(b.links.started).toEqual([])
  })

  it('signals sent without waiting leave in the order they were sent (signing is asynchronous)', async () => {
    const { a, b } = await twoPeers(false)
    const sending = [a.signals.send(b.identity.id, SESSION_A, OFFER), ...[1, 2, 3].map((n) => a.signals.send(b.identity.id, SESSION_A, candidate(n)))]
    await Promise.all(sending)
    await deliver(a, b)
    expect(b.links.accepted).toEqual([`${SESSION_A}:offer`, `${SESSION_A}:candidate:1`, `${SESSION_A}:candidate:2`, `${SESSION_A}:candidate:3`])
  })

  it(`a batch of up to ${MAX_CANDIDATES_PER_SIGNAL} candidates is one signal; more, none, or a version 2 signal is refused with BAD_SIGNAL`, async () => {
    const { a, b } = await twoPeers(false)
    const batch = (count: number) =>
      ({
        kind: 'candidates',
        candidates: Array.from({ length: count }, (_, n) => ({ candidate: `candidate:${n}`, sdpMid: '0', sdpMLineIndex: 0 })),
      }) as RtcSignal
    await a.signals.send(b.identity.id, SESSION_A, OFFER)
    await a.signals.send(b.identity.id, SESSION_A, batch(MAX_CANDIDATES_PER_SIGNAL))
    await deliver(a, b)
    expect(b.errors).toEqual([])
    expect(b.links.accepted[1]?.split(',')).toHaveLength(MAX_CANDIDATES_PER_SIGNAL)

    const sign = (signal: unknown) =>
      signSignal(a.identity, { room: ROOM, from: a.identity.id, to: b.identity.id, session: SESSION_A, signal: signal as RtcSignal })
    b.signals.receive(a.identity.id, await sign(batch(MAX_CANDIDATES_PER_SIGNAL + 1)))
    b.signals.receive(a.identity.id, await sign(batch(0)))
    // A version 2 peer sent candidates one by one: its signals are refused, not misread.
    const v2 = await sign({ kind: 'candidate', candidate: 'candidate:9', sdpMid: '0', sdpMLineIndex: 0 })
    const v2Body = String(v2.body).replace('{"v":3', '{"v":2')
    b.signals.receive(a.identity.id, { body: v2Body, signature: await a.identity.sign(`meshscope/signal/v2\n${v2Body}`, 'signal') })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(b.errors).toEqual(['BAD_SIGNAL', 'BAD_SIGNAL', 'BAD_SIGNAL'])
    expect(b.links.accepted).toHaveLength(2)
  })

  it('scamp rules: crossing offers leave exactly the lower id’s attempt on both sides; keys travel with the signals', async () => {
    const { a, b } = await twoPeers(true)
    a.links.start(b.identity.id, SESSION_A, true)
    b.links.start(a.identity.id, SESSION_B, true)
    await a.signals.send(b.identity.id, SESSION_A, OFFER)
    await b.signals.send(a.identity.id, SESSION_B, OFFER)
    await deliver(a, b)
    await deliver(b, a)
    expect([a.errors, b.errors]).toEqual([[], []])
    expect(a.links.get(b.identity.id)?.session).toBe(SESSION_A) // ours won: B's offer dropped
    expect(a.links.accepted).toEqual([])
    expect(b.links.get(a.identity.id)?.session).toBe(SESSION_A) // B gave way
    expect(b.links.detached).toEqual([`${SESSION_B}:replaced`])
    expect(b.links.accepted).toEqual([`${SESSION_A}:offer`])
    expect(b.roster.has(a.identity.id)).toBe(true)
  })

  it('while the server is away, signals go the topology’s way when it has one, else to the server', async () => {
    const scamp = await twoPeers(true)
    scamp.a.server.state = 'reconnecting'
    await scamp.a.signals.send(scamp.b.identity.id, SESSION_A, OFFER)
    expect(scamp.a.relayed).toEqual([scamp.b.identity.id])
    expect(scamp.a.outbox).toEqual([])

    const full = await twoPeers(false)
    full.a.server.state = 'reconnecting'
    await full.a.signals.send(full.b.identity.id, SESSION_A, OFFER)
    expect(full.a.relayed).toEqual([])
    expect(full.a.outbox).toHaveLength(1)
  })
})
