/**
 * Options of `Mesh.join`, with every default in one place (`MESH_DEFAULTS`, documented in README
 * and docs/architecture.md) and checked once, here, before anything starts.
 */
import { resolveObjectLimits, type ObjectLimits } from '../objects/limits.js'
import { resolveChannelLimits, type ChannelLimits } from '../channels/limits.js'
import { resolveCodecLimits, type CodecLimits } from '../codec/limits.js'
import { MeshscopeError } from '../errors.js'
import type { ScampConfig } from '../gossip/config.js'
import { Identity } from '../identity/identity.js'
import type { TokenSource } from '../signaling/token-keeper.js'
import { DEFAULT_CALL_TIMEOUT_MS, isTimeoutMs } from '../rpc/call.js'
import { DEFAULT_MAX_REQUESTS_IN_FLIGHT } from '../rpc/request-slots.js'
import { resolveServeLimits, type ServeLimits } from '../rpc/serve-limits.js'
import { ALLOW_ROOM_MEMBERS, type HopPolicy } from '../scope/registry.js'
import { DEFAULT_MUX_CONFIG, type MuxConfig, resolveMuxConfig } from '../mux/config.js'
import { MAX_SIGNALING_SERVERS } from '../signaling/failover.js'
import { isRoomName, type Topology } from '../signaling/protocol.js'
import { DEFAULT_HIGH_WATER_MARK_BYTES } from '../transport/link.js'
import { resolvePlatform, type Platform } from './platform.js'

