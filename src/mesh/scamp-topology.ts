/**
 * The `scamp` topology, for rooms past a few dozen peers: links only to the SCAMP partial view ∪
 * in-view (scamp-driver.ts runs the SCAMP node on the links); other links open on demand and close
 * when idle. Either side may start a link; when both offer at once the lower id's offer wins
 * (signals.ts). A lost link is SCAMP's `peerUnreachable` and is not retried: it re-opens when
 * something needs it. Signals carry the sender's public key, since no roster lists it, and while the
 * signaling server is away they travel hop by hop over the mesh (signal-relay.ts).
 *
 * The server's welcome names one random contact to subscribe through; the mesh keeps one more random
 * member from outside the views at hand (the `contact` request) for lease renewals and isolation
 * recovery, which is what repairs a partition.
 */
import type { MeshscopeError } from '../errors.js'
import type { ScampConfig } from '../gossip/config.js'
import type { JsonObject, PeerInfo, WelcomeMessage } from '../signaling/protocol.js'
import type { MeshGossip } from './public-types.js'
import { SCAMP_MAILBOX, ScampDriver } from './scamp-driver.js'
import { RELAY_MAILBOX, SignalRelay } from './signal-relay.js'
import { forgetMember, type TopologyParts, type TopologyPolicy } from './topology.js'

export type { GossipMessageEvent } from './scamp-driver.js'

export class ScampTopology implements TopologyPolicy {
  readonly linksOnDemand = true
  readonly signalsCarryKey = true
  readonly gossip: MeshGossip
  readonly #driver: ScampDriver
  readonly #relay: SignalRelay
  /** A random member the signaling server named, not yet used as a SCAMP contact. */
  #outsideContact?: string

  constructor(
    private readonly parts: TopologyParts,
    config: Partial<ScampConfig>,
  ) {
    const { selfId, links, messaging, signaling } = parts
    const report = (error: MeshscopeError) => parts.report(error)
    const send = (peer: string, mailbox: string, value: unknown) => messaging.send(peer, mailbox, value)
    const relay = new SignalRelay({
      selfId,
      room: parts.room,
      linkedPeers: () => links.peers,
      isLinked: (peer) => links.isJoined(peer),
      send,
      deliver: (from, payload) => parts.receiveSignal(from, payload),
      report,
    })
    const driver = new ScampDriver(
      {
        selfId,
        publicKey: parts.identity.publicKey,
        sign: (text) => parts.identity.sign(text, 'gossip'),
        isJoined: (peer) => links.isJoined(peer),
        ensureLink: (peer) => links.ensure(peer),
        send,
        release: (peer) => links.closeIfIdle(peer),
        disconnect: (peer, reason) => links.disconnect(peer, 'failed', reason),
        randomLinkedPeer: () => {
          const joined = links.peers
          return joined[Math.floor(Math.random() * joined.length)]
        },
        outsideContact: () => this.#takeOutsideContact(),
        deliver: (message) => parts.deliverGossip(message),
        report,
        learnRoute: (origin, via) => relay.learn(origin, via),
      },
      config,
    )
    this.#driver = driver
    this.#relay = relay
    messaging.register(SCAMP_MAILBOX, (value, context) => driver.receive(context.from, value))
    messaging.register(RELAY_MAILBOX, (value, context) => relay.receive(context.from, value))
    signaling.events.on('contact', (peer) => {
      if (!peer || peer.id === selfId) return
      parts.roster.add(peer)
      this.#outsideContact = peer.id
    })
    this.gossip = {
      publish: (value) => driver.publish(value),
      partialView: () => driver.node.partialView(),
      inView: () => driver.node.inView(),
      metrics: () => driver.metrics(),
    }
  }

  acceptsOfferFrom(): boolean {
    return true
  }

  signalWithoutServer(to: string, payload: JsonObject): boolean {
    this.#relay.send(to, payload)
    return true
  }

  keepsIdleLink(peer: string): boolean {
    return this.#driver.wants(peer)
  }

  /**
   * The welcome names a contact (none for the first member); a rejoin after a server outage only
   * subscribes again if this peer is not in the group.
   */
  welcome(welcome: WelcomeMessage): void {
    for (const peer of welcome.peers) this.parts.roster.add(peer)
    this.#driver.start(welcome.peers[0]?.id)
    this.parts.signaling.requestContact()
  }

  /** The server announces no joins in a scamp room; a key it names is still worth knowing. */
  peerJoined(peer: PeerInfo): void {
    this.parts.roster.add(peer)
  }

  peerLeft(peerId: string): void {
    forgetMember(this.parts, peerId)
  }

  linkJoined(peer: string): void {
    this.#driver.linkJoined(peer)
  }

  linkLost(peer: string): void {
    this.#driver.linkLost(peer)
  }

  /** Unsubscribes (SCAMP's leave rule); resolves once the peers accepted the unsubscriptions (or could not). */
  leave(): Promise<void> {
    return this.#driver.leave()
  }

  /** Each contact is used once; the next is asked for at once, so one is usually at hand. */
  #takeOutsideContact(): string | undefined {
    const contact = this.#outsideContact
    this.#outsideContact = undefined
    this.parts.signaling.requestContact()
    return contact
  }
}
