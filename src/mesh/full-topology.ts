/**
 * The `full` topology (the default): a link to every member of the room, fine up to a few dozen
 * peers. The signaling server's roster names the members. For every pair the lower id creates the
 * offer and an offer from the higher id is refused, so offers never collide and no
 * perfect-negotiation rollback is needed. A lost link is re-formed by the lower id after a per-peer
 * backoff while the peer is still in the room. Signals have no other way than the server: while it
 * is away, attempts time out and are retried once it is back.
 */
import type { JsonObject, PeerInfo, WelcomeMessage } from '../signaling/protocol.js'
import type { LinkTable } from './link-table.js'
import type { Roster } from './roster.js'
import { forgetMember, type TopologyPolicy } from './topology.js'

export interface FullTopologyParts {
  readonly selfId: string
  readonly roster: Roster
  readonly links: Pick<LinkTable, 'ensure' | 'isRetrying' | 'scheduleRetry' | 'abandon'>
}

export class FullTopology implements TopologyPolicy {
  readonly linksOnDemand = false
  readonly signalsCarryKey = false
  readonly gossip = undefined

  constructor(private readonly parts: FullTopologyParts) {}

  /** Whether this peer starts the link to `peer`: the lower id does. */
  initiatesTo(peer: string): boolean {
    return this.parts.selfId < peer
  }

  acceptsOfferFrom(from: string): boolean {
    return from < this.parts.selfId
  }

  signalWithoutServer(_to: string, _payload: JsonObject): boolean {
    return false
  }

  keepsIdleLink(): boolean {
    return true
  }

  welcome(welcome: WelcomeMessage): void {
    this.parts.roster.clear()
    for (const peer of welcome.peers) this.parts.roster.add(peer)
    this.#connectToRoster()
  }

  peerJoined(peer: PeerInfo): void {
    this.parts.roster.add(peer)
    this.#connectToRoster()
  }

  peerLeft(peerId: string): void {
    forgetMember(this.parts, peerId)
  }

  linkJoined(): void {}

  /** The initiating side re-forms a lost link after a backoff, if the peer is still in the room then. */
  linkLost(peer: string): void {
    if (this.initiatesTo(peer)) this.parts.links.scheduleRetry(peer, () => this.#connectToRoster())
  }

  /** Starts a link to every roster member this peer initiates to and has none with (nor a retry planned). */
  #connectToRoster(): void {
    for (const peerId of this.parts.roster.ids()) {
      if (this.initiatesTo(peerId) && !this.parts.links.isRetrying(peerId)) this.parts.links.ensure(peerId)
    }
  }
}
