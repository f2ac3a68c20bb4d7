/**
 * The signaling client (browser and Node). It proves the peer's identity to the server, reports the
 * room's roster, carries signals, and — once it has joined — reconnects with backoff whenever the
 * socket drops, re-entering the same room under the same id. The mesh's data channels do not depend on
 * it: a server outage only delays new connections.
 */
import { MeshscopeError } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import { Backoff } from '../util/backoff.js'
import { Emitter } from '../util/emitter.js'
import { isServerGone, SignalingServers } from './failover.js'
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  helloSigningText,
  parseServerMessage,
  type ClientMessage,
  type JsonObject,
  type PeerInfo,
  type TokenRefreshedMessage,
  type Topology,
  type WelcomeMessage,
} from './protocol.js'
import { TokenKeeper, type TokenSource } from './token-keeper.js'

/** The part of the WebSocket constructor meshscope uses: the browser's, or `ws` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocket

export type SignalingState = 'connecting' | 'joined' | 'reconnecting' | 'closed'

export type SignalingClientEvents = {
  /** A (re)join succeeded; carries the room's current members. */
  welcome: [welcome: WelcomeMessage]
  'peer-joined': [peer: PeerInfo]
  'peer-left': [peerId: string]
  signal: [from: string, payload: JsonObject]
  /** The answer to `requestContact`: a random other member, or undefined when alone. */
  contact: [peer: PeerInfo | undefined]
  state: [state: SignalingState]
  /** The server accepted a refreshed token (and, in a room with auth, sent a fresh attestation). */
  'token-refreshed': [refreshed: TokenRefreshedMessage]
  /** Something the server refused, or a server message that made no sense. Not fatal. */
  error: [error: MeshscopeError]
}

export interface SignalingClientOptions {
  /** The server, or several sharing rooms: the client moves to the next when its server goes away (failover.ts). */
  url: string | readonly string[]
  room: string
  /** The peer's identity, or its generation still under way: the socket opens meanwhile, the hello waits for it. */
  identity: Identity | Promise<Identity>
  WebSocket: WebSocketConstructor
  /**
   * How the room links up (see Topology).
   * @default 'full'
   */
  topology?: Topology
  /**
   * The token for a server with auth: a string, or a function called for a fresh one at every
   * (re)connect and, before the server's `expiresAt`, for an automatic refresh.
   */
  token?: TokenSource
  /**
   * First join fails with TIMEOUT after this long.
   * @default 10_000
   */
  joinTimeoutMs?: number
  /**
   * Reconnect backoff after the first join: the first delay, doubling up to `reconnectMaxDelayMs`, with jitter.
   * @default 250
   */
  reconnectInitialDelayMs?: number
  /**
   * The longest reconnect delay.
   * @default 5_000
   */
  reconnectMaxDelayMs?: number
}

export class SignalingClient {
  readonly events = new Emitter<SignalingClientEvents>()
  #state: SignalingState = 'connecting'
  #socket?: WebSocket
  #joinedOnce = false
  #backoff: Backoff
  #reconnectTimer?: ReturnType<typeof setTimeout>
  #lastRefusal?: MeshscopeError
  /** The identity, once the first hello was signed with it (welcomes are checked against its id). */
  #identity?: Identity
  readonly #tokens: TokenKeeper
  /** The refresh waiting for the server's answer (one at a time). */
  #refresh?: { resolve: (message: TokenRefreshedMessage) => void; reject: (error: MeshscopeError) => void; token: string }
  readonly #servers: SignalingServers

