/**
 * A topology policy answers the questions the mesh asks about how its room links up — who starts
 * a link, whether a lost link is retried or re-opened on demand, how signals travel while the server
 * is away, what the server's roster events mean — so the mesh never branches on the room's topology.
 * `full-topology.ts` and `scamp-topology.ts` are the two; the `topology` option (`Topology`,
 * 'full' | 'scamp', in signaling/protocol.ts) picks one.
 */
import type { MeshscopeError } from '../errors.js'
import type { SignalingClient } from '../signaling/client.js'
import type { JsonObject, PeerInfo, WelcomeMessage } from '../signaling/protocol.js'
import type { LinkTable } from './link-table.js'
import type { Messaging } from './messaging.js'
import type { MeshGossip } from './public-types.js'
import type { Roster } from './roster.js'
import type { GossipMessageEvent } from './scamp-driver.js'
import type { Identity } from '../identity/identity.js'

export interface TopologyPolicy {
  /** Links open on demand (a send or call to a peer without one opens it) and close once idle. */
  readonly linksOnDemand: boolean
  /** Signals carry the sender's public key: the receiver may have no roster entry for the sender. */
  readonly signalsCarryKey: boolean
  /** Gossip over SCAMP; undefined where the topology has none. */
  readonly gossip: MeshGossip | undefined
  /** Whether an offer from `from` may start a link (full: only the lower id offers). */
  acceptsOfferFrom(from: string): boolean
  /**
   * Carries a signed signal while the signaling server is away; false when this topology has no
   * other way (the signal is then lost, and the attempt times out and is retried).
   */
  signalWithoutServer(to: string, payload: JsonObject): boolean
  /** Whether an idle on-demand link to `peer` stays open all the same (the topology needs it). */
  keepsIdleLink(peer: string): boolean
  /** The server welcomed this peer (again, after an outage) with the room's members, or a contact. */
  welcome(welcome: WelcomeMessage): void
  peerJoined(peer: PeerInfo): void
  peerLeft(peerId: string): void
  /** The link to `peer` is ready. */
  linkJoined(peer: string): void
  /** The link to `peer` was lost (not replaced by a newer one). */
  linkLost(peer: string): void
  /** The topology's leave rule, run while the links still carry messages; absent when there is none. */
  leave?(): Promise<void>
}

/** The parts of the mesh a topology works with. */
export interface TopologyParts {
  readonly selfId: string
  /** This peer's identity (the scamp topology signs its gossip with it). */
  readonly identity: Identity
  readonly room: string
  readonly roster: Roster
  readonly links: LinkTable
  readonly signaling: SignalingClient
  readonly messaging: Messaging
  /** A signal that arrived some other way than the server: handle it as if the server had delivered it. */
  receiveSignal(from: string, payload: JsonObject): void
  deliverGossip(message: GossipMessageEvent): void
  report(error: MeshscopeError): void
}

/**
 * The server says `peerId` left the room: its key is forgotten and an attempt still connecting is
 * abandoned, but an open link stays — the link, not the server, says who is here.
 */
export function forgetMember(parts: { roster: Roster; links: Pick<LinkTable, 'abandon'> }, peerId: string): void {
  parts.roster.delete(peerId)
  parts.links.abandon(peerId)
}
