/** Every limit and timing of the signaling server in one place, with the defaults documented in docs/protocol.md. */
import { SIGNALING_LIMITS, type Topology } from '../src/signaling/protocol.js'
import type { AttestationOptions } from './attestation.js'
import type { SignalingAuth } from './auth.js'
import type { SharedRoomsOptions } from './redis-rooms.js'

/**
 * Which topology a room runs: one for every room, or decided per room name (e.g. by prefix). A hello
 * asking another is refused with TOPOLOGY_MISMATCH.
 */
export type RoomTopologyPolicy = Topology | ((room: string) => Topology)

/** Which page origins may open sockets: a list of exact origins (`https://app.example`), or a predicate. */
export type OriginPolicy = readonly string[] | ((origin: string | undefined) => boolean)

export interface SignalingServerOptions {
  /**
   * TCP port; 0 picks a free one (read it back with `address()`).
   * @default 8787
   */
  port?: number
  /**
   * Interface to bind.
   * @default '127.0.0.1'
   */
  host?: string
  /**
   * Largest WebSocket message accepted; bigger ones close the socket with 1009.
   * @default 64 * 1024
   */
  maxPayloadBytes?: number
  /**
   * Most peers in one room; at most 449 (`SIGNALING_LIMITS.maxPeersInWelcome + 1`): a welcome lists every other peer in one frame.
   * @default 64
   */
  maxRoomSize?: number
  /**
   * Most rooms at once.
   * @default 10_000
   */
  maxRooms?: number
  /**
   * Most peers in one `scamp` room (its welcome names one contact, so it is not bound by the frame size).
   * @default 10_000
   */
  maxScampRoomSize?: number
  /**
   * Per-socket burst of messages.
   * @default 200
   */
  rateLimitBurst?: number
  /**
   * Per-socket sustained messages per second.
   * @default 50
   */
  rateLimitPerSecond?: number
  /**
   * Burst of messages shared by all the sockets of one client address (see `maxSocketsPerIp`): more
   * sockets do not buy more messages. A link costs about 4.5 signals (offer, answer, a batch of ICE
   * candidates each way): twelve peers behind one address that join at once send about 300; raise it
   * for a NAT with more members joining at once.
   * @default 1_000
   */
  rateLimitPerIpBurst?: number
  /**
   * Sustained messages per second shared by all the sockets of one client address.
   * @default 250
   */
  rateLimitPerIpPerSecond?: number
  /**
   * Bytes of messages (as received) one client address may send in a burst, all its sockets together:
   * large messages do not buy more of the server's reading and parsing than small ones. A signaling
   * join costs a few KiB per peer linked to; raise it for a NAT with many members joining at once.
   * @default 1024 * 1024
   */
  bytesPerIpBurst?: number
  /**
   * Sustained bytes per second one client address may send, all its sockets together.
   * @default 256 * 1024
   */
  bytesPerIpPerSecond?: number
  /**
   * Refused messages (bad input, rate limit) a socket may cause before it is closed with 1008.
   * @default 10
   */
  maxStrikes?: number
  /**
   * Time a new socket has to send a valid hello.
   * @default 10_000
   */
  helloTimeoutMs?: number
  /**
   * Interval of WebSocket pings; a socket that has not answered the previous ping is terminated.
   * @default 30_000
   */
  pingIntervalMs?: number
  /**
   * Most sockets open at once, from everyone. Over it an upgrade is answered 503 without a WebSocket.
   * @default 10_000
   */
  maxSockets?: number
  /**
   * Most sockets open at once from one client address (an IPv6 address counts by its /64). Over it an
   * upgrade is answered 429. Leave room for a NAT with many tabs behind it.
   * @default 64
   */
  maxSocketsPerIp?: number
  /**
   * Most sockets, from everyone, that have not yet completed their hello (a socket counts until its
   * welcome). Over it an upgrade is answered 503.
   * @default 1_024
   */
  maxPendingHellos?: number
  /**
   * Most sockets from one client address that have not yet completed their hello. Over it an upgrade
   * is answered 429.
   * @default 16
   */
  maxPendingHellosPerIp?: number
  /**
   * Bytes a socket may have waiting to be sent; a member over it when the server sends to it is cut
   * (the socket is terminated and its room hears peer-left): a peer that does not read cannot make
   * the server buffer for it.
   * @default 1024 * 1024
   */
  maxBufferedBytesPerSocket?: number
  /**
   * Which page origins may open sockets (checked at the upgrade, refused with 403). Absent: any
   * origin. A public deployment should set it, so that no other web page can use its visitors'
   * browsers against the server. With a list, requests without an `Origin` header (not browsers) are
   * let in; a predicate sees `undefined` for them and decides.
   * @default undefined (any origin)
   */
  allowedOrigins?: OriginPolicy
  /**
   * The topology each room runs, decided by the server rather than by the room's first member.
   * Absent: each hello's topology names its own room, so a `full` room and a `scamp` room of the
   * same name are different rooms and nobody can squat a name for the other topology.
   * @default undefined (the topology is part of the room's identity)
   */
  roomTopology?: RoomTopologyPolicy
  /**
   * Who may join which room: a JWT verifier configuration (`{ secret }` for HS256, `{ publicKeys }`
   * or `{ jwks }` for RS256/ES256; `issuer`, `audience`, `clockToleranceSeconds`) or a function
   * `(token, room, peerId) → grant | refusal`. Absent: anyone may join any room (no token is asked
   * for, and peers have no principal). See docs/protocol.md, "Token-authorised rooms".
   * @default undefined (no auth)
   */
  auth?: SignalingAuth
  /**
   * Principal attestations, on a server with `auth`: the ES256 signing key (share it between
   * instances), their lifetime and the claims passed on. See docs/protocol.md, "Principal attestations".
   * @default a key generated per process, 300 s, no claims beyond `sub`
   */
  attestation?: AttestationOptions
  /**
   * Share rooms with every other instance that uses the same Redis (and key prefix): a Redis URL, or
   * the URL with the key prefix and the presence time-to-live. Needs the `ioredis` package. Absent:
   * rooms live in this process only.
   * @default undefined (rooms in memory)
   */
  redis?: string | SharedRoomsOptions
  /**
   * One line per refused client and per lifecycle event. Pass `() => {}` to silence.
   * @default console.log
   */
  log?: (line: string) => void
}

