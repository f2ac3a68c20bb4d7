/** Options of `Mesh.join`, with every default in one place (documented in README and docs/architecture.md). */
import { MeshscopeError } from '../errors.js'
import type { ScampConfig } from '../gossip/config.js'
import type { Identity } from '../identity/identity.js'
import { isRoomName, type Topology } from '../signaling/protocol.js'
import type { Platform } from './platform.js'

export interface MeshJoinOptions {
  /** The signaling server, e.g. `ws://127.0.0.1:8787`. */
  signaling: string
  /** Room name: 1..64 characters of A-Z a-z 0-9 . _ - */
  room: string
  /**
   * How the room links up. `full` (default): a link to every member, fine up to a few dozen peers.
   * `scamp`: links only to the SCAMP partial view and in-view (about (c+1)·ln n peers), other links
   * opened on demand and closed when idle; membership and `mesh.gossip` over SCAMP. The room's first
   * member decides; joining with the other one fails with SIGNALING_REFUSED (TOPOLOGY_MISMATCH).
   */
  topology?: Topology
  /** SCAMP parameters for the `scamp` topology (src/gossip/config.ts). */
  gossip?: Partial<ScampConfig>
  /** An on-demand link (scamp topology) with no stream open for this long closes. Default 30 000. */
  idleLinkMs?: number
  /** Who this peer is. Default: a fresh ephemeral identity. */
  identity?: Identity
  /** STUN/TURN servers. Default: none (host candidates only, fine on one machine or one LAN). */
  iceServers?: RTCIceServer[]
  /** RTCPeerConnection and WebSocket, when the globals (or `meshscope/node`) should not be used. */
  platform?: Partial<Platform>
  /** Aborts joining. */
  signal?: AbortSignal
  /** Joining fails with TIMEOUT if the server has not welcomed us by then. Default 10 000. */
  joinTimeoutMs?: number
  /** How often a heartbeat goes to each peer. Default 1 000. */
  heartbeatIntervalMs?: number
  /** A peer not heard from for this long is gone. Default 5 000. */
  peerTimeoutMs?: number
  /** A link that has not opened by then is abandoned and retried. Default 15 000. */
  connectTimeoutMs?: number
  /** Bytes a link may buffer before `send` waits. Default 256 KiB. */
  highWaterMarkBytes?: number
  /** Send error stacks to peers with remote errors. Default false: stacks show local file paths. */
  exposeErrorStacks?: boolean
}

export interface ResolvedMeshTimings {
  joinTimeoutMs: number
  heartbeatIntervalMs: number
  peerTimeoutMs: number
  connectTimeoutMs: number
}

export function resolveMeshTimings(options: MeshJoinOptions): ResolvedMeshTimings {
  if (typeof options.signaling !== 'string' || !/^wss?:\/\//.test(options.signaling)) {
    throw new MeshscopeError('INVALID_ARGUMENT', `signaling must be a ws:// or wss:// URL, got ${String(options.signaling)}`)
  }
  if (!isRoomName(options.room)) throw new MeshscopeError('INVALID_ARGUMENT', 'room must be 1..64 characters of A-Z a-z 0-9 . _ -')
  const timings = {
    joinTimeoutMs: options.joinTimeoutMs ?? 10_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1_000,
    peerTimeoutMs: options.peerTimeoutMs ?? 5_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
  }
  for (const [name, value] of Object.entries(timings)) {
    if (!Number.isFinite(value) || value <= 0) throw new MeshscopeError('INVALID_ARGUMENT', `${name} must be a positive number of milliseconds`)
  }
  if (timings.peerTimeoutMs <= timings.heartbeatIntervalMs) {
    throw new MeshscopeError('INVALID_ARGUMENT', 'peerTimeoutMs must be longer than heartbeatIntervalMs')
  }
  return timings
}