export interface MeshJoinOptions {
  /**
   * The signaling server, e.g. `ws://127.0.0.1:8787`, or several that share rooms (through Redis): the
   * mesh uses the first and fails over to the next when its server goes away, keeping its id.
   */
  signaling: string | readonly string[]
  /** Room name: 1..64 characters of A-Z a-z 0-9 . _ - */
  room: string
  /**
   * How the room links up. `full`: a link to every member, fine up to a few dozen peers.
   * `scamp`: links only to the SCAMP partial view and in-view (about (c+1)·ln n peers), other links
   * opened on demand and closed when idle; membership and `mesh.gossip` over SCAMP. The room's first
   * member decides; joining with the other one fails with SIGNALING_REFUSED (TOPOLOGY_MISMATCH).
   * @default 'full'
   */
  topology?: Topology
  /**
   * SCAMP parameters for the `scamp` topology (src/gossip/config.ts); unset ones keep SCAMP's defaults.
   * @default `{}` (every SCAMP default)
   */
  gossip?: Partial<ScampConfig>
  /**
   * An on-demand link (scamp topology) with no stream open for this long closes.
   * @default 30_000
   */
  idleLinkMs?: number
  /**
   * Who this peer is.
   * @default a fresh ephemeral identity (`Identity.generate()`)
   */
  identity?: Identity
  /**
   * STUN/TURN servers. None means host candidates only, fine on one machine or one LAN.
   * @default []
   */
  iceServers?: RTCIceServer[]
  /**
   * RTCPeerConnection and WebSocket, when the globals (or `meshscope/node`) should not be used.
   * @default the installed platform (`meshscope/node`), else the globals
   */
  platform?: Partial<Platform>
  /** Aborts joining. */
  signal?: AbortSignal
  /**
   * Joining fails with TIMEOUT if the server has not welcomed us by then.
   * @default 10_000
   */
  joinTimeoutMs?: number
  /**
   * How often a heartbeat goes to each peer.
   * @default 1_000
   */
  heartbeatIntervalMs?: number
  /**
   * A peer not heard from for this long is gone. Must be longer than `heartbeatIntervalMs`.
   * @default 5_000
   */
  peerTimeoutMs?: number
  /**
   * A link that has not opened by then is abandoned and retried.
   * @default 15_000
   */
  connectTimeoutMs?: number
  /**
   * How long a call, a hop or a send waits for the peer's answer unless its own `timeout` says
   * otherwise; then it rejects with TIMEOUT (and its stream is reset). `Infinity`: as long as the
   * peer is there.
   * @default 30_000
   */
  callTimeoutMs?: number
  /**
   * Requests (calls, hops, sends, remote function and method calls) this peer has in flight to one
   * peer at once. More wait here for a slot, in order, their timeout running — rather than being
   * refused by the peer (TOO_MANY_STREAMS), which admits only so many streams at once: 256 with
   * the default `limits.mux`, one of them this peer's call stream. Lower it to match a peer that admits fewer.
   * @default 255
   */
  maxRequestsInFlight?: number
  /**
   * Links open or connecting at once. An offer past it is refused (TOO_MANY_LINKS on the `error`
   * event; the offerer gets a signed refusal, and its send or call that waited for the link rejects
   * with PEER_BUSY), a call or send that would open one rejects with TOO_MANY_LINKS: each link is an
   * RTCPeerConnection (Chromium refuses more than about 500 per tab), and any identity that signs an
   * offer would otherwise get one.
   * @default 256
   */
  maxLinks?: number
  /**
   * Memory all peers together may make this one hold (the whole mesh's budget, beside each peer's
   * `limits.mux.maxInboundBytes`): received data not yet read, credit granted, channel buffers and
   * requests in service, summed over every peer (src/mux/shared-budget.ts). When it is full, new
   * streams are refused (TOO_MANY_STREAMS) and credit is withheld, as for one peer's budget.
   * @default 256 MiB
   */
  maxInboundBytes?: number
  /**
   * Who may run a hop block that has no `allow` of its own, on this peer: a predicate on the caller's
   * verified id and the block's id (a throw counts as no; refused hops fail with HOP_REFUSED). Every
   * peer serves every registered block, with the captures the caller chose, so a mesh open to
   * strangers should say who may — and a block should check what it is asked to do.
   * @default ALLOW_ROOM_MEMBERS (every member of the room)
   */
  hopPolicy?: HopPolicy
  /**
   * The token for a signaling server with `auth` (docs/protocol.md, "Token-authorised rooms"): a
   * string, or a function returning a fresh one — called at every (re)connect and, before the
   * server's expiry, for an automatic refresh (`mesh.refreshToken()` does it by hand).
   * @default undefined (no token: rooms without auth only)
   */
  token?: TokenSource
  /**
   * The public keys (JWKs, ES256) whose principal attestations this peer accepts from other peers.
   * When given, they win over the key the server names in its welcome — so a peer that does not
   * trust its signaling server's word about keys pins them here.
   * @default undefined (the key from the server's welcome)
   */
  trustedKeys?: JsonWebKey[]
  /**
   * Bytes a link may buffer before `send` waits.
   * @default 262_144 (256 KiB)
   */
  highWaterMarkBytes?: number
  /**
   * Send error stacks to peers with remote errors. Off by default: stacks show local file paths.
   * @default false
   */
  exposeErrorStacks?: boolean
  /**
   * What each peer may make this one hold — this side's choice, whatever the peer asks for
   * (docs/architecture.md, "Resource budgets"). Unset fields keep each layer's defaults:
   * `mux` (src/mux/config.ts: streams, windows, the inbound memory budget, the control queue;
   * `keepaliveIntervalMs`/`idleTimeoutMs` come from `heartbeatIntervalMs`/`peerTimeoutMs`),
   * `codec` (src/codec/limits.ts: sizes, depth, element counts of a decoded value), `channels`
   * (src/channels/limits.ts: the buffers of received channel halves), `serve`
   * (src/rpc/serve-limits.ts: how long a request may take to arrive, how many calls are served at once) and `objects`
   * (src/objects/limits.ts: remote objects per connection, the largest lazy blob fetched, pending fetches).
   * @default `{}` (every layer's defaults)
   */
  limits?: PeerLimits
}

/** Per-peer limits, by layer (`MeshJoinOptions.limits`). */
export interface PeerLimits {
  mux?: Partial<Omit<MuxConfig, 'keepaliveIntervalMs' | 'idleTimeoutMs'>>
  codec?: Partial<CodecLimits>
  channels?: Partial<ChannelLimits>
  /** Serving the peer's requests (src/rpc/serve-limits.ts: how long a request may take to arrive, how many of its calls are served at once). */
  serve?: Partial<ServeLimits>
  /** Remote objects crossing the link (src/objects/limits.ts: objects per connection, blob size, pending fetches). */
  objects?: Partial<ObjectLimits>
}

