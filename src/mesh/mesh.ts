/**
 * The mesh: the composition root. It joins a room through the signaling server, keeps one WebRTC link
 * to every other member (full topology: the lower id initiates, so offers never collide), watches each
 * link with heartbeats, and re-forms links when they fail.
 *
 * Who is in the mesh is decided by the links, not by the server: a peer joins when its data channel
 * opens and leaves when the link closes, says goodbye or stays silent past `peerTimeoutMs`. The server's
 * roster only says whom to connect to, so the mesh keeps working while the server is away, and the
 * client rejoins the same room under the same id when it returns.
 */
import { MeshscopeError } from '../errors.js'
import { Identity, importPublicKey } from '../identity/identity.js'
import { SignalingClient, type SignalingState } from '../signaling/client.js'
import type { JsonObject, PeerInfo, WelcomeMessage } from '../signaling/protocol.js'
import type { LinkCloseInfo } from '../transport/link.js'
import { WebRtcLink, type RtcSignal } from '../transport/webrtc-link.js'
import { Backoff } from '../util/backoff.js'
import { randomBase64Url } from '../util/bytes.js'
import { Emitter } from '../util/emitter.js'
import { resolveMeshTimings, type MeshJoinOptions, type ResolvedMeshTimings } from './options.js'
import { GOODBYE_FRAME, HEARTBEAT_FRAME, encodeDataFrame, parsePeerFrame } from './peer-frames.js'
import { resolvePlatform, type Platform } from './platform.js'
import { openSignedSignal, signSignal } from './signed-signal.js'

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
  /** A byte message from a connected peer (`mesh.send` on its side). */
  message: [from: string, data: Uint8Array]
  /** The signaling connection changed state; the mesh itself goes on either way. */
  signaling: [state: SignalingState]
  /** Something a peer or the server sent was refused. Informational: the mesh goes on. */
  error: [error: MeshscopeError]
}

export type MeshState = 'open' | 'closing' | 'closed'

interface PeerLink {
  peerId: string
  /** One connection attempt; both sides name it the same, so stale signals can be told apart. */
  session: string
  link: WebRtcLink
  /** The data channel opened and `peer:join` was emitted. */
  joined: boolean
  lastHeardAt: number
}

interface RosterEntry {
  publicKey: string
  key: Promise<CryptoKey>
}

/** Delay before re-forming a failed link, growing per peer while attempts keep failing. */
const RETRY_BACKOFF = { initialDelayMs: 500, maxDelayMs: 10_000 }
/** How long `close()` waits for goodbyes to leave before tearing links down. */
const CLOSE_GRACE_MS = 2_000

export class Mesh {
  /**
   * Joins `room` through the signaling server at `signaling` and resolves once the server welcomed
   * this peer; links to the members then form in the background (`peer:join` for each).
   * Rejects with SIGNALING_UNREACHABLE, SIGNALING_REFUSED, TIMEOUT, ABORTED or INVALID_ARGUMENT.
   */
  static async join(options: MeshJoinOptions): Promise<Mesh> {
    const timings = resolveMeshTimings(options)
    const platform = resolvePlatform(options.platform)
    const identity = options.identity ?? (await Identity.generate())
    const signaling = new SignalingClient({
      url: options.signaling,
      room: options.room,
      identity,
      WebSocket: platform.WebSocket,
      joinTimeoutMs: timings.joinTimeoutMs,
    })
    const mesh = new Mesh(identity, options, timings, platform, signaling)
    try {
      await signaling.start(options.signal)
    } catch (error) {
      await mesh.close()
      throw error
    }
    return mesh
  }

  readonly events = new Emitter<MeshEvents>()
  readonly room: string
  #state: MeshState = 'open'
  #links = new Map<string, PeerLink>()
  #roster = new Map<string, RosterEntry>()
  #retryTimers = new Map<string, ReturnType<typeof setTimeout>>()
  #retryBackoffs = new Map<string, Backoff>()
  #signalChains = new Map<string, Promise<void>>()
  #heartbeatTimer: ReturnType<typeof setInterval>
  #closing?: Promise<void>

