/**
 * The signaling server: one `ws` process with rooms in memory. It proves each peer's id (a signature
 * over a nonce it sent), relays offers/answers/candidates only between peers of the same room with
 * `from` set from the proven id, and survives any input: bad messages get an error reply, repeated
 * abuse closes the socket, and every refused client costs one log line.
 *
 * Nothing a client does grows the server without bound: sockets are admitted at the HTTP upgrade
 * against global and per-address caps and a budget of sockets still owing their hello
 * (admission.ts); a member that does not read is cut once its outgoing buffer passes a cap; a room's
 * topology comes from the server's policy, not from its first member; contact picks are O(1) (room.ts).
 */
import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { importPublicKey, verifySignature } from '../src/identity/identity.js'
import type { ErrorCode } from '../src/errors.js'
import { joinBytes, randomBase64Url } from '../src/util/bytes.js'
import { TokenBucket } from '../src/util/token-bucket.js'
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  helloSigningText,
  parseClientMessage,
  type HelloMessage,
  type PeerInfo,
  type ServerMessage,
  type SignalRequest,
  type Topology,
} from '../src/signaling/protocol.js'
import { Admission, isRefusal, refuseUpgrade, type Admitted } from './admission.js'
import { resolveServerOptions, type ResolvedServerOptions, type SignalingServerOptions } from './options.js'
import { RedisRooms, redactUrl, type SharedJoin } from './redis-rooms.js'
import { RoomMembers } from './room.js'
import { SessionAuth, type AuthState } from './session-auth.js'
import { SharedAddressRate } from './shared-rate.js'
import { sharedRoomEvents } from './shared-room-events.js'

export interface SignalingServer {
  /** Resolves once the server listens and its auth keys are loaded; rejects if it cannot (port in use, a key that cannot be read…). */
  readonly ready: Promise<void>
  /** Where the server listens; `url` is the ws:// address clients connect to. */
  address(): { host: string; port: number; url: string }
  /**
   * Number of rooms, of joined peers and of sockets (each past its upgrade), and of sockets that have
   * not completed their hello, for monitoring and tests. With shared rooms (`redis`), also the number
   * of messages from other instances refused as malformed.
   */
  stats(): { rooms: number; peers: number; sockets: number; pendingHellos: number; refusedRelays?: number }
  /** Closes every socket with 1001 and stops listening. Idempotent. */
  close(): Promise<void>
}

interface ClientSession {
  socket: WebSocket
  remote: string
  admitted: Admitted
  nonce: string
  state: 'challenged' | 'verifying' | 'joined' | 'closed'
  peer?: PeerInfo
  /** The room's key in `rooms`: its topology and name. */
  roomKey?: string
  strikes: number
  bucket: TokenBucket
  answeredPing: boolean
  /** Over its rate limit: its socket is not read until a pause has passed. */
  throttled?: boolean
  /** Cut as a slow consumer: nothing more is sent to it; it leaves its room right after. */
  cut?: boolean
  helloTimer?: ReturnType<typeof setTimeout>
  /** Its token's principal and expiry, on a server with `auth` (session-auth.ts). */
  auth: AuthState
  /** Its id was taken over by a socket on another instance (shared rooms): it leaves without a word. */
  replacedElsewhere?: boolean
}

/** How long a socket over its rate limit is not read. */
const RATE_LIMITED_PAUSE_MS = 250