  constructor(private readonly options: SignalingClientOptions) {
    this.#servers = new SignalingServers(options.url)
    // A generation that fails is reported when the hello needs it (start() rejects), never as unhandled.
    if (options.identity instanceof Promise) options.identity.catch(() => {})
    this.#tokens = new TokenKeeper(options.token)
    this.#backoff = new Backoff({
      initialDelayMs: options.reconnectInitialDelayMs ?? 250,
      maxDelayMs: options.reconnectMaxDelayMs ?? 5_000,
    })
  }

  get state(): SignalingState {
    return this.#state
  }

  /** Connects and joins the room; resolves with the first welcome. Rejects if the first join fails. */
  start(signal?: AbortSignal): Promise<WelcomeMessage> {
    return new Promise<WelcomeMessage>((resolve, reject) => {
      const timeoutMs = this.options.joinTimeoutMs ?? 10_000
      const fail = (error: MeshscopeError) => {
        cleanup()
        this.close()
        reject(error)
      }
      const timer = setTimeout(() => fail(new MeshscopeError('TIMEOUT', `no welcome from ${this.#servers.describe()} within ${timeoutMs} ms`)), timeoutMs)
      const onAbort = () => fail(new MeshscopeError('ABORTED', 'joining was aborted', { cause: signal?.reason }))
      const offWelcome = this.events.once('welcome', (welcome) => {
        cleanup()
        resolve(welcome)
      })
      const offState = this.events.on('state', (state) => {
        if (state !== 'closed' || this.#joinedOnce) return
        fail(this.#lastRefusal ?? new MeshscopeError('SIGNALING_UNREACHABLE', `could not reach the signaling server at ${this.#servers.describe()}`))
      })
      const cleanup = () => {
        clearTimeout(timer)
        offWelcome()
        offState()
        signal?.removeEventListener('abort', onAbort)
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#connect()
    })
  }

  /** Sends a signal to a peer of the room; false when the server is not reachable right now. */
  sendSignal(to: string, payload: JsonObject): boolean {
    return this.#send({ type: 'signal', to, payload })
  }

  /** Asks the server for a random other member of the room (answered by the `contact` event); false if not joined. */
  requestContact(): boolean {
    return this.#state === 'joined' && this.#send({ type: 'contact' })
  }

  /**
   * Sends a fresh token (the given one, or the token function's) to the server, which verifies it
   * like the hello's and requires the same `sub`; resolves once accepted. Rejects with the server's
   * code (TOKEN_INVALID, TOKEN_EXPIRED, ROOM_FORBIDDEN…), NOT_JOINED when not joined, TIMEOUT.
   */
  async refreshToken(token?: string): Promise<TokenRefreshedMessage> {
    const fresh = token ?? (await this.#tokens.forRefresh())
    if (this.#state !== 'joined') throw new MeshscopeError('NOT_JOINED', 'not joined to the signaling server')
    if (this.#refresh) throw new MeshscopeError('INVALID_ARGUMENT', 'a token refresh is already waiting for the server')
    return new Promise<TokenRefreshedMessage>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(new MeshscopeError('TIMEOUT', 'the server did not answer the token refresh'))), 10_000)
      const settle = (finish: () => void) => {
        clearTimeout(timer)
        this.#refresh = undefined
        finish()
      }
      this.#refresh = {
        token: fresh,
        resolve: (message) => settle(() => resolve(message)),
        reject: (error) => settle(() => reject(error)),
      }
      if (!this.#send({ type: 'refresh-token', token: fresh })) this.#refresh.reject(new MeshscopeError('NOT_JOINED', 'the signaling socket is not open'))
    })
  }

  /** Leaves the room and stops reconnecting. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return
    this.#tokens.cancel()
    this.#refresh?.reject(new MeshscopeError('MESH_CLOSED', 'the signaling client closed'))
    clearTimeout(this.#reconnectTimer)
    const socket = this.#socket
    this.#socket = undefined
    if (socket) {
      detach(socket)
      try {
        socket.close(1000, 'leaving')
      } catch {
        // already closing
      }
    }
    this.#setState('closed')
  }

  #connect(): void {
    let socket: WebSocket
    try {
      socket = new this.options.WebSocket(this.#servers.current)
    } catch (cause) {
      this.#lastRefusal = new MeshscopeError('INVALID_ARGUMENT', `cannot open a WebSocket to ${this.#servers.current}`, { cause })
      this.#onSocketGone()
      return
    }
    this.#socket = socket
    socket.binaryType = 'arraybuffer'
    socket.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return this.#reportBadServerMessage('a binary frame')
      void this.#handleMessage(socket, event.data)
    }
    socket.onclose = (event: CloseEvent) => {
      if (this.#socket !== socket) return
      this.#socket = undefined
      detach(socket)
      if (event.code === CLOSE_CODES.replaced) {
        // Another connection proved our key: reconnecting would only fight it.
        this.events.emit('error', new MeshscopeError('SIGNALING_REFUSED', 'another connection with this identity replaced this one'))
        this.close()
        return
      }
      if (this.#joinedOnce && (event.code === CLOSE_CODES.unauthorized || event.code === CLOSE_CODES.forbidden)) {
        // The server will not take this peer's token: trying again with the same would only be refused again.
        this.events.emit('error', new MeshscopeError('SIGNALING_REFUSED', `the signaling server refused the token on reconnect: ${event.reason}`))
        this.close()
        return
      }
      this.#onSocketGone(event.code)
    }
    socket.onerror = () => {
      // `close` follows every error; handling lives there.
    }
  }

  async #handleMessage(socket: WebSocket, text: string): Promise<void> {
    const parsed = parseServerMessage(text)
    if (!parsed.ok) return this.#reportBadServerMessage(parsed.reason)
    const message = parsed.message
    switch (message.type) {
      case 'challenge': {
        if (message.version !== PROTOCOL_VERSION) {
          this.#lastRefusal = new MeshscopeError('UNSUPPORTED_VERSION', `the server speaks protocol ${message.version}, this client ${PROTOCOL_VERSION}`)
          socket.close(1000)
          return
        }
        const { room } = this.options
        let identity: Identity
        let signature: string
        let token: string | undefined
        try {
          identity = await this.options.identity
          signature = await identity.sign(helloSigningText(message.nonce, room), 'hello')
          token = await this.#tokens.forHello()
        } catch (cause) {
          // No identity, no hello: the join fails (Mesh.join reports the generation's own error).
          if (this.#socket !== socket) return
          this.#lastRefusal = new MeshscopeError('SIGNALING_REFUSED', 'no identity or token to say hello with', { cause })
          socket.close(1000)
          return
        }
        this.#identity = identity
        if (this.#socket !== socket) return
        const topology = this.options.topology === 'scamp' ? { topology: 'scamp' as const } : {}
        this.#send({
          type: 'hello',
          version: PROTOCOL_VERSION,
          room,
          ...topology,
          publicKey: identity.publicKey,
          signature,
          ...(token !== undefined && { token }),
        })
        return
      }
      case 'welcome':
        if (message.id !== this.#identity?.id) return this.#reportBadServerMessage('a welcome for another id')
        this.#joinedOnce = true
        this.#lastRefusal = undefined
        this.#backoff.reset()
        this.#servers.welcomed()
        this.#setState('joined')
        this.#scheduleRefresh(message.expiresAt)
        this.events.emit('welcome', message)
        return
      case 'token-refreshed': {
        const pending = this.#refresh
        if (!pending) return this.#reportBadServerMessage('a token-refreshed nobody asked for')
        this.#tokens.accepted(pending.token)
        this.#scheduleRefresh(message.expiresAt)
        pending.resolve(message)
        this.events.emit('token-refreshed', message)
        return
      }
      case 'peer-joined':
        if (message.peer.id !== this.#identity?.id) this.events.emit('peer-joined', message.peer)
        return
      case 'peer-left':
        this.events.emit('peer-left', message.id)
        return
      case 'signal':
        this.events.emit('signal', message.from, message.payload)
        return
      case 'contact':
        if (message.peer?.id === this.#identity?.id) return this.#reportBadServerMessage('a contact that is this peer')
        this.events.emit('contact', message.peer ?? undefined)
        return
      case 'error': {
        const error = new MeshscopeError(message.code, `signaling server: ${message.message}`)
        if (this.#refresh && REFRESH_REFUSALS.has(message.code)) return this.#refresh.reject(error)
        if (this.#state !== 'joined')
          this.#lastRefusal = new MeshscopeError('SIGNALING_REFUSED', `the signaling server refused to join: ${message.code}: ${message.message}`, {
            cause: error,
          })
        this.events.emit('error', error)
        return
      }
    }
  }

  /**
   * Refreshed before the server's `expiresAt` without the application: with a token function, a
   * fresh token; with a fixed one, the same token again, which renews the attestation while it holds.
   */
  #scheduleRefresh(expiresAt: number | undefined): void {
    if (!this.#tokens.present) return
    this.#tokens.schedule(expiresAt, () => {
      if (this.#refresh) return // one by hand is under way: its answer schedules the next
      this.refreshToken().catch((error: unknown) => {
        const reported = error instanceof MeshscopeError ? error : new MeshscopeError('TOKEN_INVALID', 'the automatic token refresh failed', { cause: error })
        this.events.emit('error', reported)
      })
    })
  }

  /** `code`: how the socket closed (undefined when it could not be made). */
  #onSocketGone(code?: number): void {
    this.#tokens.cancel()
    this.#refresh?.reject(new MeshscopeError('DISCONNECTED', 'the signaling socket closed before the refresh was answered'))
    if (this.#state === 'closed') return
    // With several servers, one that went away is left for the next at once, until each has failed once.
    const tryAnother = this.#servers.urls.length > 1 && (code === undefined || isServerGone(code)) && this.#servers.failed()
    if (!this.#joinedOnce) {
      if (tryAnother) this.#connect()
      else this.#setState('closed')
      return
    }
    this.#setState('reconnecting')
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = setTimeout(() => this.#connect(), tryAnother ? 0 : this.#backoff.nextDelayMs())
  }

  #send(message: ClientMessage): boolean {
    const socket = this.#socket
    if (socket?.readyState !== 1 /* OPEN */) return false
    socket.send(JSON.stringify(message))
    return true
  }

  #reportBadServerMessage(what: string): void {
    this.events.emit('error', new MeshscopeError('BAD_MESSAGE', `the signaling server sent ${what}; ignored`))
  }

  #setState(state: SignalingState): void {
    if (this.#state === state) return
    this.#state = state
    this.events.emit('state', state)
  }
}

/** The server's answers that refuse a pending refresh (rather than something else this peer sent). */
const REFRESH_REFUSALS: ReadonlySet<string> = new Set(['TOKEN_REQUIRED', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'ROOM_FORBIDDEN', 'RATE_LIMITED', 'BAD_MESSAGE'])

function detach(socket: WebSocket): void {
  socket.onmessage = null
  socket.onclose = null
  // Keep a listener: `ws` in Node throws an error event that nobody listens to (closing while connecting emits one).
  socket.onerror = () => {}
}