  private constructor(
    readonly identity: Identity,
    private readonly options: MeshJoinOptions,
    private readonly timings: ResolvedMeshTimings,
    private readonly platform: Platform,
    private readonly signaling: SignalingClient,
  ) {
    this.room = options.room
    signaling.events.on('welcome', (welcome) => this.#onWelcome(welcome))
    signaling.events.on('peer-joined', (peer) => this.#onPeerJoined(peer))
    signaling.events.on('peer-left', (peerId) => this.#onPeerLeft(peerId))
    signaling.events.on('signal', (from, payload) => this.#queueSignal(from, payload))
    signaling.events.on('state', (state) => this.events.emit('signaling', state))
    signaling.events.on('error', (error) => this.events.emit('error', error))
    this.#heartbeatTimer = setInterval(() => this.#heartbeat(), timings.heartbeatIntervalMs)
    // In a page, leave when the tab goes away: the goodbyes go out synchronously, so peers see the
    // leave at once instead of after `peerTimeoutMs`.
    if (isBrowserPage(globalThis)) globalThis.addEventListener('pagehide', this.#onPageHide)
  }

  #onPageHide = (): void => void this.close()

  /** This peer's self-certifying id. */
  get id(): string {
    return this.identity.id
  }

  /** Ids of the peers with an open link, sorted. */
  get peers(): string[] {
    return [...this.#links.values()].filter((entry) => entry.joined).map((entry) => entry.peerId).sort()
  }

  get state(): MeshState {
    return this.#state
  }

  get signalingState(): SignalingState {
    return this.signaling.state
  }

  /** Shorthand for `mesh.events.on`; returns the unsubscribe function. */
  on<E extends keyof MeshEvents>(event: E, listener: (...args: MeshEvents[E]) => void, options?: { signal?: AbortSignal }): () => void {
    return this.events.on(event, listener, options)
  }

  /** Largest message `send` accepts (one data-channel message; the multiplexer lifts this later). */
  get maxMessageBytes(): number {
    return 64 * 1024 - 1
  }

  /**
   * Sends bytes to a connected peer, in order. Resolves once the link has taken them (waiting while its
   * buffer is full). Rejects with PEER_NOT_CONNECTED, MESSAGE_TOO_LARGE, PEER_GONE or MESH_CLOSED.
   */
  async send(peerId: string, data: Uint8Array): Promise<void> {
    if (this.#state !== 'open') throw new MeshscopeError('MESH_CLOSED', 'the mesh is closed')
    if (!(data instanceof Uint8Array)) throw new MeshscopeError('INVALID_ARGUMENT', 'send takes a Uint8Array')
    if (data.byteLength > this.maxMessageBytes) {
      throw new MeshscopeError('MESSAGE_TOO_LARGE', `a message holds at most ${this.maxMessageBytes} bytes, got ${data.byteLength}`)
    }
    const entry = this.#links.get(peerId)
    if (!entry?.joined) throw new MeshscopeError('PEER_NOT_CONNECTED', `not connected to peer ${peerId}`)
    try {
      await entry.link.send(encodeDataFrame(data))
    } catch (cause) {
      throw new MeshscopeError('PEER_GONE', `peer ${peerId} went away before the message was sent`, { cause })
    }
  }

  /** Leaves the mesh: says goodbye to every peer, closes every link and the signaling connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  async #shutdown(): Promise<void> {
    this.#state = 'closing'
    clearInterval(this.#heartbeatTimer)
    if (isBrowserPage(globalThis)) globalThis.removeEventListener('pagehide', this.#onPageHide)
    for (const timer of this.#retryTimers.values()) clearTimeout(timer)
    this.#retryTimers.clear()
    this.signaling.close()
    const closed: Promise<void>[] = []
    for (const entry of this.#links.values()) {
      closed.push(new Promise<void>((resolve) => {
        if (entry.link.state === 'closed') return resolve()
        entry.link.events.on('close', () => resolve())
      }))
      if (entry.joined) entry.link.send(GOODBYE_FRAME).catch(() => {})
      entry.link.close('mesh closed')
    }
    let graceTimer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([Promise.all(closed), new Promise((resolve) => (graceTimer = setTimeout(resolve, CLOSE_GRACE_MS)))])
    clearTimeout(graceTimer)
    this.#links.clear()
    this.#state = 'closed'
    this.events.removeAllListeners()
  }

  // ── roster, from the signaling server ──────────────────────────────────────

  #onWelcome(welcome: WelcomeMessage): void {
    this.#roster.clear()
    for (const peer of welcome.peers) this.#addToRoster(peer)
    this.#connectToRoster()
  }

  #onPeerJoined(peer: PeerInfo): void {
    this.#addToRoster(peer)
    this.#connectToRoster()
  }

  #onPeerLeft(peerId: string): void {
    this.#roster.delete(peerId)
    clearTimeout(this.#retryTimers.get(peerId))
    this.#retryTimers.delete(peerId)
    this.#retryBackoffs.delete(peerId)
    // An attempt still connecting is abandoned; an open link stays: the link, not the server, says who is here.
    const entry = this.#links.get(peerId)
    if (entry && !entry.joined) this.#detach(entry, 'closed')
  }

  #addToRoster(peer: PeerInfo): void {
    if (peer.id === this.id) return
    const known = this.#roster.get(peer.id)
    if (known?.publicKey === peer.publicKey) return
    const key = importPublicKey(peer.publicKey).then(({ id, key }) => {
      if (id !== peer.id) throw new MeshscopeError('BAD_PUBLIC_KEY', `the server listed a key that does not hash to ${peer.id}`)
      return key
    })
    key.catch(() => {}) // reported when a signal from this peer needs it
    this.#roster.set(peer.id, { publicKey: peer.publicKey, key })
  }

  /** Starts a link to every roster member this peer should initiate to and has none with. */
  #connectToRoster(): void {
    if (this.#state !== 'open') return
    for (const peerId of this.#roster.keys()) {
      if (this.id < peerId && !this.#links.has(peerId) && !this.#retryTimers.has(peerId)) this.#startLink(peerId, randomBase64Url(12), true)
    }
  }

  // ── links ──────────────────────────────────────────────────────────────────

  #startLink(peerId: string, session: string, initiator: boolean): PeerLink {
    const link = new WebRtcLink({
      initiator,
      RTCPeerConnection: this.platform.RTCPeerConnection,
      iceServers: this.options.iceServers,
      connectTimeoutMs: this.timings.connectTimeoutMs,
      highWaterMarkBytes: this.options.highWaterMarkBytes,
      sendSignal: (signal) => void this.#sendSignal(peerId, session, signal),
    })
    const entry: PeerLink = { peerId, session, link, joined: false, lastHeardAt: Date.now() }
    this.#links.set(peerId, entry)
    link.events.on('open', () => {
      if (this.#links.get(peerId) !== entry || this.#state !== 'open') return
      entry.joined = true
      entry.lastHeardAt = Date.now()
      this.#retryBackoffs.delete(peerId)
      this.events.emit('peer:join', peerId)
    })
    link.events.on('message', (data) => this.#onLinkMessage(entry, data))
    link.events.on('close', (info) => this.#onLinkClosed(entry, info))
    return entry
  }

  #onLinkMessage(entry: PeerLink, data: Uint8Array): void {
    if (this.#links.get(entry.peerId) !== entry) return
    entry.lastHeardAt = Date.now()
    const frame = parsePeerFrame(data)
    if (!frame) {
      this.events.emit('error', new MeshscopeError('PEER_PROTOCOL_ERROR', `peer ${entry.peerId} sent a frame of unknown kind ${data[0] ?? 'none'}; dropped`))
      return
    }
    if (frame.kind === 'data') this.events.emit('message', entry.peerId, frame.payload)
    else if (frame.kind === 'goodbye') this.#detach(entry, 'goodbye')
  }

  #onLinkClosed(entry: PeerLink, info: LinkCloseInfo): void {
    const reason: PeerLeaveReason = info.reason === 'failed' ? 'failed' : info.reason === 'timeout' ? 'timeout' : 'closed'
    this.#detach(entry, reason)
  }

  /** Removes a link from the mesh (announcing the leave if it had joined) and plans its replacement. */
  #detach(entry: PeerLink, reason: PeerLeaveReason): void {
    if (this.#links.get(entry.peerId) !== entry) return
    this.#links.delete(entry.peerId)
    entry.link.close(reason)
    if (this.#state !== 'open') return
    if (entry.joined) this.events.emit('peer:leave', entry.peerId, reason)
    if (reason !== 'replaced') this.#scheduleRetry(entry.peerId)
  }

  /** The initiating side re-forms a lost link after a backoff, if the peer is still in the room. */
  #scheduleRetry(peerId: string): void {
    if (this.id > peerId || this.#retryTimers.has(peerId)) return
    let backoff = this.#retryBackoffs.get(peerId)
    if (!backoff) this.#retryBackoffs.set(peerId, (backoff = new Backoff(RETRY_BACKOFF)))
    const timer = setTimeout(() => {
      this.#retryTimers.delete(peerId)
      this.#connectToRoster()
    }, backoff.nextDelayMs())
    this.#retryTimers.set(peerId, timer)
  }

  #heartbeat(): void {
    const now = Date.now()
    for (const entry of [...this.#links.values()]) {
      if (!entry.joined) continue
      if (now - entry.lastHeardAt > this.timings.peerTimeoutMs) {
        this.#detach(entry, 'timeout')
        continue
      }
      entry.link.send(HEARTBEAT_FRAME).catch(() => {})
    }
  }

  // ── signals, through the signaling server ──────────────────────────────────

  async #sendSignal(peerId: string, session: string, signal: RtcSignal): Promise<void> {
    const payload = await signSignal(this.identity, { room: this.room, from: this.id, to: peerId, session, signal })
    // If the server is away the signal is lost; the attempt then times out and is retried.
    if (this.#state === 'open') this.signaling.sendSignal(peerId, payload)
  }

  /** Signals from one peer are handled strictly in order (verification is asynchronous). */
  #queueSignal(from: string, payload: JsonObject): void {
    const previous = this.#signalChains.get(from) ?? Promise.resolve()
    const next = previous.then(() => this.#handleSignal(from, payload))
    this.#signalChains.set(from, next)
    void next.finally(() => {
      if (this.#signalChains.get(from) === next) this.#signalChains.delete(from)
    })
  }

  async #handleSignal(from: string, payload: JsonObject): Promise<void> {
    if (this.#state !== 'open') return
    const sender = this.#roster.get(from)
    if (!sender) {
      this.events.emit('error', new MeshscopeError('BAD_SIGNAL', `a signal from ${from}, who is not in the room; dropped`))
      return
    }
    let signal: RtcSignal
    let session: string
    try {
      ;({ signal, session } = await openSignedSignal(payload, await sender.key, { room: this.room, from, to: this.id }))
    } catch (error) {
      this.events.emit('error', error instanceof MeshscopeError ? error : new MeshscopeError('BAD_SIGNAL', String(error), { cause: error }))
      return
    }
    if (this.#state !== 'open') return
    let entry = this.#links.get(from)
    if (signal.kind === 'description' && signal.type === 'offer') {
      if (from > this.id) {
        this.events.emit('error', new MeshscopeError('BAD_SIGNAL', `an offer from ${from}, whose id is higher: the lower id initiates; dropped`))
        return
      }
      if (entry?.session === session) return // a duplicate
      if (entry) this.#detach(entry, 'replaced')
      entry = this.#startLink(from, session, false)
    }
    if (!entry || entry.session !== session) return // stale: for an attempt that is gone
    await entry.link.acceptSignal(signal)
  }
}

function isBrowserPage(scope: typeof globalThis): boolean {
  return typeof (scope as { document?: unknown }).document === 'object' && typeof scope.addEventListener === 'function'
}