/** The default of every `MeshJoinOptions` field that has a constant one. */
export const MESH_DEFAULTS = {
  topology: 'full',
  gossip: {},
  idleLinkMs: 30_000,
  iceServers: [],
  joinTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  peerTimeoutMs: 5_000,
  connectTimeoutMs: 15_000,
  callTimeoutMs: DEFAULT_CALL_TIMEOUT_MS,
  maxRequestsInFlight: DEFAULT_MAX_REQUESTS_IN_FLIGHT,
  maxLinks: 256,
  maxInboundBytes: 256 * 1024 * 1024,
  hopPolicy: ALLOW_ROOM_MEMBERS,
  highWaterMarkBytes: DEFAULT_HIGH_WATER_MARK_BYTES,
  exposeErrorStacks: false,
  limits: {},
} as const satisfies Partial<MeshJoinOptions>

/** `MeshJoinOptions` with every default filled in and every value checked. */
export interface ResolvedMeshOptions extends Required<Omit<MeshJoinOptions, 'signal' | 'platform' | 'gossip' | 'iceServers' | 'token' | 'trustedKeys'>> {
  signal?: AbortSignal
  token?: TokenSource
  trustedKeys?: JsonWebKey[]
  platform: Platform
  gossip: Partial<ScampConfig>
  iceServers: RTCIceServer[]
}

/**
 * Checks `options` (INVALID_ARGUMENT for a bad URL, room, topology, duration or size) and fills in
 * the defaults. The identity is generated last, only once everything else was accepted.
 */
export async function resolveMeshOptions(options: MeshJoinOptions): Promise<ResolvedMeshOptions> {
  const checked = checkMeshOptions(options)
  return { ...checked, identity: options.identity ?? (await Identity.generate()) }
}

/**
 * `resolveMeshOptions` without the identity: throws INVALID_ARGUMENT at once, so `Mesh.join` can
 * open its socket while the identity is generated.
 */
