/**
 * Signal handling: the offers, answers and ICE candidates that form a link, signed end to end by
 * the sender's identity key (signed-signal.ts). Outgoing signals go through the signaling server, or
 * — while it is away — the way the topology offers (the scamp relay). Incoming ones are handled
 * strictly in order per sender (verification is asynchronous), checked against the sender's key, and
 * matched to the link attempt (`session`) they belong to:
 *
 * - an offer starts the answering side of a new attempt, replacing an older attempt or link;
 * - an offer the topology does not accept (full: from the higher id) is refused with BAD_SIGNAL;
 * - crossing offers — both sides started an attempt at once — are settled by id: the lower id's
 *   offer wins, on both sides, so exactly one attempt survives;
 * - a repeated offer, or an answer or candidate for an attempt that is gone, is dropped;
 * - a signal signed outside the time window, or an offer for a new attempt that is not newer than
 *   what was already taken from its sender, is a replay: refused with BAD_SIGNAL (signal-freshness.ts).
 */
import { MeshscopeError } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import type { SignalingClient } from '../signaling/client.js'
import type { JsonObject } from '../signaling/protocol.js'
import type { RtcSignal } from '../transport/webrtc-link.js'
import { asLinkError, type LinkTable, type PeerLink } from './link-table.js'
import type { Roster } from './roster.js'
import type { Principals } from './principals.js'
import { SignalFreshness } from './signal-freshness.js'
import { type LinkRefusal, openSignedSignal, signSignal } from './signed-signal.js'
import type { TopologyPolicy } from './topology.js'

/**
 * What an offer does to the link table:
 * - `refuse`: the topology does not accept offers from this peer (reported as BAD_SIGNAL);
 * - `keep-ours`: it crosses an attempt of ours and the sender's id is higher, so ours wins;
 * - `duplicate`: it is for the attempt already under way;
 * - `replace`: the existing attempt or link gives way to it;
 * - `accept`: it starts the first attempt with this peer.
 */
export type OfferDecision = 'refuse' | 'keep-ours' | 'duplicate' | 'replace' | 'accept'

/** The rule for an offer from `from` for attempt `session`, given the entry this peer has for it. */
export function decideOffer(
  selfId: string,
  from: string,
  session: string,
  existing: Pick<PeerLink, 'session' | 'joined'> | undefined,
  acceptable: boolean,
): OfferDecision {
  if (!acceptable) return 'refuse'
  if (!existing) return 'accept'
  if (existing.session === session) return 'duplicate'
  // Both sides started an attempt at once: the lower id's offer wins.
  if (!existing.joined && from > selfId) return 'keep-ours'
  return 'replace'
}

export interface SignalsHost {
  readonly identity: Identity
  readonly room: string
  readonly roster: Roster
  readonly links: Pick<LinkTable, 'get' | 'start' | 'detach' | 'hasRoomFor' | 'refusedBy'>
  readonly server: Pick<SignalingClient, 'state' | 'sendSignal'>
  readonly topology: Pick<TopologyPolicy, 'acceptsOfferFrom' | 'signalsCarryKey' | 'signalWithoutServer'>
  /** This peer's attestation for its offers and answers, and the check of the sender's (principals.ts). */
  readonly principals: Pick<Principals, 'ownAttestation' | 'admit'>
  /** False once the mesh is closing: signals are then neither sent nor handled. */
  isOpen(): boolean
  report(error: MeshscopeError): void
}

export class Signals {
  /** The signals from each peer still being handled, chained so they are handled in order. */
  #chains = new Map<string, Promise<void>>()
  /** The signals to each peer still being signed, chained so they leave in order. */
  #sendChains = new Map<string, Promise<void>>()
  readonly #freshness: SignalFreshness

  constructor(
    private readonly host: SignalsHost,
    freshness = new SignalFreshness(),
  ) {
    this.#freshness = freshness
  }

