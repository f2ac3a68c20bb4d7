/**
 * Rooms shared by several signaling server instances through Redis: membership with expiring
 * presence (redis-scripts.ts), and pub/sub relays to the instance holding a peer
 * (redis-relay-messages.ts). The server keeps its own sockets and its local view of each room; this
 * class is what it asks when a peer may be held elsewhere.
 *
 * One channel per instance, not per room: a signal (most of the traffic, about 4.5 per link) reaches
 * exactly the one instance holding its target, an instance subscribes once whatever its number of
 * rooms (no SUBSCRIBE churn as rooms come and go), and a join or leave of a full room is published
 * to the few instances that hold its members, which the membership hash names.
 *
 * Presence: each instance refreshes the peers it holds every `presenceTtlMs / 3`; a member whose
 * presence lapsed is removed by the next script that touches its room (a join, or any live instance's
 * heartbeat), which announces its leave. An instance that crashes stops refreshing, so its peers leave
 * the room for everyone within `presenceTtlMs + presenceTtlMs / 3` (`leaveBoundMs`).
 *
 * ioredis is imported on first use, so that the browser bundle and servers without Redis never load it.
 */
import type { Redis } from 'ioredis'
import { MeshscopeError } from '../src/errors.js'
import { isPeerId, SIGNALING_LIMITS, type PeerInfo } from '../src/signaling/protocol.js'
import { randomBase64Url } from '../src/util/bytes.js'
import { CONTACT_SCRIPT, HEARTBEAT_SCRIPT, JOIN_SCRIPT, LEAVE_SCRIPT, RELAY_SCRIPT, TAKE_TOKENS_SCRIPT } from './redis-scripts.js'
import { encodeRelay, isToken, parseRelay, type RelayMessage } from './redis-relay-messages.js'

/** How a server reaches Redis to share its rooms with other instances. */
export interface SharedRoomsOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string
  /**
   * Prefix of every key and channel: instances with the same prefix share rooms.
   * @default 'meshscope:'
   */
  keyPrefix?: string
  /**
   * How long a peer's presence lasts without a refresh from its instance. The instance refreshes every
   * third of it; the peers of an instance that crashed leave the room for everyone within 4/3 of it.
   * @default 15_000
   */
  presenceTtlMs?: number
}

/** Who holds a peer: the instance, the socket (its session token) and the peer's public key. */
export interface Holder {
  instance: string
  session: string
  publicKey: string
}

/** A peer held by this instance, as the heartbeat refreshes it. */
export interface HeldPeer {
  roomKey: string
  id: string
  session: string
  publicKey: string
}

/** What the server is told by the shared rooms: relays for its peers, and peers lapsed or taken over. */
export interface SharedRoomsEvents {
  /** A relay message from another instance, parsed and checked. */
  relay(relay: RelayMessage): void
  /** Members of a room removed because their presence lapsed (for a full room: tell the local members). */
  lapsed(roomKey: string, ids: readonly string[]): void
  /** Peers this instance holds whose id another socket took over (a missed `replaced` relay). */
  taken(roomKey: string, ids: readonly string[]): void
  /** Peers this instance holds that are no longer members (their presence lapsed): they must rejoin. */
  gone(roomKey: string, ids: readonly string[]): void
  /** The peers this instance holds, for the heartbeat. */
  held(): Iterable<HeldPeer>
  log(line: string): void
}

export interface SharedJoin {
  status: 'joined' | 'replaced' | 'full'
  /** Who held the id before (a reconnection), when it was another socket. */
  previous?: Holder
  /** Members removed because their presence lapsed: announce their leave. */
  lapsed: string[]
  /** Full rooms: every other member; scamp rooms: at most one random other member. */
  listing: PeerInfo[]
  /** Other instances holding members of the room (to tell of the join). */
  instances: string[]
}

const HOLDER_PUBLIC_KEY = /^[A-Za-z0-9_-]{87}$/

/** Parses a holder read from Redis; undefined for anything malformed. */
export function parseHolder(text: unknown): Holder | undefined {
  if (typeof text !== 'string' || text.length > 256) return undefined
  const [instance, session, publicKey, ...rest] = text.split(' ')
  if (rest.length > 0 || !isToken(instance) || !isToken(session) || !publicKey || !HOLDER_PUBLIC_KEY.test(publicKey)) return undefined
  return { instance, session, publicKey }
}

export class RedisRooms {
  /** This instance's id: its channel is `<prefix>instance:<id>`. */
  readonly instance = randomBase64Url(12)
  readonly presenceTtlMs: number
  /** Relay messages refused as malformed, for monitoring and tests. */
  refusedRelays = 0
  readonly #prefix: string
  readonly #heartbeat: ReturnType<typeof setInterval>
  #closed = false

