/**
 * The types of the mesh's public surface (events, leave reasons, state, the gossip API). They live
 * apart from the facade (mesh.ts, which re-exports them) so its parts — the link table, the
 * topologies — can name them without importing the facade.
 */
import type { MeshscopeError } from '../errors.js'
import type { ScampMetrics } from '../gossip/index.js'
import type { SignalingState } from '../signaling/client.js'
import type { GossipMessageEvent } from './scamp-driver.js'

export type PeerLeaveReason =
  /** The peer closed its mesh and said goodbye. */
  | 'goodbye'
  /** The link was closed (by the other side, without a goodbye: a closed tab). */
  | 'closed'
  /** Nothing was heard from the peer for `peerTimeoutMs` (a killed process, a lost network). */
  | 'timeout'
  /** The connection failed. */
  | 'failed'
  /** The peer opened a new connection that replaced this one. */
  | 'replaced'

export type MeshEvents = {
  'peer:join': [peerId: string]
  'peer:leave': [peerId: string, reason: PeerLeaveReason]
  /** The signaling connection changed state; the mesh itself goes on either way. */
  signaling: [state: SignalingState]
  /** Something a peer or the server sent was refused. Informational: the mesh goes on. */
  error: [error: MeshscopeError]
  /** A gossip message (scamp topology) reached this peer for the first time. */
  gossip: [message: GossipMessageEvent]
}

/** Gossip over SCAMP (the `scamp` topology). */
export interface MeshGossip {
  /** Sends `value` (anything the codec carries but channel halves and functions) to every member; returns its id. */
  publish(value: unknown): string
  /** Peers this one gossips to (holds the subscriptions of). */
  partialView(): string[]
  /** Peers that hold this one's subscription. */
  inView(): string[]
  metrics(): ScampMetrics
}

export type MeshState = 'open' | 'closing' | 'closed'