  /**
   * Signs `signal` for attempt `session` and sends it to `peerId`, after the signals to that peer
   * sent before it: signing is asynchronous, and candidates that overtook their offer would reach an
   * answering side that has no attempt yet for them.
   */
  send(peerId: string, session: string, signal: RtcSignal | LinkRefusal): Promise<void> {
    const previous = this.#sendChains.get(peerId) ?? Promise.resolve()
    const next = previous.then(() => this.#send(peerId, session, signal))
    // A signal that failed does not hold back the ones after it.
    const settled = next.catch(() => {})
    this.#sendChains.set(peerId, settled)
    void settled.then(() => {
      if (this.#sendChains.get(peerId) === settled) this.#sendChains.delete(peerId)
    })
    return next
  }

  async #send(peerId: string, session: string, signal: RtcSignal | LinkRefusal): Promise<void> {
    const { identity, room, server, topology } = this.host
    const attestation = signal.kind === 'description' ? this.host.principals.ownAttestation : undefined
    const signed = await signSignal(identity, { room, from: identity.id, to: peerId, session, signal, ...(attestation !== undefined && { attestation }) })
    // The receiver may know nothing of us (scamp): the key travels along (its hash is our id).
    const payload = topology.signalsCarryKey ? { ...signed, publicKey: identity.publicKey } : signed
    if (!this.host.isOpen()) return
    if (server.state !== 'joined' && topology.signalWithoutServer(peerId, payload)) return
    server.sendSignal(peerId, payload)
  }

  /** A signal from `from` (through the server or the relay): queued behind that peer's earlier ones. */
  receive(from: string, payload: JsonObject): void {
    const previous = this.#chains.get(from) ?? Promise.resolve()
    // Nothing a signal does may escape as a rejection (fatal in Node): whatever fails is reported.
    const next = previous.then(() => this.#handle(from, payload)).catch((error: unknown) => this.host.report(asLinkError(from, error)))
    this.#chains.set(from, next)
    void next.finally(() => {
      if (this.#chains.get(from) === next) this.#chains.delete(from)
    })
  }

  async #handle(from: string, payload: JsonObject): Promise<void> {
    const { identity, roster, links, topology } = this.host
    if (!this.host.isOpen()) return
    if (!roster.has(from) && topology.signalsCarryKey && typeof payload.publicKey === 'string') {
      try {
        await roster.learn(from, payload.publicKey)
      } catch (error) {
        this.host.report(error as MeshscopeError)
        return
      }
    }
    const senderKey = roster.keyOf(from)
    if (!senderKey) {
      this.host.report(new MeshscopeError('BAD_SIGNAL', `a signal from ${from}, who is not in the room; dropped`))
      return
    }
    let signal: RtcSignal | LinkRefusal
    let session: string
    let t: number
    let attestation: string | undefined
    try {
      ;({ signal, session, t, attestation } = await openSignedSignal(payload, await senderKey, { room: this.host.room, from, to: identity.id }))
    } catch (error) {
      this.host.report(error instanceof MeshscopeError ? error : new MeshscopeError('BAD_SIGNAL', String(error), { cause: error }))
      return
    }
    if (!this.host.isOpen()) return
    const stale = this.#freshness.checkTime(t)
    if (stale) return this.host.report(new MeshscopeError('BAD_SIGNAL', `a signal from ${from} refused: ${stale}`))
    if (signal.kind === 'description') {
      // In a room with auth a link forms only with a peer whose attestation verifies: an offer
      // without one is dropped, an answer without one ends our attempt.
      try {
        await this.host.principals.admit(from, attestation)
      } catch (error) {
        const forming = links.get(from)
        if (signal.type === 'answer' && forming && forming.session === session && !forming.joined)
          links.detach(forming, 'failed', 'its principal attestation was refused')
        return this.host.report(error as MeshscopeError)
      }
      if (!this.host.isOpen()) return
    }
    let entry = links.get(from)
    if (signal.kind === 'refusal') {
      // The peer has no room for our attempt: it is busy, not gone (what waits for the link learns PEER_BUSY).
      if (entry && entry.session === session && !entry.joined) links.refusedBy(entry)
      return
    }
    if (signal.kind === 'description' && signal.type === 'offer') {
      const decision = decideOffer(identity.id, from, session, entry, topology.acceptsOfferFrom(from))
      if (decision === 'refuse') {
        this.host.report(new MeshscopeError('BAD_SIGNAL', `an offer from ${from}, who does not start links to this peer in this topology; dropped`))
        return
      }
      if (decision === 'keep-ours' || decision === 'duplicate') return
      const replayed = this.#freshness.checkNewOffer(from, t)
      if (replayed) return this.host.report(new MeshscopeError('BAD_SIGNAL', `an offer from ${from} refused: ${replayed}`))
      if (decision === 'accept' && !links.hasRoomFor(from)) {
        // Said to the offerer, signed, once per offer (the freshness check refuses a replay of it):
        // it learns this peer is busy, not gone, instead of waiting out its connectTimeoutMs.
        this.#freshness.took(from, t)
        void this.send(from, session, { kind: 'refusal', code: 'PEER_BUSY' }).catch(() => {})
        return this.host.report(new MeshscopeError('TOO_MANY_LINKS', `an offer from ${from} refused: this peer has as many links as its maxLinks`))
      }
      if (decision === 'replace') links.detach(entry!, 'replaced')
      entry = links.start(from, session, false)
    }
    if (!entry || entry.session !== session) return // stale: for an attempt that is gone
    this.#freshness.took(from, t)
    await entry.link.acceptSignal(signal)
  }
}