type OptionalServerOptions = 'allowedOrigins' | 'roomTopology' | 'auth' | 'attestation'

export type ResolvedServerOptions = Required<Omit<SignalingServerOptions, OptionalServerOptions | 'redis'>> &
  Pick<SignalingServerOptions, OptionalServerOptions> & { redis?: SharedRoomsOptions }

export function resolveServerOptions(options: SignalingServerOptions): ResolvedServerOptions {
  const resolved: ResolvedServerOptions = {
    port: options.port ?? 8787,
    host: options.host ?? '127.0.0.1',
    maxPayloadBytes: options.maxPayloadBytes ?? SIGNALING_LIMITS.maxMessageBytes,
    maxRoomSize: options.maxRoomSize ?? 64,
    maxRooms: options.maxRooms ?? 10_000,
    maxScampRoomSize: options.maxScampRoomSize ?? 10_000,
    rateLimitBurst: options.rateLimitBurst ?? 200,
    rateLimitPerSecond: options.rateLimitPerSecond ?? 50,
    rateLimitPerIpBurst: options.rateLimitPerIpBurst ?? 1_000,
    rateLimitPerIpPerSecond: options.rateLimitPerIpPerSecond ?? 250,
    bytesPerIpBurst: options.bytesPerIpBurst ?? 1024 * 1024,
    bytesPerIpPerSecond: options.bytesPerIpPerSecond ?? 256 * 1024,
    maxStrikes: options.maxStrikes ?? 10,
    helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
    pingIntervalMs: options.pingIntervalMs ?? 30_000,
    maxSockets: options.maxSockets ?? 10_000,
    maxSocketsPerIp: options.maxSocketsPerIp ?? 64,
    maxPendingHellos: options.maxPendingHellos ?? 1_024,
    maxPendingHellosPerIp: options.maxPendingHellosPerIp ?? 16,
    maxBufferedBytesPerSocket: options.maxBufferedBytesPerSocket ?? 1024 * 1024,
    allowedOrigins: options.allowedOrigins,
    roomTopology: options.roomTopology,
    auth: options.auth,
    attestation: options.attestation,
    ...(options.redis === undefined ? {} : { redis: typeof options.redis === 'string' ? { url: options.redis } : options.redis }),
    log: options.log ?? ((line) => console.log(line)),
  }
  for (const key of [
    'maxPayloadBytes',
    'maxRoomSize',
    'maxRooms',
    'maxScampRoomSize',
    'rateLimitBurst',
    'rateLimitPerSecond',
    'rateLimitPerIpBurst',
    'rateLimitPerIpPerSecond',
    'bytesPerIpBurst',
    'bytesPerIpPerSecond',
    'maxStrikes',
    'helloTimeoutMs',
    'pingIntervalMs',
    'maxSockets',
    'maxSocketsPerIp',
    'maxPendingHellos',
    'maxPendingHellosPerIp',
    'maxBufferedBytesPerSocket',
  ] as const) {
    const value = resolved[key]
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`signaling server option ${key} must be a positive number, got ${value}`)
  }
  // A bigger room would send welcomes over the clients' frame limit: the client drops them and never joins.
  if (resolved.maxRoomSize > SIGNALING_LIMITS.maxPeersInWelcome + 1) {
    throw new RangeError(
      `maxRoomSize must be at most ${SIGNALING_LIMITS.maxPeersInWelcome + 1} (a welcome lists every other peer in one frame), got ${resolved.maxRoomSize}`,
    )
  }
  const { allowedOrigins, roomTopology } = resolved
  if (
    allowedOrigins !== undefined &&
    typeof allowedOrigins !== 'function' &&
    !(Array.isArray(allowedOrigins) && allowedOrigins.every((o) => typeof o === 'string'))
  )
    throw new TypeError('allowedOrigins must be a list of origins or a function')
  if (roomTopology !== undefined && typeof roomTopology !== 'function' && roomTopology !== 'full' && roomTopology !== 'scamp')
    throw new TypeError(`roomTopology must be "full", "scamp" or a function of the room name, got ${String(roomTopology)}`)
  if (resolved.redis !== undefined && (typeof resolved.redis.url !== 'string' || !/^rediss?:\/\//.test(resolved.redis.url)))
    throw new TypeError('redis must be a redis:// or rediss:// URL, or options with one')
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) throw new RangeError(`port must be 0..65535, got ${resolved.port}`)
  return resolved
}
