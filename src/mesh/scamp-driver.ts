/**
 * The SCAMP driver of the `scamp` topology (scamp-topology.ts): a sans-IO SCAMP node (src/gossip)
 * driven on the mesh's links. Its messages ride an internal mailbox on the peers' links; the links
 * the mesh keeps are the node's partial view ∪ in-view, plus whatever a pending message needs
 * (opened on demand). Timers run on the real clock; a lost link is the node's `peerUnreachable`.
 * Gossip values travel in an envelope signed by their origin (gossip-origin.ts): a new message is
 * verified once, before the node delivers or forwards it; one that fails is dropped and its sender
 * struck (GOSSIP_FORGED).
 */
import { Codec } from '../codec/codec.js'
import { isMeshscopeError, MeshscopeError } from '../errors.js'
import { GossipKind, isMessageId } from '../gossip/protocol.js'
import { PEER_ID_PATTERN } from '../identity/identity.js'
import {
  createScampNode,
  cryptoRng,
  messageToWire,
  type GossipEffect,
  type GossipMessage,
  type ScampConfig,
  type ScampMetrics,
  type ScampNode,
} from '../gossip/index.js'
import { decodeGossipEnvelope, encodeGossipEnvelope, GossipOriginVerifier, gossipEnvelopeBytes, gossipSignedText } from './gossip-origin.js'

/** The internal mailbox SCAMP messages arrive in. */
export const SCAMP_MAILBOX = 'meshscope.scamp'

/** Messages waiting for a link to open, per peer (beyond this the oldest are dropped: SCAMP repairs itself). */
const MAX_PENDING_PER_PEER = 256
/**
 * Gossip messages being verified at once; beyond this new ones are refused (GOSSIP_RATE_LIMITED,
 * no strike): a verification costs about 0.1 ms of CPU (docs/protocol.md), and the messages wait
 * in memory meanwhile.
 */
const MAX_VERIFYING = 256
/**
 * Of those, at most this many from one neighbour: a neighbour that keeps verifications busy is
 * refused, not the honest neighbours whose messages arrive next.
 */
const MAX_VERIFYING_PER_NEIGHBOUR = 64
/** A mesh `error` event for gossip refused as rate-limited, at most once a second per neighbour (a flood would raise one per message). */
const RATE_LIMIT_REPORT_INTERVAL_MS = 1_000

export interface GossipMessageEvent {
  /** The peer that published it: its signature was verified (no relay can publish as someone else). */
  origin: string
  /** The neighbour it arrived from. */
  via: string
  /** Its id, unique per publish. */
  id: string
  value: unknown
}

/** What the driver needs from the mesh's parts. */
export interface ScampDriverHost {
  readonly selfId: string
  /** This peer's public key (base64url), carried in its gossip so receivers can verify it. */
  readonly publicKey: string
  /** Signs `text` with this peer's identity, domain `gossip`. */
  sign(text: string): Promise<string>
  /** Whether a link to `peer` is open (its session ready). */
  isJoined(peer: string): boolean
  /** Starts a link to `peer` unless there is one (open or opening). */
  ensureLink(peer: string): void
  /** Sends to an internal mailbox over the open link. */
  send(peer: string, mailbox: string, value: unknown): Promise<void>
  /** `peer` is no longer needed by SCAMP: its link may close when idle. */
  release(peer: string): void
  /** Ends the link to a peer that misbehaved. */
  disconnect(peer: string, reason: string): void
  /** A peer with an open link, at random (a contact when SCAMP needs one and the server gives none). */
  randomLinkedPeer(): string | undefined
  /**
   * A random member from outside the views (the signaling server's), if one is at hand: lease
   * renewals and isolation recovery go through it, which is what repairs a partition.
   */
  outsideContact(): string | undefined
  deliver(message: GossipMessageEvent): void
  report(error: MeshscopeError): void
  /** A subscription of `origin` came through neighbour `via`: a route back to it (signal-relay.ts). */
  learnRoute(origin: string, via: string): void
}

export class ScampDriver {
  readonly node: ScampNode
  /** Messages waiting for a link, with whether they may be retried if their send fails. */
  #pending = new Map<string, Array<{ message: GossipMessage; retry: boolean }>>()
  #timer?: ReturnType<typeof setTimeout>
  #timerAt = Infinity
  #closed = false
  // Gossip values may be anything the codec carries except ports (they have no single receiver).
  readonly #codec = new Codec()
  readonly #origins = new GossipOriginVerifier(this.#codec)
  /** Ids of gossip messages being verified (a copy arriving meanwhile is a duplicate). */
  readonly #verifying = new Set<string>()
  /** How many of them each neighbour sent. */
  readonly #verifyingFrom = new Map<string, number>()
  /** When a rate-limit refusal from each neighbour was last reported. */
  readonly #rateLimitReportedAt = new Map<string, number>()
  /** Publishes in order: each waits for its signature, and for the one before. */
  #publishing: Promise<void> = Promise.resolve()

