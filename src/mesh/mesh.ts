/**
 * The mesh: the composition root. It joins a room through the signaling server, keeps WebRTC links
 * to other members, runs a multiplexer session on each link (whose keepalive pings watch the peer),
 * delivers mailbox messages, and re-forms links when they fail.
 *
 * Topologies: `full` keeps a link to every member (the lower id initiates, so offers never collide).
 * `scamp` (scamp-topology.ts) keeps links to the SCAMP partial view ∪ in-view only, opens others on
 * demand (either side initiates; when both do at once, the lower id's offer wins) and closes them
 * when idle; signals then carry the sender's public key, since no roster lists it.
 *
 * Who is in the mesh is decided by the links, not by the server: a peer joins when its data channel
 * opens and leaves when the link closes, says goodbye or stays silent past `peerTimeoutMs`. The server's
 * roster only says whom to connect to, so the mesh keeps working while the server is away, and the
 * client rejoins the same room under the same id when it returns.
 */
import { MeshscopeError } from '../errors.js'
import { Identity } from '../identity/identity.js'
import { SignalingClient, type SignalingState } from '../signaling/client.js'
import type { JsonObject, PeerInfo, WelcomeMessage } from '../signaling/protocol.js'
import type { LinkCloseInfo } from '../transport/link.js'
import { WebRtcLink, type RtcSignal } from '../transport/webrtc-link.js'
import { Backoff } from '../util/backoff.js'
import { randomBase64Url } from '../util/bytes.js'
import { Emitter } from '../util/emitter.js'
import { resolveMeshTimings, type MeshJoinOptions, type ResolvedMeshTimings } from './options.js'
import { Connection } from '../channels/connection.js'
import { MuxSession, type MuxCloseInfo } from '../mux/session.js'
import type { CallOptions } from '../rpc/call.js'
import type { Remote } from '../rpc/remote-object.js'
import type { Mailbox, MailboxHandler, MailboxRef } from '../services/mailboxes.js'
import { Messaging } from './messaging.js'
import { peerRef, type HopTransport, type PeerRef } from '../scope/here.js'
import { HOP_MAILBOX, serveHop } from '../scope/hop.js'
import type { ScampMetrics } from '../gossip/index.js'
import { SCAMP_MAILBOX, ScampTopology, type GossipMessageEvent } from './scamp-topology.js'
import { RELAY_MAILBOX, SignalRelay } from './signal-relay.js'
import { resolvePlatform, type Platform } from './platform.js'
import { Roster } from './roster.js'
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

interface PeerLink {
  peerId: string
  /** One connection attempt; both sides name it the same, so stale signals can be told apart. */
  session: string
  link: WebRtcLink
  /** The multiplexer session, once the data channel opened. */
  connection?: Connection
  /** The session's handshake finished and `peer:join` was emitted. */
  joined: boolean
  /** When the link last carried a stream (scamp topology: idle links not wanted by SCAMP close). */
  lastUsedAt: number
}

