/** Every limit and timing of the signaling server in one place, with the defaults documented in docs/protocol.md. */
import { SIGNALING_LIMITS } from '../src/signaling/protocol.js'

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
   * One line per refused client and per lifecycle event. Pass `() => {}` to silence.
   * @default console.log
   */
  log?: (line: string) => void
}

export type ResolvedServerOptions = Required<SignalingServerOptions>

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
    maxStrikes: options.maxStrikes ?? 10,
    helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
    pingIntervalMs: options.pingIntervalMs ?? 30_000,
    log: options.log ?? ((line) => console.log(line)),
  }
  for (const key of [
    'maxPayloadBytes',
    'maxRoomSize',
    'maxRooms',
    'maxScampRoomSize',
    'rateLimitBurst',
    'rateLimitPerSecond',
    'maxStrikes',
    'helloTimeoutMs',
    'pingIntervalMs',
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
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) throw new RangeError(`port must be 0..65535, got ${resolved.port}`)
  return resolved
}