export function checkMeshOptions(options: MeshJoinOptions): Omit<ResolvedMeshOptions, 'identity'> {
  const servers = typeof options.signaling === 'string' ? [options.signaling] : options.signaling
  if (!Array.isArray(servers) || servers.length === 0 || servers.length > MAX_SIGNALING_SERVERS)
    throw new MeshscopeError('INVALID_ARGUMENT', `signaling must be a ws:// or wss:// URL or a list of 1..${MAX_SIGNALING_SERVERS} of them`)
  for (const url of servers) {
    if (typeof url !== 'string' || !/^wss?:\/\//.test(url))
      throw new MeshscopeError('INVALID_ARGUMENT', `signaling must be a ws:// or wss:// URL, got ${String(url)}`)
  }
  if (!isRoomName(options.room)) throw new MeshscopeError('INVALID_ARGUMENT', 'room must be 1..64 characters of A-Z a-z 0-9 . _ -')
  const topology = options.topology ?? MESH_DEFAULTS.topology
  if (topology !== 'full' && topology !== 'scamp') throw new MeshscopeError('INVALID_ARGUMENT', `topology must be "full" or "scamp", got ${String(topology)}`)
  const timings = {
    joinTimeoutMs: options.joinTimeoutMs ?? MESH_DEFAULTS.joinTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? MESH_DEFAULTS.heartbeatIntervalMs,
    peerTimeoutMs: options.peerTimeoutMs ?? MESH_DEFAULTS.peerTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? MESH_DEFAULTS.connectTimeoutMs,
  }
  for (const [name, value] of Object.entries(timings)) {
    if (!Number.isFinite(value) || value <= 0) throw new MeshscopeError('INVALID_ARGUMENT', `${name} must be a positive number of milliseconds`)
  }
  if (timings.peerTimeoutMs <= timings.heartbeatIntervalMs) {
    throw new MeshscopeError('INVALID_ARGUMENT', 'peerTimeoutMs must be longer than heartbeatIntervalMs')
  }
  const idleLinkMs = options.idleLinkMs ?? MESH_DEFAULTS.idleLinkMs
  if (!Number.isFinite(idleLinkMs) || idleLinkMs < 0) throw new MeshscopeError('INVALID_ARGUMENT', 'idleLinkMs must be a number of milliseconds, 0 or more')
  const highWaterMarkBytes = options.highWaterMarkBytes ?? MESH_DEFAULTS.highWaterMarkBytes
  if (!Number.isFinite(highWaterMarkBytes) || highWaterMarkBytes <= 0)
    throw new MeshscopeError('INVALID_ARGUMENT', 'highWaterMarkBytes must be a positive number of bytes')
  const callTimeoutMs = options.callTimeoutMs ?? MESH_DEFAULTS.callTimeoutMs
  if (!isTimeoutMs(callTimeoutMs)) throw new MeshscopeError('INVALID_ARGUMENT', 'callTimeoutMs must be a positive number of milliseconds, or Infinity')
  const maxRequestsInFlight = options.maxRequestsInFlight ?? MESH_DEFAULTS.maxRequestsInFlight
  if (!Number.isSafeInteger(maxRequestsInFlight) || maxRequestsInFlight < 1)
    throw new MeshscopeError('INVALID_ARGUMENT', 'maxRequestsInFlight must be a positive integer')
  const maxInboundBytes = options.maxInboundBytes ?? MESH_DEFAULTS.maxInboundBytes
  if (!Number.isSafeInteger(maxInboundBytes) || maxInboundBytes < DEFAULT_MUX_CONFIG.maxWindowBytes)
    throw new MeshscopeError('INVALID_ARGUMENT', `maxInboundBytes must be an integer of at least ${DEFAULT_MUX_CONFIG.maxWindowBytes} (one window)`)
  const maxLinks = options.maxLinks ?? MESH_DEFAULTS.maxLinks
  if (!Number.isSafeInteger(maxLinks) || maxLinks < 1) throw new MeshscopeError('INVALID_ARGUMENT', 'maxLinks must be a positive integer')
  if (options.hopPolicy !== undefined && typeof options.hopPolicy !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'hopPolicy must be a function')
  if (options.token !== undefined && typeof options.token !== 'string' && typeof options.token !== 'function')
    throw new MeshscopeError('INVALID_ARGUMENT', 'token must be a string or a function returning one')
  if (options.trustedKeys !== undefined && (!Array.isArray(options.trustedKeys) || options.trustedKeys.some((key) => typeof key !== 'object' || key === null)))
    throw new MeshscopeError('INVALID_ARGUMENT', 'trustedKeys must be a list of public JWKs')
  const limits: PeerLimits = options.limits ?? MESH_DEFAULTS.limits
  // Checked now, so a bad limit fails the join rather than every link later.
  resolveMuxConfig({ ...limits.mux, keepaliveIntervalMs: timings.heartbeatIntervalMs, idleTimeoutMs: timings.peerTimeoutMs })
  resolveCodecLimits(limits.codec)
  resolveChannelLimits(limits.channels)
  resolveServeLimits(limits.serve)
  resolveObjectLimits(limits.objects)
  const platform = resolvePlatform(options.platform)
  return {
    signaling: typeof options.signaling === 'string' ? options.signaling : [...servers],
    room: options.room,
    topology,
    gossip: options.gossip ?? MESH_DEFAULTS.gossip,
    idleLinkMs,
    iceServers: options.iceServers ?? [...MESH_DEFAULTS.iceServers],
    platform,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.token !== undefined && { token: options.token }),
    ...(options.trustedKeys !== undefined && { trustedKeys: options.trustedKeys }),
    ...timings,
    callTimeoutMs,
    maxRequestsInFlight,
    maxLinks,
    maxInboundBytes,
    hopPolicy: options.hopPolicy ?? MESH_DEFAULTS.hopPolicy,
    highWaterMarkBytes,
    exposeErrorStacks: options.exposeErrorStacks ?? MESH_DEFAULTS.exposeErrorStacks,
    limits,
  }
}