/** Delay before re-forming a failed link, growing per peer while attempts keep failing. */
const RETRY_BACKOFF = { initialDelayMs: 500, maxDelayMs: 10_000 }
/** How long `close()` waits for goodbyes to leave before tearing links down. */
const CLOSE_GRACE_MS = 2_000
/** How often idle on-demand links are looked for (scamp topology). */
const IDLE_SWEEP_MS = 2_000

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
      topology: options.topology,
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
  #roster: Roster
  #retryTimers = new Map<string, ReturnType<typeof setTimeout>>()
  #retryBackoffs = new Map<string, Backoff>()
  #signalChains = new Map<string, Promise<void>>()
  #messaging: Messaging = new Messaging({
    id: () => this.identity.id,
    connectionTo: (peerId) => this.connectionTo(peerId),
    connect: (peerId) => this.#connectOnDemand(peerId),
    assertOpen: () => {
      if (this.#state !== 'open') throw new MeshscopeError('MESH_CLOSED', 'the mesh is closed')
    },
    report: (error) => this.events.emit('error', error),
  })
  #closing?: Promise<void>
  #hopTransport: HopTransport
  /** The SCAMP topology, when the room uses it. */
  #scamp?: ScampTopology
  /** Signals through the mesh while the signaling server is away (scamp topology). */
  #relay?: SignalRelay
  #idleSweep?: ReturnType<typeof setInterval>
  /** A random member the signaling server named, not yet used as a SCAMP contact. */
  #outsideContact?: string
  /** Callers waiting for an on-demand link to open. */
  #linkWaiters = new Map<string, Array<(connection: Connection | undefined) => void>>()

  private constructor(
    readonly identity: Identity,
    private readonly options: MeshJoinOptions,
    private readonly timings: ResolvedMeshTimings,
    private readonly platform: Platform,
    private readonly signaling: SignalingClient,
  ) {
    this.room = options.room
    this.#roster = new Roster(identity.id)
    signaling.events.on('welcome', (welcome) => this.#onWelcome(welcome))
    signaling.events.on('peer-joined', (peer) => this.#onPeerJoined(peer))
    signaling.events.on('peer-left', (peerId) => this.#onPeerLeft(peerId))
    signaling.events.on('signal', (from, payload) => this.#queueSignal(from, payload))
    signaling.events.on('state', (state) => this.events.emit('signaling', state))
    signaling.events.on('error', (error) => this.events.emit('error', error))
    // Every peer serves scope hops; the blocks themselves are registered by the code it runs.
    this.#hopTransport = { id: identity.id, call: (peerId, name, value, options) => this.call(peerId, name, value, options) }
    this.#messaging.register(HOP_MAILBOX, (request, context) => serveHop(request, context, this.#hopTransport, this))
    if (options.topology === 'scamp') this.#startScamp()
    // In a page, leave when the tab goes away: the goodbyes go out synchronously, so peers see the
    // leave at once instead of after `peerTimeoutMs`.
    if (isBrowserPage(globalThis)) globalThis.addEventListener('pagehide', this.#onPageHide)
  }

  #onPageHide = (): void => void this.close()

  #startScamp(): void {
    const scamp = new ScampTopology(
      {
        selfId: this.identity.id,
        isJoined: (peer) => this.#links.get(peer)?.joined === true,
        ensureLink: (peer) => this.#ensureLink(peer),
        send: (peer, mailbox, value) => this.#messaging.send(peer, mailbox, value),
        release: (peer) => this.#closeIfIdle(peer),
        disconnect: (peer, reason) => {
          const entry = this.#links.get(peer)
          if (entry) this.#detach(entry, 'failed', reason)
        },
        randomLinkedPeer: () => {
          const joined = this.peers
          return joined[Math.floor(Math.random() * joined.length)]
        },
        outsideContact: () => {
          // Each contact is used once; the next is asked for at once, so one is usually at hand.
          const contact = this.#outsideContact
          this.#outsideContact = undefined
          this.signaling.requestContact()
          return contact
        },
        deliver: (message) => this.events.emit('gossip', message),
        report: (error) => this.events.emit('error', error),
        learnRoute: (origin, via) => relay.learn(origin, via),
      },
      this.options.gossip,
    )
    const relay = new SignalRelay({
      selfId: this.identity.id,
      linkedPeers: () => this.peers,
      isLinked: (peer) => this.#links.get(peer)?.joined === true,
      send: (peer, mailbox, value) => this.#messaging.send(peer, mailbox, value),
      deliver: (from, payload) => this.#queueSignal(from, payload),
      report: (error) => this.events.emit('error', error),
    })
    this.#scamp = scamp
    this.#relay = relay
    this.#messaging.register(SCAMP_MAILBOX, (value, context) => scamp.receive(context.from, value))
    this.#messaging.register(RELAY_MAILBOX, (value, context) => relay.receive(context.from, value))
    this.signaling.events.on('contact', (peer) => {
      if (!peer || peer.id === this.id) return
      this.#roster.add(peer)
      this.#outsideContact = peer.id
    })
    this.#idleSweep = setInterval(() => {
      for (const peer of [...this.#links.keys()]) this.#closeIfIdle(peer)
    }, IDLE_SWEEP_MS)
  }

  /**
   * Gossip over SCAMP; only in the `scamp` topology (INVALID_ARGUMENT otherwise). Values arrive as
   * the `gossip` event on every other member.
   */
  get gossip(): MeshGossip {
    const scamp = this.#scamp
    if (!scamp) throw new MeshscopeError('INVALID_ARGUMENT', 'gossip needs the scamp topology (Mesh.join({ topology: "scamp" }))')
    return {
      publish: (value) => scamp.publish(value),
      partialView: () => scamp.node.partialView(),
      inView: () => scamp.node.inView(),
      metrics: () => scamp.metrics(),
    }
  }

  /** This peer's self-certifying id. */
  get id(): string {
    return this.identity.id
  }

  /** Ids of the peers with an open link, sorted. */
  get peers(): string[] {
    return [...this.#links.values()]
      .filter((entry) => entry.joined)
      .map((entry) => entry.peerId)
      .sort()
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

  /**
   * Registers a named mailbox. Messages other peers `send` or `call` to this name reach `handler` with
   * the caller's verified id and an AbortSignal; for a call, what the handler returns (or throws) is
   * the reply. Returns the function that unregisters it. INVALID_ARGUMENT if the name is taken or not
   * 1..128 characters.
   */
  register<T = unknown, R = unknown>(name: string, handler: MailboxHandler<T, R>): () => void {
    return this.#messaging.register(name, handler)
  }

  /** A mailbox object with selective receive (`receive`, `receiveIf`), registered under `name` until closed. */
  mailbox<T = unknown>(name: string): Mailbox<T> {
    return this.#messaging.mailbox<T>(name)
  }

  /** A reference to this peer's mailbox `name`, to put inside messages so the receiver can answer it. */
  ref<T = unknown, R = unknown>(name: string): MailboxRef<T, R> {
    return this.#messaging.ref<T, R>(name)
  }

  /**
   * Sends a value to mailbox `name` on a peer (fire and forget). The value may hold anything the codec
   * carries, channel halves and functions included (they arrive live). Resolves once the message was
   * handed to the link. Rejects with PEER_NOT_CONNECTED, MESH_CLOSED, a codec error (the value cannot
   * travel; nothing was sent), ITEM_TOO_LARGE or PEER_GONE. If the peer has no such mailbox,
   * UNKNOWN_MAILBOX is reported on this mesh's `error` event. Sending to `mesh.id` runs locally.
   */
  send(peerId: string, name: string, value: unknown): Promise<void> {
    return this.#messaging.send(peerId, name, value)
  }

  /**
   * Calls mailbox `name` on a peer and resolves with the handler's reply. Rejects with
   * UNKNOWN_MAILBOX, REMOTE_ERROR (a RemoteError: the handler threw), TIMEOUT, ABORTED (the handler's
   * signal aborts too), PEER_GONE (the peer left before replying), PEER_NOT_CONNECTED or a codec error.
   */
  call<R = unknown>(peerId: string, name: string, value: unknown, options?: CallOptions): Promise<R> {
    return this.#messaging.call(peerId, name, value, options) as Promise<R>
  }

  /** Makes `impl`'s methods callable from other peers as `mesh.remote<T>(thisId, name)`. Returns the function that withdraws it. */
  expose(name: string, impl: object): () => void {
    return this.#messaging.expose(name, impl)
  }

  /** A peer to `hop` to (scope hops); `mesh.peer(mesh.id)` runs hops locally, without the network. */
  peer(peerId: string): PeerRef {
    if (typeof peerId !== 'string') throw new MeshscopeError('INVALID_ARGUMENT', 'peer takes a peer id')
    return peerRef(this.#hopTransport, peerId)
  }

  /**
   * A typed proxy of the object a peer exposed as `name`: every method returns a promise. Calls fail
   * like `call` does; an unknown method with UNKNOWN_METHOD. `options` (timeout, signal) apply to
   * every call made through this proxy.
   */
  remote<T>(peerId: string, name: string, options?: CallOptions): Remote<T> {
    return this.#messaging.remote<T>(peerId, name, options)
  }

  /** The channel-layer connection to a joined peer (for layers built on the mesh). */
  connectionTo(peerId: string): Connection | undefined {
    const entry = this.#links.get(peerId)
    return entry?.joined ? entry.connection : undefined
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
    // Unsubscribe first (SCAMP's leave rule), while the links still take messages.
    if (this.#scamp) await Promise.race([this.#scamp.leave(), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS / 2))])
    clearInterval(this.#idleSweep)
    this.#state = 'closing'
    if (isBrowserPage(globalThis)) globalThis.removeEventListener('pagehide', this.#onPageHide)
    for (const timer of this.#retryTimers.values()) clearTimeout(timer)
    this.#retryTimers.clear()
    this.signaling.close()
    const closed: Promise<void>[] = []
    for (const entry of this.#links.values()) {
      closed.push(
        new Promise<void>((resolve) => {
          if (entry.link.state === 'closed') return resolve()
          entry.link.events.on('close', () => resolve())
        }),
      )
      // A joined peer gets a GOAWAY (the session then closes the link); others just lose the attempt.
      if (entry.connection) void entry.connection.session.close()
      else entry.link.close('mesh closed')
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
    if (this.#scamp) {
      // The welcome names a contact (none for the first member); a rejoin after a server outage
      // only subscribes again if this peer is not in the group.
      for (const peer of welcome.peers) this.#roster.add(peer)
      this.#scamp.start(welcome.peers[0]?.id)
      this.signaling.requestContact()
      return
    }
    this.#roster.clear()
    for (const peer of welcome.peers) this.#roster.add(peer)
    this.#connectToRoster()
  }

  #onPeerJoined(peer: PeerInfo): void {
    this.#roster.add(peer)
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

  /** Starts a link to every roster member this peer should initiate to and has none with. */
  #connectToRoster(): void {
    if (this.#state !== 'open') return
    for (const peerId of this.#roster.ids()) {
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
    const entry: PeerLink = { peerId, session, link, joined: false, lastUsedAt: Date.now() }
    this.#links.set(peerId, entry)
    link.events.on('open', () => this.#startSession(entry, initiator))
    link.events.on('close', (info) => {
      // Before the session exists the link's own close is the news; after, the session reports it.
      if (!entry.connection) this.#detach(entry, leaveReasonOfLink(info))
    })
    return entry
  }

  /** The data channel is open: run a multiplexer session on it; the peer joins when the handshake completes. */
  #startSession(entry: PeerLink, initiator: boolean): void {
    if (this.#links.get(entry.peerId) !== entry || this.#state !== 'open') return
    const session = new MuxSession(entry.link, {
      initiator,
      config: { keepaliveIntervalMs: this.timings.heartbeatIntervalMs, idleTimeoutMs: this.timings.peerTimeoutMs },
    })
    const connection = new Connection(session, { peerId: entry.peerId, router: this.#messaging, sendErrorStacks: this.options.exposeErrorStacks })
    entry.connection = connection
    session.events.on('stream', (stream) => {
      entry.lastUsedAt = Date.now()
      void this.#messaging.serve(connection, stream)
    })
    session.events.on('close', (info) => this.#detach(entry, leaveReasonOfSession(info)))
    session.ready.then(
      () => {
        if (this.#links.get(entry.peerId) !== entry || this.#state !== 'open') return
        entry.joined = true
        this.#retryBackoffs.delete(entry.peerId)
        this.events.emit('peer:join', entry.peerId)
        this.#settleLinkWaiters(entry.peerId, connection)
        this.#scamp?.linkJoined(entry.peerId)
      },
      () => {}, // the session's close event reports why
    )
  }

  /** Removes a link from the mesh (announcing the leave if it had joined) and plans its replacement. */
  #detach(entry: PeerLink, reason: PeerLeaveReason, message: string = reason): void {
    if (this.#links.get(entry.peerId) !== entry) return
    this.#links.delete(entry.peerId)
    if (entry.connection) entry.connection.session.abort(`peer left: ${message}`)
    entry.link.close(message)
    if (this.#state !== 'open') return
    if (entry.joined) this.events.emit('peer:leave', entry.peerId, reason)
    if (reason === 'replaced') return
    this.#settleLinkWaiters(entry.peerId, undefined)
    if (this.#scamp) this.#scamp.linkLost(entry.peerId)
    else this.#scheduleRetry(entry.peerId)
  }

  // ── links on demand (scamp topology) ───────────────────────────────────────

  /** Starts a link to `peerId` unless one is open or opening; in the scamp topology either side may. */
  #ensureLink(peerId: string): void {
    if (this.#state !== 'open' || peerId === this.id || this.#links.has(peerId)) return
    this.#startLink(peerId, randomBase64Url(12), true)
  }

  /** For a mailbox send or call to a peer without a link (scamp topology): opens one and waits for it. */
  #connectOnDemand(peerId: string): Promise<Connection | undefined> {
    if (!this.#scamp || this.#state !== 'open' || peerId === this.id) return Promise.resolve(undefined)
    this.#ensureLink(peerId)
    return new Promise((resolve) => {
      let waiters = this.#linkWaiters.get(peerId)
      if (!waiters) this.#linkWaiters.set(peerId, (waiters = []))
      waiters.push(resolve)
    })
  }

  #settleLinkWaiters(peerId: string, connection: Connection | undefined): void {
    const waiters = this.#linkWaiters.get(peerId)
    if (!waiters) return
    this.#linkWaiters.delete(peerId)
    for (const settle of waiters) settle(connection)
  }

  /** Closes a link SCAMP does not want once nothing has used it for `idleLinkMs` (scamp topology). */
  #closeIfIdle(peerId: string): void {
    const entry = this.#links.get(peerId)
    if (!entry || !this.#scamp || this.#scamp.wants(peerId) || !entry.joined) return
    const session = entry.connection?.session
    if (session && session.streamCount > 0) {
      entry.lastUsedAt = Date.now()
      return
    }
    if (Date.now() - entry.lastUsedAt < (this.options.idleLinkMs ?? 30_000)) return
    // A graceful close: the peer sees a goodbye, which tells its SCAMP node nothing false.
    this.#links.delete(peerId)
    this.events.emit('peer:leave', peerId, 'closed')
    void session?.close()
  }

  /** The initiating side re-forms a lost link after a backoff, if the peer is still in the room. */
  #scheduleRetry(peerId: string): void {
    if (this.#scamp || this.id > peerId || this.#retryTimers.has(peerId)) return
    let backoff = this.#retryBackoffs.get(peerId)
    if (!backoff) this.#retryBackoffs.set(peerId, (backoff = new Backoff(RETRY_BACKOFF)))
    const timer = setTimeout(() => {
      this.#retryTimers.delete(peerId)
      this.#connectToRoster()
    }, backoff.nextDelayMs())
    this.#retryTimers.set(peerId, timer)
  }

  // ── signals, through the signaling server ──────────────────────────────────

  async #sendSignal(peerId: string, session: string, signal: RtcSignal): Promise<void> {
    const signed = await signSignal(this.identity, { room: this.room, from: this.id, to: peerId, session, signal })
    // In a scamp room the receiver may know nothing of us: the key travels along (its hash is our id).
    const payload = this.#scamp ? { ...signed, publicKey: this.identity.publicKey } : signed
    if (this.#state !== 'open') return
    // Without the server a scamp mesh relays the signal over its links; a full mesh loses it (the
    // attempt then times out and is retried).
    if (this.#relay && this.signaling.state !== 'joined') this.#relay.send(peerId, payload)
    else this.signaling.sendSignal(peerId, payload)
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
    if (!this.#roster.has(from) && this.#scamp && typeof payload.publicKey === 'string') {
      try {
        await this.#roster.learn(from, payload.publicKey)
      } catch (error) {
        this.events.emit('error', error as MeshscopeError)
        return
      }
    }
    const senderKey = this.#roster.keyOf(from)
    if (!senderKey) {
      this.events.emit('error', new MeshscopeError('BAD_SIGNAL', `a signal from ${from}, who is not in the room; dropped`))
      return
    }
    let signal: RtcSignal
    let session: string
    try {
      ;({ signal, session } = await openSignedSignal(payload, await senderKey, { room: this.room, from, to: this.id }))
    } catch (error) {
      this.events.emit('error', error instanceof MeshscopeError ? error : new MeshscopeError('BAD_SIGNAL', String(error), { cause: error }))
      return
    }
    if (this.#state !== 'open') return
    let entry = this.#links.get(from)
    if (signal.kind === 'description' && signal.type === 'offer') {
      if (this.#scamp && entry && !entry.joined && entry.session !== session) {
        // Both sides started a link at once: the lower id's offer wins.
        if (from > this.id) return
        this.#detach(entry, 'replaced')
        entry = undefined
      }
      if (from > this.id && !this.#scamp) {
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

function leaveReasonOfLink(info: LinkCloseInfo): PeerLeaveReason {
  return info.reason === 'failed' ? 'failed' : info.reason === 'timeout' ? 'timeout' : 'closed'
}

function leaveReasonOfSession(info: MuxCloseInfo): PeerLeaveReason {
  switch (info.reason) {
    case 'goaway':
      return 'goodbye'
    case 'timeout':
      return 'timeout'
    case 'protocol-error':
      return 'failed'
    default:
      return info.link ? leaveReasonOfLink(info.link) : 'closed'
  }
}

function isBrowserPage(scope: typeof globalThis): boolean {
  return typeof (scope as { document?: unknown }).document === 'object' && typeof scope.addEventListener === 'function'
}