  private constructor(
    private readonly commands: Redis,
    private readonly subscriber: Redis,
    private readonly events: SharedRoomsEvents,
    private readonly maxRelayBytes: number,
    options: SharedRoomsOptions,
  ) {
    this.#prefix = options.keyPrefix ?? 'meshscope:'
    this.presenceTtlMs = options.presenceTtlMs ?? 15_000
    this.#heartbeat = setInterval(() => void this.#beat(), Math.max(1, Math.floor(this.presenceTtlMs / 3)))
    this.#heartbeat.unref?.()
  }

  /** The longest time a crashed instance's peers stay in their rooms for everyone else. */
  get leaveBoundMs(): number {
    return this.presenceTtlMs + Math.floor(this.presenceTtlMs / 3)
  }

  /** Connects (commands and a subscriber), subscribes to this instance's channel. */
  static async connect(options: SharedRoomsOptions, events: SharedRoomsEvents, maxRelayBytes: number): Promise<RedisRooms> {
    const presenceTtlMs = options.presenceTtlMs ?? 15_000
    if (!Number.isInteger(presenceTtlMs) || presenceTtlMs < 300)
      throw new MeshscopeError('INVALID_ARGUMENT', `presenceTtlMs must be an integer of at least 300 ms, got ${presenceTtlMs}`)
    const RedisClass = await importRedis()
    // Few retries per command: a join waits at most a few seconds for Redis, then is refused (and the
    // client tries another server) rather than hanging.
    const commands = new RedisClass(options.url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 5_000 })
    const subscriber = commands.duplicate()
    let lastError = ''
    for (const client of [commands, subscriber]) {
      // Without a listener ioredis reports every connection error as unhandled; one log line per new error.
      client.on('error', (error: Error) => {
        if (error.message !== lastError) events.log(`redis error ${error.message}`)
        lastError = error.message
      })
    }
    const rooms = new RedisRooms(commands, subscriber, events, maxRelayBytes, { ...options, presenceTtlMs })
    try {
      await Promise.all([commands.connect(), subscriber.connect()])
      subscriber.on('message', (_channel: string, text: string) => rooms.#receive(text))
      await subscriber.subscribe(rooms.#channel(rooms.instance))
    } catch (error) {
      await rooms.close()
      throw new MeshscopeError('SIGNALING_UNAVAILABLE', `cannot reach Redis at ${redactUrl(options.url)}: ${(error as Error).message}`, { cause: error })
    }
    return rooms
  }

  /** Admits `id` to a room atomically against `limit` (a reconnection of a member always fits). */
  async join(roomKey: string, id: string, session: string, publicKey: string, limit: number, listing: 'full' | 'scamp'): Promise<SharedJoin> {
    const [members, expiry] = this.#roomKeys(roomKey)
    const holder = `${this.instance} ${session} ${publicKey}`
    const reply = (await this.commands.eval(JOIN_SCRIPT, 2, members, expiry, id, holder, limit, this.presenceTtlMs, listing)) as unknown[]
    const [status, previous, lapsed, list, instances] = reply as [string, string, unknown[], unknown[], unknown[]]
    const result: SharedJoin = {
      status: status === 'full' ? 'full' : status === 'replaced' ? 'replaced' : 'joined',
      lapsed: this.#ids(lapsed),
      listing: [],
      instances: this.#others(instances),
    }
    const previousHolder = parseHolder(previous)
    if (previousHolder && !(previousHolder.instance === this.instance && previousHolder.session === session)) result.previous = previousHolder
    const pairs = Array.isArray(list) ? list.slice(0, 2 * SIGNALING_LIMITS.maxPeersInWelcome) : []
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const peer = this.#peer(pairs[i], pairs[i + 1])
      if (peer) result.listing.push(peer)
    }
    return result
  }