export function createSignalingServer(options: SignalingServerOptions = {}): SignalingServer {
  const config = resolveServerOptions(options)
  const log = (line: string) => config.log(`meshscope-signal ${line}`)
  /** Rooms by `roomKey(topology, name)`: with no topology policy, a full and a scamp room of one name are two rooms. */
  const rooms = new Map<string, RoomMembers<ClientSession>>()
  const sessions = new Set<ClientSession>()
  const admission = new Admission(config)
  const sessionAuth = new SessionAuth(config.auth, config.helloTimeoutMs, config.attestation)

  const httpServer = createHttpServer({
    // A connection that never finishes its request headers is dropped as one that never says hello would be.
    requestTimeout: config.helloTimeoutMs,
    headersTimeout: config.helloTimeoutMs,
    connectionsCheckingInterval: Math.min(config.helloTimeoutMs, 30_000),
  })
  // A hard cap on TCP connections, above the admitted sockets so that refusals still get their status line.
  httpServer.maxConnections = config.maxSockets + config.maxPendingHellos
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayloadBytes, perMessageDeflate: false, clientTracking: true })

  httpServer.on('request', (_request, response) => {
    response.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' }).end('a meshscope signaling server: connect with a WebSocket\n')
  })
  httpServer.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {}) // a reset before or during the handshake is not an event for the server
    const verdict = admission.admit(request, socket)
    if (isRefusal(verdict)) {
      log(`refused ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} status=${verdict.status} ${verdict.reason}`)
      refuseUpgrade(socket, verdict)
      return
    }
    if (shuttingDown) return void socket.destroy()
    wss.handleUpgrade(request, socket, head, (webSocket) => accept(webSocket, request, verdict))
  })

  /** Rooms shared with other instances through Redis (redis-rooms.ts), when configured. */
  let shared: RedisRooms | undefined
  /** The per-address budgets shared with the other instances (shared-rate.ts). */
  let sharedRate: SharedAddressRate | undefined
  /** Leaves still being written to Redis: close() waits for them before disconnecting. */
  const sharedLeaves = new Set<Promise<void>>()
  const sharing = config.redis
    ? RedisRooms.connect(
        config.redis,
        sharedRoomEvents({ rooms, send: (session, message) => send(session, message), close: (...args) => refuse(...args), log }),
        2 * config.maxPayloadBytes + 4096,
      ).then((connected) => {
        shared = connected
        sharedRate = new SharedAddressRate(connected, config)
        log(
          `sharing rooms through ${redactUrl(config.redis!.url)} as instance ${connected.instance}; a crashed instance's peers leave within ${connected.leaveBoundMs} ms`,
        )
      })
    : Promise.resolve()
  const listening = new Promise<void>((resolve, reject) => {
    httpServer.once('listening', resolve)
    httpServer.once('error', reject)
    httpServer.listen(config.port, config.host)
  })
  // Keys that cannot be loaded (a bad PEM, a missing JWKS file) fail start-up, not every join.
  const ready = Promise.all([listening, sessionAuth.ready, sharing]).then(() => {})
  // After start-up, a server-level error must not crash the process: report it and go on.
  ready.then(
    () => httpServer.on('error', (error) => log(`error ${error.message}`)),
    () => {},
  )

  const send = (session: ClientSession, message: ServerMessage) => {
    const socket = session.socket
    if (socket.readyState !== socket.OPEN || session.cut) return
    if (socket.bufferedAmount > config.maxBufferedBytesPerSocket) return cutSlowConsumer(session)
    socket.send(JSON.stringify(message))
  }

  /**
   * A member that does not read: terminate it (a close frame would queue behind what it does not read)
   * and let its room hear it left. Deferred, because it is found while sending to a room.
   */
  const cutSlowConsumer = (session: ClientSession) => {
    log(
      `cut ${session.remote}${session.peer ? ` peer=${session.peer.id}` : ''} close=${CLOSE_CODES.slowConsumer}: more than ${config.maxBufferedBytesPerSocket} bytes waiting to be sent`,
    )
    session.cut = true
    session.socket.terminate()
    queueMicrotask(() => leave(session))
  }

  const refuse = (session: ClientSession, closeCode: number, code: ErrorCode, reason: string) => {
    if (session.state === 'closed') return
    log(`refused ${session.remote}${session.peer ? ` peer=${session.peer.id}` : ''} code=${code} ${reason}`)
    send(session, { type: 'error', code, message: reason })
    // The close handshake needs the client's close frame read: a throttled socket is read again.
    session.socket.resume()
    session.socket.close(closeCode, code)
    leave(session)
  }

  /** Answers a bad message with an error; a socket that keeps sending them is closed. */
  const strike = (session: ClientSession, code: ErrorCode, reason: string) => {
    session.strikes++
    if (session.strikes > config.maxStrikes) {
      refuse(session, CLOSE_CODES.policyViolation, code, `too many bad messages (last: ${reason})`)
      return
    }
    send(session, { type: 'error', code, message: reason })
  }

  let shuttingDown = false
  const leave = (session: ClientSession) => {
    if (session.state === 'closed') return
    const wasJoined = session.state === 'joined'
    session.state = 'closed'
    clearTimeout(session.helloTimer)
    sessionAuth.release(session.auth)
    sessions.delete(session)
    if (!wasJoined || !session.roomKey || !session.peer) return
    const room = rooms.get(session.roomKey)
    // A replaced session no longer owns its id: its successor stays, so nobody is told it left.
    if (!room || room.get(session.peer.id) !== session) return
    room.delete(session.peer.id)
    if (room.size === 0) rooms.delete(session.roomKey)
    // Taken over on another instance: the peer is still in the room, held there.
    if (session.replacedElsewhere) return
    if (shared) leaveShared(shared, session.roomKey, session, room.topology)
    // While shutting down everyone is leaving: no point telling each about the others. A scamp room
    // announces nothing: its members learn of each other through the mesh.
    if (!shuttingDown && room.topology !== 'scamp') for (const other of room.values()) send(other, { type: 'peer-left', id: session.peer.id })
  }

  /** Removes a peer from its shared room (if this socket still holds it) and tells the other instances. */
  const leaveShared = (store: RedisRooms, key: string, session: ClientSession, topology: Topology) => {
    const peer = session.peer!
    const leaving = store
      .leave(key, peer.id, session.nonce, peer.publicKey)
      .then(({ removed, instances }) => {
        if (removed && topology === 'full') return store.publish(instances, { kind: 'announce', room: key, message: { type: 'peer-left', id: peer.id } })
      })
      .catch((error: unknown) => log(`redis leave failed peer=${peer.id}: ${(error as Error).message}; its presence lapses`))
      .finally(() => sharedLeaves.delete(leaving))
    sharedLeaves.add(leaving)
  }

  const handleHello = async (session: ClientSession, hello: HelloMessage) => {
    session.state = 'verifying'
    let id: string
    try {
      const imported = await importPublicKey(hello.publicKey)
      id = imported.id
      if (!(await verifySignature(imported.key, helloSigningText(session.nonce, hello.room), hello.signature, 'hello'))) {
        refuse(session, CLOSE_CODES.authenticationFailed, 'BAD_SIGNATURE', 'the signature does not match the public key and nonce')
        return
      }
    } catch {
      refuse(session, CLOSE_CODES.authenticationFailed, 'BAD_PUBLIC_KEY', 'the public key is not a valid P-256 point')
      return
    }
    if (session.state !== 'verifying') return // the socket went away while we verified

    const topology = hello.topology ?? 'full'
    const serverTopology = topologyOfRoom(config, hello.room)
    if (serverTopology === 'invalid') {
      refuse(session, CLOSE_CODES.topologyMismatch, 'TOPOLOGY_MISMATCH', `this server has no valid topology for room "${hello.room}"`)
      return
    }
    if (serverTopology !== undefined && serverTopology !== topology) {
      refuse(session, CLOSE_CODES.topologyMismatch, 'TOPOLOGY_MISMATCH', `this server runs room "${hello.room}" as ${serverTopology}, not ${topology}`)
      return
    }
    const decision = await sessionAuth.decideJoin(hello.token, hello.room, id)
    if (session.state !== 'verifying') return
    if (!decision.ok) return refuse(session, decision.closeCode, decision.code, decision.reason)
    const key = roomKey(topology, hello.room)
    const limit = topology === 'scamp' ? config.maxScampRoomSize : config.maxRoomSize
    let join: SharedJoin | undefined
    if (shared || config.redis) {
      // Shared rooms: Redis admits the peer against the room's limit, across every instance.
      try {
        await sharing
        join = await shared!.join(key, id, session.nonce, hello.publicKey, limit, topology)
      } catch (error) {
        refuse(session, CLOSE_CODES.tryAgainLater, 'SIGNALING_UNAVAILABLE', `the shared rooms are out of reach: ${(error as Error).message}`)
        return
      }
      shared!.announceLapsed(key, join)
      if (session.state !== 'verifying') {
        // The socket went away while Redis admitted it: take the seat back.
        if (join.status !== 'full') leaveShared(shared!, key, { ...session, peer: { id, publicKey: hello.publicKey } }, topology)
        return
      }
      if (join.status === 'full') {
        refuse(session, CLOSE_CODES.roomFull, 'ROOM_FULL', `room "${hello.room}" has reached its limit of ${limit} peers`)
        return
      }
    }
    let room = rooms.get(key)
    const previous = room?.get(id)
    if (!previous) {
      if (!join && room && room.size >= limit) {
        refuse(session, CLOSE_CODES.roomFull, 'ROOM_FULL', `room "${hello.room}" has reached its limit of ${limit} peers`)
        return
      }
      if (!room && rooms.size >= config.maxRooms) {
        if (join) leaveShared(shared!, key, { ...session, peer: { id, publicKey: hello.publicKey } }, topology)
        refuse(session, CLOSE_CODES.roomFull, 'ROOM_FULL', 'the server has reached its limit of rooms')
        return
      }
    }
    if (!room) rooms.set(key, (room = new RoomMembers(topology)))

    session.peer = { id, publicKey: hello.publicKey }
    session.roomKey = key
    session.state = 'joined'
    session.admitted.helloDone()
    clearTimeout(session.helloTimer)
    room.set(id, session)
    session.auth.room = hello.room
    sessionAuth.grant(session.auth, decision, () => expireToken(session))

    if (previous) {
      // Reconnection with the same key: the new socket takes over; the room sees no leave and no join.
      log(`replaced ${previous.remote} peer=${id} by ${session.remote}`)
      send(previous, { type: 'error', code: 'ALREADY_JOINED', message: 'a newer connection proved this key' })
      previous.socket.close(CLOSE_CODES.replaced, 'replaced')
      leave(previous)
    } else if (join?.previous) {
      // Reconnection from another instance: that one closes the old socket; nobody hears a leave or a join.
      log(`replaced peer=${id} held by instance ${join.previous.instance}, by ${session.remote}`)
      void shared!.publish([join.previous.instance], { kind: 'replaced', room: key, id, session: join.previous.session }).catch(() => {})
    } else if (topology === 'full') {
      for (const other of room.values()) if (other !== session) send(other, { type: 'peer-joined', peer: session.peer })
      if (join) void shared!.publish(join.instances, { kind: 'announce', room: key, message: { type: 'peer-joined', peer: session.peer } }).catch(() => {})
    }
    // A scamp room's welcome names one random member as the contact (none for the first member); a
    // full room's lists every other member (at most maxRoomSize - 1, which fits in a frame). Shared
    // rooms: Redis listed them, wherever they are held.
    const contact = topology === 'scamp' && !join ? room.randomOther(id) : undefined
    const peers = join
      ? join.listing
      : topology === 'scamp'
        ? contact
          ? [contact.peer!]
          : []
        : [...room.values()].filter((other) => other !== session).map((other) => other.peer!)
    send(session, { type: 'welcome', id, room: hello.room, peers, ...sessionAuth.welcomeFields(session.auth) })
  }

  /** A member whose token expired without a refresh leaves its room. */
  const expireToken = (session: ClientSession) => refuse(session, CLOSE_CODES.tokenExpired, 'TOKEN_EXPIRED', 'the token expired and was not refreshed')

  const handleRefresh = async (session: ClientSession, token: string) => {
    if (session.auth.refreshing) return strike(session, 'RATE_LIMITED', 'a refresh is already being verified')
    session.auth.refreshing = true
    const decision = await sessionAuth.decideRefresh(session.auth, token, session.auth.room!, session.peer!.id)
    session.auth.refreshing = false
    if (session.state !== 'joined') return
    if (!decision.ok) return strike(session, decision.code, `refresh refused: ${decision.reason}`)
    sessionAuth.grant(session.auth, decision, () => expireToken(session))
    const { expiresAt, attestation } = sessionAuth.welcomeFields(session.auth)
    send(session, { type: 'token-refreshed', ...(expiresAt !== undefined && { expiresAt }), ...(attestation !== undefined && { attestation }) })
  }

  const handleSignal = (session: ClientSession, request: SignalRequest) => {
    const target = rooms.get(session.roomKey!)?.get(request.to)
    if (!target && shared) {
      // Held by another instance, maybe: Redis relays it to whichever holds the target.
      const from = session.peer!.id
      const message = { type: 'signal' as const, from, payload: request.payload }
      shared.deliver(session.roomKey!, request.to, { kind: 'deliver', room: session.roomKey!, to: request.to, message }).then(
        (delivered) => delivered || send(session, { type: 'error', code: 'UNKNOWN_PEER', message: `no peer ${request.to} in this room` }),
        (error: unknown) => send(session, { type: 'error', code: 'SIGNALING_UNAVAILABLE', message: `could not relay: ${(error as Error).message}` }),
      )
      return
    }
    if (!target) {
      // Not a strike: the target may have left a moment ago.
      send(session, { type: 'error', code: 'UNKNOWN_PEER', message: `no peer ${request.to} in this room` })
      return
    }
    send(target, { type: 'signal', from: session.peer!.id, payload: request.payload })
  }

  /**
   * A socket over its rate is not read for a while: what it keeps sending waits in its own TCP window
   * instead of costing the server a read, a parse and an answer per message.
   */
  const throttle = (session: ClientSession) => {
    if (session.throttled) return
    session.throttled = true
    session.socket.pause()
    setTimeout(() => {
      session.throttled = false
      if (session.state !== 'closed') session.socket.resume()
    }, RATE_LIMITED_PAUSE_MS).unref?.()
  }

  const handleMessage = (session: ClientSession, data: RawData, isBinary: boolean) => {
    if (session.state === 'closed') return
    const now = performance.now()
    const overSocketRate = !session.bucket.take(now)
    const bytes = rawDataLength(data)
    if (overSocketRate || !session.admitted.takeMessage(bytes, now)) {
      throttle(session)
      return strike(session, 'RATE_LIMITED', overSocketRate ? 'too many messages; slow down' : 'too many messages from this address; slow down')
    }
    if (sharedRate && !sharedRate.take(session.admitted.address, bytes)) {
      throttle(session)
      return strike(session, 'RATE_LIMITED', 'too many messages from this address to the servers sharing this room; slow down')
    }
    if (isBinary) return strike(session, 'BINARY_NOT_ALLOWED', 'signaling messages are JSON text frames')
    const parsed = parseClientMessage(rawDataToText(data))
    if (!parsed.ok) {
      if (parsed.code === 'UNSUPPORTED_VERSION') return refuse(session, CLOSE_CODES.authenticationFailed, parsed.code, parsed.reason)
      if (parsed.code === 'TOKEN_INVALID' && session.state === 'challenged') return refuse(session, CLOSE_CODES.unauthorized, parsed.code, parsed.reason)
      return strike(session, parsed.code, parsed.reason)
    }
    const message = parsed.message
    if (message.type === 'hello') {
      if (session.state !== 'challenged') return strike(session, 'ALREADY_JOINED', 'hello was already sent on this socket')
      void handleHello(session, message).catch((error: unknown) => {
        refuse(session, CLOSE_CODES.authenticationFailed, 'BAD_MESSAGE', `hello failed: ${String(error)}`)
      })
      return
    }
    if (session.state !== 'joined') return strike(session, 'NOT_JOINED', 'send a hello before signaling')
    if (message.type === 'contact') {
      // A random other member: what a SCAMP peer needs from outside its views to repair a partition.
      if (shared) {
        shared.contact(session.roomKey!, session.peer!.id).then(
          (peer) => send(session, { type: 'contact', peer: peer ?? null }),
          () => send(session, { type: 'contact', peer: null }),
        )
        return
      }
      const contact = rooms.get(session.roomKey!)?.randomOther(session.peer!.id)
      send(session, { type: 'contact', peer: contact?.peer ?? null })
      return
    }
    if (message.type === 'refresh-token') {
      void handleRefresh(session, message.token).catch((error: unknown) => strike(session, 'TOKEN_INVALID', `refresh failed: ${String(error)}`))
      return
    }
    handleSignal(session, message)
  }

  const accept = (socket: WebSocket, request: IncomingMessage, admitted: Admitted) => {
    const session: ClientSession = {
      socket,
      remote: `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`,
      admitted,
      nonce: randomBase64Url(24),
      state: 'challenged',
      strikes: 0,
      bucket: new TokenBucket(config.rateLimitBurst, 1000 / config.rateLimitPerSecond, performance.now()),
      answeredPing: true,
      auth: {},
    }
    sessions.add(session)
    session.helloTimer = setTimeout(() => {
      if (session.state === 'challenged') refuse(session, CLOSE_CODES.helloTimeout, 'NOT_JOINED', `no hello within ${config.helloTimeoutMs} ms`)
    }, config.helloTimeoutMs)
    socket.on('message', (data, isBinary) => handleMessage(session, data, isBinary))
    socket.on('pong', () => (session.answeredPing = true))
    // ws reports protocol violations (oversized frames, bad UTF-8, bad opcodes) here and closes the socket itself.
    socket.on('error', (error) => {
      if (session.state !== 'closed') log(`refused ${session.remote} code=${(error as { code?: string }).code ?? 'SOCKET_ERROR'} ${error.message}`)
      leave(session)
    })
    socket.on('close', () => leave(session))
    send(session, { type: 'challenge', version: PROTOCOL_VERSION, nonce: session.nonce })
  }

  // Liveness: a socket that did not answer the previous ping is dead; terminate it so its room hears peer-left.
  const pingTimer = setInterval(() => {
    for (const session of sessions) {
      if (!session.answeredPing) {
        log(`terminated ${session.remote}${session.peer ? ` peer=${session.peer.id}` : ''}: no pong within ${config.pingIntervalMs} ms`)
        session.socket.terminate()
        leave(session)
        continue
      }
      session.answeredPing = false
      session.socket.ping()
    }
  }, config.pingIntervalMs)
  pingTimer.unref?.()

  let closing: Promise<void> | undefined
  return {
    ready,
    address() {
      const address = httpServer.address() as AddressInfo | null
      if (!address) throw new Error('the signaling server is not listening')
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
      return { host: address.address, port: address.port, url: `ws://${host}:${address.port}` }
    },
    stats() {
      let peers = 0
      for (const room of rooms.values()) peers += room.size
      let pendingHellos = 0
      for (const session of sessions) if (session.state !== 'joined') pendingHellos++
      return { rooms: rooms.size, peers, sockets: sessions.size, pendingHellos, ...(shared ? { refusedRelays: shared.refusedRelays } : {}) }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        shuttingDown = true
        clearInterval(pingTimer)
        for (const session of [...sessions]) {
          session.socket.close(CLOSE_CODES.goingAway, 'server shutting down')
          leave(session)
        }
        wss.close()
        // The leaves reach Redis (and the other instances hear them) before this instance disconnects.
        const unshared = sharing
          .catch(() => {})
          .then(async () => {
            await Promise.allSettled([...sharedLeaves])
            await shared?.close()
          })
        httpServer.close(() => void unshared.finally(resolve))
        httpServer.closeIdleConnections()
        // Sockets that ignore the close handshake are cut after a grace period.
        setTimeout(() => {
          for (const client of wss.clients) client.terminate()
          httpServer.closeAllConnections()
        }, 1000).unref?.()
      })
      return closing
    },
  }
}

function rawDataLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.byteLength, 0)
  return data.byteLength
}

function rawDataToText(data: RawData): string {
  if (Array.isArray(data)) return new TextDecoder().decode(joinBytes(data))
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(new Uint8Array(data))
  return new TextDecoder().decode(data)
}

/** A room's key: its topology and its name, so that without a topology policy the two never share a room. */
function roomKey(topology: Topology, room: string): string {
  return `${topology}/${room}`
}

/** The topology the server's policy gives `room`: undefined without a policy, 'invalid' if the policy fails. */
function topologyOfRoom(config: ResolvedServerOptions, room: string): Topology | undefined | 'invalid' {
  const policy = config.roomTopology
  if (policy === undefined || typeof policy === 'string') return policy
  try {
    const topology = policy(room)
    return topology === 'full' || topology === 'scamp' ? topology : 'invalid'
  } catch {
    return 'invalid' // an operator's policy that throws refuses the join rather than crashing the server
  }
}