  constructor(
    private readonly host: ScampDriverHost,
    config: Partial<ScampConfig> = {},
  ) {
    this.node = createScampNode({
      self: host.selfId,
      now: () => Date.now(),
      rng: cryptoRng(),
      config,
      randomContact: () => host.outsideContact(),
      // Only mesh ids: any other would make this peer ask the signaling server for a link to a
      // non-member, which gets its socket struck.
      peerIdPattern: PEER_ID_PATTERN,
    })
  }

  /** Joins through `contact` (from the signaling server), or as the first member without one. */
  start(contact: string | undefined): void {
    if (this.#closed || this.node.state === 'joined' || (this.node.state === 'subscribing' && contact === undefined)) return
    this.#apply(this.node.join(contact))
  }

  /** Whether SCAMP wants a link to `peer`: a neighbour, or messages waiting for it. */
  wants(peer: string): boolean {
    return this.node.isNeighbour(peer) || this.#pending.has(peer)
  }

  linkJoined(peer: string): void {
    const waiting = this.#pending.get(peer)
    if (!waiting) return
    this.#pending.delete(peer)
    for (const { message, retry } of waiting) this.#sendNow(peer, message, retry)
  }

  linkLost(peer: string): void {
    this.#pending.delete(peer)
    if (!this.#closed) this.#apply(this.node.peerUnreachable(peer))
  }

  /** A SCAMP message from a neighbour (the mailbox's handler). */
  receive(from: string, value: unknown): void {
    if (this.#closed) return
    // The node checks the message; only a mesh id is taken as a route.
    if (
      Array.isArray(value) &&
      (value[0] === GossipKind.subscribe || value[0] === GossipKind.forwardSubscription) &&
      typeof value[1] === 'string' &&
      PEER_ID_PATTERN.test(value[1])
    ) {
      this.host.learnRoute(value[1], from)
    }
    if (Array.isArray(value) && value[0] === GossipKind.gossip) this.#receiveGossip(from, value)
    else this.#apply(this.node.receive(from, value))
  }

  /**
   * Gossips `value` to every member; returns the message id. The message goes out once it is
   * signed (asynchronously, in publish order). Throws a codec error or GOSSIP_TOO_LARGE.
   */
  publish(value: unknown): string {
    if (this.#closed) throw new MeshscopeError('MESH_CLOSED', 'the mesh is closed')
    const { selfId, publicKey } = this.host
    const valueBytes = this.#codec.encode(value)
    const size = gossipEnvelopeBytes(this.#codec, selfId, publicKey, valueBytes)
    const limit = this.node.config.maxPayloadBytes
    if (size > limit) throw new MeshscopeError('GOSSIP_TOO_LARGE', `gossip of ${size} bytes (signed) is over ${limit}`)
    const id = this.node.newMessageId()
    const signature = gossipSignedText(id, selfId, valueBytes).then((text) => this.host.sign(text))
    this.#publishing = this.#publishing
      .then(async () => {
        const payload = encodeGossipEnvelope(this.#codec, selfId, publicKey, await signature, valueBytes)
        if (!this.#closed) this.#apply(this.node.publish(payload, id).effects)
      })
      // Only if signing failed, or took longer than maxMessageAgeMs (the id is then stale).
      .catch((error: unknown) =>
        this.host.report(isMeshscopeError(error) ? error : new MeshscopeError('INVALID_ARGUMENT', `gossip ${id} could not be signed`, { cause: error })),
      )
    return id
  }

  metrics(): ScampMetrics {
    return this.node.metrics()
  }

  /** Unsubscribes (the paper's rule) and stops; resolves once the peers accepted the unsubscriptions (or could not). */
  async leave(): Promise<void> {
    if (this.#closed) return
    // What was published before leaving goes out first (its signature may still be on its way).
    await this.#publishing
    if (this.#closed) return
    const sends: Promise<unknown>[] = []
    for (const effect of this.node.leave()) {
      if (effect.type === 'send' && this.host.isJoined(effect.to))
        sends.push(this.host.send(effect.to, SCAMP_MAILBOX, messageToWire(effect.message)).catch(() => {}))
    }
    this.#closed = true
    clearTimeout(this.#timer)
    this.#pending.clear()
    await Promise.all(sends)
  }

  #apply(effects: GossipEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send':
          if (this.host.isJoined(effect.to)) this.#sendNow(effect.to, effect.message)
          else this.#queue(effect.to, effect.message)
          break
        case 'deliver':
          this.#deliver(effect.from, effect.id, effect.payload)
          break
        case 'neighbour-up':
          this.host.ensureLink(effect.peer)
          break
        case 'neighbour-down':
          if (!this.#pending.has(effect.peer)) this.host.release(effect.peer)
          break
        case 'need-contact': {
          const contact = this.host.outsideContact() ?? this.host.randomLinkedPeer()
          if (contact !== undefined && contact !== this.host.selfId) queueMicrotask(() => this.#closed || this.#apply(this.node.join(contact)))
          break
        }
        case 'refused':
          if (effect.code === 'GOSSIP_RATE_LIMITED' && !this.#mayReportRateLimit(effect.peer)) break
          this.host.report(new MeshscopeError(effect.code, `gossip from ${effect.peer} refused: ${effect.reason}`))
          break
        case 'misbehaving':
          this.host.report(new MeshscopeError(effect.code, `${effect.peer} keeps sending gossip that is refused; disconnecting it`))
          this.host.disconnect(effect.peer, `misbehaving: ${effect.code}`)
          break
        case 'subscribed':
          break
      }
    }
    this.#schedule()
  }

  #sendNow(peer: string, message: GossipMessage, retry = true): void {
    // A send that fails means the link went away, or is being replaced (both sides opened one at
    // once). The message waits once more for a link: a replacement delivers it; if no link forms,
    // the failed attempt reports the peer unreachable and the message is dropped with it.
    this.host.send(peer, SCAMP_MAILBOX, messageToWire(message)).catch(() => {
      if (retry && !this.#closed && !this.host.isJoined(peer)) this.#queue(peer, message, false)
    })
  }

  #queue(peer: string, message: GossipMessage, retry = true): void {
    let waiting = this.#pending.get(peer)
    if (!waiting) this.#pending.set(peer, (waiting = []))
    if (waiting.length >= MAX_PENDING_PER_PEER) waiting.shift()
    waiting.push({ message, retry })
    this.host.ensureLink(peer)
  }

  /**
   * A gossip message: the node's own checks first (shape, size, duplicate, age) at no cost; a new
   * one is verified once — copies arriving meanwhile are dropped — and only then handed to the node,
   * which delivers and forwards it.
   */
  #receiveGossip(from: string, wire: unknown[]): void {
    const [, id, payload] = wire
    if (wire.length !== 3 || !isMessageId(id) || !(payload instanceof Uint8Array) || this.node.gossipStatus(id) !== 'new') {
      this.#apply(this.node.receive(from, wire)) // refused, or counted as a duplicate or expired
      return
    }
    if (payload.byteLength > this.node.config.maxPayloadBytes) return this.#apply(this.node.receive(from, wire))
    if (this.#verifying.has(id)) return
    const fromThisNeighbour = this.#verifyingFrom.get(from) ?? 0
    if (this.#verifying.size >= MAX_VERIFYING || fromThisNeighbour >= MAX_VERIFYING_PER_NEIGHBOUR) {
      const limit = fromThisNeighbour >= MAX_VERIFYING_PER_NEIGHBOUR ? `${MAX_VERIFYING_PER_NEIGHBOUR} from this neighbour` : `${MAX_VERIFYING} in all`
      this.#apply(this.node.refuse(from, 'GOSSIP_RATE_LIMITED', `more than ${limit} gossip messages being verified`))
      return
    }
    this.#verifying.add(id)
    this.#verifyingFrom.set(from, fromThisNeighbour + 1)
    void this.#origins.verify(id, payload).then((check) => {
      this.#verifying.delete(id)
      const left = (this.#verifyingFrom.get(from) ?? 1) - 1
      if (left > 0) this.#verifyingFrom.set(from, left)
      else this.#verifyingFrom.delete(from)
      if (this.#closed) return
      if (check.ok) this.#apply(this.node.receive(from, wire, check.envelope.origin))
      else this.#apply(this.node.refuse(from, check.code, `gossip ${id}: ${check.reason}`))
    })
  }

  /** Whether a rate-limit refusal from `peer` may be reported now (once a second per neighbour; the map is bounded). */
  #mayReportRateLimit(peer: string): boolean {
    const now = Date.now()
    const last = this.#rateLimitReportedAt.get(peer)
    if (last !== undefined && now - last < RATE_LIMIT_REPORT_INTERVAL_MS) return false
    this.#rateLimitReportedAt.delete(peer)
    this.#rateLimitReportedAt.set(peer, now)
    if (this.#rateLimitReportedAt.size > 1024) this.#rateLimitReportedAt.delete(this.#rateLimitReportedAt.keys().next().value!)
    return true
  }

  #deliver(via: string, id: string, payload: Uint8Array): void {
    // Verified before the node took it (#receiveGossip), so it decodes as an envelope.
    const envelope = decodeGossipEnvelope(this.#codec, payload)
    if (typeof envelope === 'string') return
    let value: unknown
    try {
      value = this.#codec.decode(envelope.valueBytes)
    } catch (error) {
      this.host.report(new MeshscopeError('GOSSIP_MALFORMED', `the value of gossip ${id} from ${envelope.origin} does not decode`, { cause: error }))
      return
    }
    this.host.deliver({ origin: envelope.origin, via, id, value })
  }

  #schedule(): void {
    if (this.#closed) return
    const at = this.node.nextTimerAt() ?? Infinity
    if (at >= this.#timerAt && this.#timer !== undefined) return
    clearTimeout(this.#timer)
    this.#timerAt = at
    if (at === Infinity) return
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined
        this.#timerAt = Infinity
        if (!this.#closed) this.#apply(this.node.tick())
      },
      Math.max(0, at - Date.now()),
    )
  }
}