  /** Leaves, if this socket still holds the id; returns the other instances to tell (none when it did not). */
  async leave(roomKey: string, id: string, session: string, publicKey: string): Promise<{ removed: boolean; instances: string[] }> {
    const [members, expiry] = this.#roomKeys(roomKey)
    const [removed, instances] = (await this.commands.eval(LEAVE_SCRIPT, 2, members, expiry, id, `${this.instance} ${session} ${publicKey}`)) as [
      number,
      unknown[],
    ]
    return { removed: removed === 1, instances: this.#others(instances) }
  }

  /** Sends a signal to the instance holding `to`; false when no instance holds it. */
  async deliver(roomKey: string, to: string, message: RelayMessage & { kind: 'deliver' }): Promise<boolean> {
    const [members] = this.#roomKeys(roomKey)
    const receivers = await this.commands.eval(RELAY_SCRIPT, 1, members, to, this.#channel(''), encodeRelay(message))
    return Number(receivers) > 0
  }

  /** Publishes `relay` to each of `instances` (other than this one). */
  async publish(instances: readonly string[], relay: RelayMessage): Promise<void> {
    if (instances.length === 0) return
    const text = encodeRelay(relay)
    await Promise.all(instances.filter((instance) => instance !== this.instance).map((instance) => this.commands.publish(this.#channel(instance), text)))
  }

  /** A random member of the room other than `exceptId`, wherever it is held. */
  async contact(roomKey: string, exceptId: string): Promise<PeerInfo | undefined> {
    const [members] = this.#roomKeys(roomKey)
    const reply = (await this.commands.eval(CONTACT_SCRIPT, 1, members, exceptId)) as unknown[]
    return Array.isArray(reply) && reply.length === 2 ? this.#peer(reply[0], reply[1]) : undefined
  }

  /** Takes up to `want` tokens from the shared bucket `name` (capacity, refill per second); resolves with those granted. */
  async takeTokens(name: string, capacity: number, perSecond: number, want: number): Promise<number> {
    const granted = await this.commands.eval(TAKE_TOKENS_SCRIPT, 1, `${this.#prefix}rate:${name}`, capacity, perSecond, want)
    const count = Number(granted)
    return Number.isInteger(count) && count >= 0 && count <= want ? count : 0
  }

  /** Stops the heartbeat and disconnects. Idempotent. Peers not left stay until their presence lapses. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#heartbeat)
    await Promise.all([this.commands, this.subscriber].map((client) => client.quit().catch(() => client.disconnect())))
  }

  /** Refreshes the presence of every peer held here, room by room, and handles what lapsed or was lost. */
  async #beat(): Promise<void> {
    if (this.#closed) return
    const byRoom = new Map<string, (string | number)[]>()
    for (const peer of this.events.held()) {
      let args = byRoom.get(peer.roomKey)
      if (!args) byRoom.set(peer.roomKey, (args = [this.presenceTtlMs]))
      args.push(peer.id, `${this.instance} ${peer.session} ${peer.publicKey}`)
    }
    const pipeline = this.commands.pipeline()
    for (const [roomKey, args] of byRoom) pipeline.eval(HEARTBEAT_SCRIPT, 2, ...this.#roomKeys(roomKey), ...args)
    let replies: [Error | null, unknown][] | null
    try {
      replies = await pipeline.exec()
    } catch (error) {
      this.events.log(`redis heartbeat failed: ${(error as Error).message}`)
      return
    }
    let index = 0
    for (const roomKey of byRoom.keys()) {
      const [error, reply] = replies?.[index++] ?? [null, undefined]
      if (error || !Array.isArray(reply)) continue
      const [lapsed, instances, taken, gone] = reply as [unknown[], unknown[], unknown[], unknown[]]
      const lapsedIds = this.#ids(lapsed)
      if (lapsedIds.length > 0) this.#lapsed(roomKey, lapsedIds, this.#others(instances))
      const takenIds = this.#ids(taken)
      if (takenIds.length > 0) this.events.taken(roomKey, takenIds)
      const goneIds = this.#ids(gone)
      if (goneIds.length > 0) this.events.gone(roomKey, goneIds)
    }
  }

  /** Members found lapsed by this instance: tell the local members and the other instances (full rooms). */
  #lapsed(roomKey: string, ids: string[], instances: string[]): void {
    this.events.lapsed(roomKey, ids)
    if (!roomKey.startsWith('full/')) return
    for (const id of ids) void this.publish(instances, { kind: 'announce', room: roomKey, message: { type: 'peer-left', id } }).catch(() => {})
  }

  /** Announces members that a join found lapsed (the server calls it with the join's result). */
  announceLapsed(roomKey: string, join: SharedJoin): void {
    if (join.lapsed.length > 0) this.#lapsed(roomKey, join.lapsed, join.instances)
  }

  #receive(text: string): void {
    const parsed = parseRelay(text, this.maxRelayBytes)
    if (!parsed.ok) {
      this.refusedRelays++
      this.events.log(`refused relay code=BAD_MESSAGE ${parsed.reason}`)
      return
    }
    this.events.relay(parsed.relay)
  }

  #channel(instance: string): string {
    return `${this.#prefix}instance:${instance}`
  }

  #roomKeys(roomKey: string): [members: string, expiry: string] {
    return [`${this.#prefix}room:${roomKey}:members`, `${this.#prefix}room:${roomKey}:expiry`]
  }

  #ids(list: unknown): string[] {
    return Array.isArray(list) ? list.filter(isPeerId) : []
  }

  #others(list: unknown): string[] {
    return Array.isArray(list) ? list.filter((instance): instance is string => isToken(instance) && instance !== this.instance) : []
  }

  #peer(id: unknown, holderText: unknown): PeerInfo | undefined {
    const holder = parseHolder(holderText)
    if (!isPeerId(id) || !holder) {
      this.events.log(`refused redis member code=BAD_MESSAGE ${String(id).slice(0, 40)}`)
      return undefined
    }
    return { id, publicKey: holder.publicKey }
  }
}

async function importRedis(): Promise<typeof Redis> {
  try {
    const module = await import('ioredis')
    return module.Redis
  } catch (cause) {
    throw new MeshscopeError('PLATFORM_MISSING', 'sharing rooms through Redis needs the ioredis package: npm install ioredis', { cause })
  }
}

/** A Redis URL without its password, for log lines and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '<an invalid URL>'
  }
}
