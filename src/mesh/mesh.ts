/**
 * The mesh: the facade and composition root. It joins a room through the signaling server and puts
 * the parts together, each in a file of its own:
 *
 * - options.ts: the join options, their defaults and their checks;
 * - link-table.ts: the links to peers and the multiplexer session on each; who is in the mesh is
 *   decided there, by the links, not by the server;
 * - signals.ts: the signed offers, answers and candidates that form links;
 * - topology.ts: the questions that depend on the room's topology, answered by full-topology.ts
 *   (a link to every member) or scamp-topology.ts (SCAMP views, links on demand, the signal relay);
 * - messaging.ts: mailboxes, calls and exposed objects, routed over the links;
 * - services/clusters/: service clusters (requests, broadcasts, topics) and their directory.
 *
 * The server's roster only says whom to connect to, so the mesh keeps working while the server is
 * away, and the client rejoins the same room under the same id when it returns.
 */
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import { Identity } from '../identity/identity.js'
import { SignalingClient, type SignalingState } from '../signaling/client.js'
import { WebRtcLink } from '../transport/webrtc-link.js'
import { Emitter } from '../util/emitter.js'
import { checkMeshOptions, type MeshJoinOptions, type ResolvedMeshOptions } from './options.js'
import type { Connection } from '../channels/connection.js'
import type { MuxSessionStats } from '../mux/session.js'
import { SharedInboundBudget, type SharedBudgetStats } from '../mux/shared-budget.js'
import type { CallOptions } from '../rpc/call.js'
import type { Remote } from '../rpc/remote-object.js'
import { resolveServeLimits } from '../rpc/serve-limits.js'
import type { Mailbox, MailboxHandler, MailboxOptions, MailboxRef, SpawnOptions } from '../services/mailboxes.js'
import { Messaging, type ExposedObject } from './messaging.js'
import { Clusters } from '../services/clusters/clusters.js'
import type { ServiceLimits } from '../services/clusters/limits.js'
import type { ClusterHandlers, Service, Subscription, TopicHandler } from '../services/clusters/service.js'
import type { Tunnel } from '../services/clusters/tunnel.js'
import { peerRef, type HopTransport, type PeerRef } from '../scope/here.js'
import { HOP_MAILBOX, serveHop } from '../scope/hop.js'
import { FullTopology } from './full-topology.js'
import { LinkTable } from './link-table.js'
import type { MeshEvents, MeshGossip, MeshState } from './public-types.js'
import { Roster } from './roster.js'
import { awaitFormingLink } from './forming-link.js'
import { Signals } from './signals.js'
import { PRINCIPAL_MAILBOX, Principals } from './principals.js'
import type { Principal } from '../identity/principal.js'
import type { JsonObject } from '../signaling/protocol.js'
import type { TopologyParts, TopologyPolicy } from './topology.js'
import { SparePeerConnection } from './warm-up.js'

export type { MeshEvents, MeshGossip, MeshState, PeerLeaveReason } from './public-types.js'

/** How long `close()` waits for goodbyes to leave before tearing links down. */
const CLOSE_GRACE_MS = 2_000

export class Mesh {
  /**
   * Joins `room` through the signaling server at `signaling` and resolves once the server welcomed
   * this peer; links to the members then form in the background (`peer:join` for each).
   * Rejects with SIGNALING_UNREACHABLE, SIGNALING_REFUSED, TIMEOUT, ABORTED or INVALID_ARGUMENT — or, in a
   * scamp room on a page whose bundler split the scamp topology into a chunk of its own, with the
   * loader's error if that chunk cannot be fetched.
   */
  static async join(options: MeshJoinOptions): Promise<Mesh> {
    const checked = checkMeshOptions(options)
    const createTopology = await loadTopology(checked)
    // The socket opens while the identity is generated (the hello needs the key, the socket does
    // not), and the WebRTC stack starts up meanwhile: the first link takes the connection made here.
    const generated = options.identity ? Promise.resolve(options.identity) : Identity.generate()
    const signaling = new SignalingClient({
      url: checked.signaling,
      room: checked.room,
      topology: checked.topology,
      identity: generated,
      WebSocket: checked.platform.WebSocket,
      joinTimeoutMs: checked.joinTimeoutMs,
      ...(checked.token !== undefined && { token: checked.token }),
    })
    const welcomed = signaling.start(checked.signal)
    welcomed.catch(() => {}) // awaited below, once the mesh exists; a failure before then must not go unhandled
    const spare = new SparePeerConnection(checked.platform.RTCPeerConnection, checked.iceServers)
    let identity: Identity
    try {
      identity = await generated
    } catch (error) {
      spare.close()
      signaling.close()
      throw error
    }
    const mesh = new Mesh({ ...checked, identity }, signaling, createTopology)
    mesh.#spare = spare
    try {
      await welcomed
    } catch (error) {
      await mesh.close()
      throw error
    }
    return mesh
  }

  readonly identity: Identity
  readonly room: string
  readonly #events = new Emitter<MeshEvents>()
  /** The room's members as the signaling server last said (a call to one whose link is forming waits). */
  #roster!: Roster
  #state: MeshState = 'open'
  #closing?: Promise<void>
  readonly #messaging: Messaging
  /** What all peers together may make this one hold (`maxInboundBytes`). */
  readonly #inboundPool: SharedInboundBudget
  readonly #links: LinkTable
  readonly #topology: TopologyPolicy
  readonly #signals: Signals
  readonly #hopTransport: HopTransport
  readonly #clusters: Clusters
  #principals!: Principals
  /** The connection made while joining, for the first link (warm-up.ts). */
  #spare?: SparePeerConnection

  private constructor(
    options: ResolvedMeshOptions,
    private readonly signaling: SignalingClient,
    createTopology: (parts: TopologyParts) => TopologyPolicy,
  ) {
    const identity = (this.identity = options.identity)
    this.room = options.room
    const report = (error: MeshscopeError) => void this.#events.emit('error', error)
    this.#messaging = new Messaging({
      id: () => identity.id,
      connectionTo: (peerId) => this.#links.connectionTo(peerId),
      connect: (peerId) => this.#links.connect(peerId),
      awaitLink: (peerId, callOptions) =>
        this.#topology.linksOnDemand
          ? Promise.resolve(undefined)
          : awaitFormingLink({ links: this.#links, isMember: (id) => this.#roster.has(id) }, peerId, callOptions),
      assertOpen: () => {
        if (this.#state !== 'open') throw new MeshscopeError('MESH_CLOSED', 'the mesh is closed')
      },
      report,
      callTimeoutMs: options.callTimeoutMs,
      maxRequestsInFlight: options.maxRequestsInFlight,
      serveLimits: resolveServeLimits(options.limits.serve),
      principalOf: (peerId) => this.#principals.of(peerId),
    })
    const { heartbeatIntervalMs, peerTimeoutMs, exposeErrorStacks } = options
    const createLink = (peerId: string, session: string, initiator: boolean) =>
      new WebRtcLink({
        initiator,
        RTCPeerConnection: options.platform.RTCPeerConnection,
        iceServers: options.iceServers,
        peerConnection: this.#spare?.take(),
        connectTimeoutMs: options.connectTimeoutMs,
        highWaterMarkBytes: options.highWaterMarkBytes,
        sendSignal: (signal) => void this.#signals.send(peerId, session, signal),
      })
    this.#inboundPool = new SharedInboundBudget(options.maxInboundBytes)
    this.#links = new LinkTable(
      {
        selfId: identity.id,
        createLink,
        router: this.#messaging,
        heartbeatIntervalMs,
        peerTimeoutMs,
        exposeErrorStacks,
        limits: options.limits,
        maxLinks: options.maxLinks,
        inboundPool: this.#inboundPool,
      },
      {
        joined: (peerId) => {
          this.#events.emit('peer:join', peerId)
          this.#topology.linkJoined(peerId)
          this.#clusters.linkJoined(peerId)
        },
        left: (peerId, reason) => {
          // A replaced link's successor already presented its attestation: keep that one.
          if (reason !== 'replaced') this.#principals.forget(peerId)
          this.#clusters.linkLeft(peerId, reason === 'timeout' || reason === 'failed')
          if (reason !== 'replaced') this.#messaging.peerLeft(peerId)
          this.#events.emit('peer:leave', peerId, reason)
        },
        lost: (peerId) => this.#topology.linkLost(peerId),
        keepsIdleLink: (peerId) => this.#topology.keepsIdleLink(peerId),
        report,
      },
    )
    const roster = (this.#roster = new Roster(identity.id))
    const parts: TopologyParts = {
      selfId: identity.id,
      identity,
      room: this.room,
      roster,
      links: this.#links,
      signaling,
      messaging: this.#messaging,
      receiveSignal: (from, payload) => this.#signals.receive(from, payload),
      deliverGossip: (message) => {
        if (!this.#clusters.takeGossip(message)) this.#events.emit('gossip', message)
      },
      report,
    }
    this.#topology = createTopology(parts)
    if (this.#topology.linksOnDemand) this.#links.enableOnDemand(options.idleLinkMs)
    const isOpen = () => this.#state === 'open'
    const principals = (this.#principals = new Principals(identity.id, this.room, options.trustedKeys, report))
    this.#signals = new Signals({
      identity,
      room: this.room,
      roster,
      links: this.#links,
      server: signaling,
      topology: this.#topology,
      isOpen,
      report,
      principals,
    })
    // Before the topology hears the welcome: the offers it starts carry this peer's attestation.
    signaling.events.on('welcome', (welcome) => this.#takeAttestation(welcome.attestation, welcome.serverKey))
    signaling.events.on('token-refreshed', (refreshed) => this.#takeAttestation(refreshed.attestation, undefined))
    signaling.events.on('welcome', (welcome) => this.#topology.welcome(welcome))
    signaling.events.on('peer-joined', (peer) => this.#topology.peerJoined(peer))
    signaling.events.on('peer-left', (peerId) => this.#topology.peerLeft(peerId))
    signaling.events.on('signal', (from, payload) => this.#signals.receive(from, payload))
    signaling.events.on('state', (state) => this.#events.emit('signaling', state))
    signaling.events.on('error', report)
    // Every peer serves scope hops; the blocks themselves are registered by the code it runs.
    this.#hopTransport = { id: identity.id, call: (peerId, name, value, options) => this.call(peerId, name, value, options) }
    const hopPolicy = options.hopPolicy
    this.#messaging.register(HOP_MAILBOX, (request, context) => serveHop(request, context, this.#hopTransport, this, hopPolicy))
    // A linked peer's renewed attestation; one that does not verify is reported and changes nothing.
    this.#messaging.register(PRINCIPAL_MAILBOX, (attestation, context) => this.#principals.renew(context.from, attestation).catch(report))
    this.#clusters = new Clusters({
      id: () => identity.id,
      linkedPeers: () => this.#links.peers,
      register: (name, handler) => this.#messaging.register(name, handler),
      call: (peerId, name, value, callOptions) => this.#messaging.call(peerId, name, value, callOptions),
      send: (peerId, name, value) => this.#messaging.send(peerId, name, value),
      assertOpen: () => {
        if (this.#state !== 'open') throw new MeshscopeError('MESH_CLOSED', 'the mesh is closed')
      },
      report,
      callTimeoutMs: this.#messaging.callTimeoutMs,
      gossip: this.#topology.gossip,
      ownPrincipal: () => this.#principals.of(identity.id),
      ...(this.#topology.linksOnDemand && {
        hasLink: (peerId: string) => this.#links.isJoined(peerId),
        openLink: (peerId: string) =>
          this.#links.connect(peerId).then(
            (connection) => (connection ? 'open' : 'failed'),
            // PEER_BUSY: the member refused, it has no room; TOO_MANY_LINKS: no room here. Neither is a phantom.
            (error: unknown) => (isMeshscopeError(error, 'PEER_BUSY') ? 'busy' : 'refused'),
          ),
      }),
    })
    // In a page, leave when the tab goes away: the goodbyes go out synchronously, so peers see the
    // leave at once instead of after `peerTimeoutMs`.
    if (isBrowserPage(globalThis)) globalThis.addEventListener('pagehide', this.#onPageHide)
  }

  #onPageHide = (): void => void this.close()

  /**
   * This peer's attestation from the server (a welcome, a reconnect's welcome, a token refresh): kept
   * for the offers and answers to come, and presented to every linked peer so their view of this
   * peer's principal does not lapse.
   */
  #takeAttestation(attestation: string | undefined, serverKey: JsonObject | undefined): void {
    const previous = this.#principals.ownAttestation
    void this.#principals.ownFromServer(attestation, serverKey as JsonWebKey | undefined)
    if (attestation === undefined || previous === undefined || attestation === previous) return
    for (const peerId of this.#links.peers) {
      this.#messaging.send(peerId, PRINCIPAL_MAILBOX, attestation).catch((error: unknown) => {
        if (error instanceof MeshscopeError && error.code !== 'PEER_GONE' && error.code !== 'MESH_CLOSED') this.#events.emit('error', error)
      })
    }
  }

  /**
   * The verified principal of a peer (this peer's own for `mesh.id`): in a room with auth, from the
   * server-signed attestation the peer presented when its link formed (or renewed since); undefined
   * in a room without auth, for a peer not linked, or once its attestation has expired unrenewed.
   */
  principalOf(peerId: string): Principal | undefined {
    return this.#principals.of(peerId)
  }

  /**
   * Gossip over SCAMP; only in the `scamp` topology (INVALID_ARGUMENT otherwise). Values arrive as
   * the `gossip` event on every other member.
   */
  get gossip(): MeshGossip {
    const gossip = this.#topology.gossip
    if (!gossip) throw new MeshscopeError('INVALID_ARGUMENT', 'gossip needs the scamp topology (Mesh.join({ topology: "scamp" }))')
    return gossip
  }

  /** This peer's self-certifying id. */
  get id(): string {
    return this.identity.id
  }

  /** Ids of the peers with an open link, sorted. */
  get peers(): string[] {
    return this.#links.peers
  }

  get state(): MeshState {
    return this.#state
  }

  get signalingState(): SignalingState {
    return this.signaling.state
  }

  /** Listens to `event` until unsubscribed (the returned function, or `options.signal`) or the mesh closes. */
  on<E extends keyof MeshEvents>(event: E, listener: (...args: MeshEvents[E]) => void, options?: { signal?: AbortSignal }): () => void {
    return this.#events.on(event, listener, options)
  }

  /** Like `on`, for the next `event` only; returns the function that cancels it. */
  once<E extends keyof MeshEvents>(event: E, listener: (...args: MeshEvents[E]) => void, options?: { signal?: AbortSignal }): () => void {
    return this.#events.once(event, listener, options)
  }

  /** Removes a listener added with `on` (one added with `once` is cancelled by the function it returned). */
  off<E extends keyof MeshEvents>(event: E, listener: (...args: MeshEvents[E]) => void): void {
    this.#events.off(event, listener)
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

  /**
   * A mailbox object with selective receive (`receive`, `receiveIf`), registered under `name` until
   * closed. Bounded: it holds at most `options.capacity` messages (default 1 000) and
   * `options.maxQueuedBytes` bytes (default 16 MiB); a message past either is refused, and its
   * sender's `send` or `call` rejects with MAILBOX_FULL. A message a waiting receive takes is never queued.
   */
  mailbox<T = unknown>(name: string, options?: MailboxOptions): Mailbox<T> {
    return this.#messaging.mailbox<T>(name, options)
  }

  /**
   * A mailbox `name` with its own loop (Factor's `spawn`, `spawn-linked` with `options.linkedTo`):
   * `loop(self)` runs at once; when it ends the mailbox closes. Its uncaught error makes the
   * parent's next receive throw a LinkedError (LINKED_ERROR), or is reported as HANDLER_FAILED
   * when unlinked. A `call` from the loop to its own mailbox fails with SELF_CALL. For a task
   * without a mailbox, `parent.spawnLinked(task)`.
   */
  spawn<T = unknown>(name: string, loop: (self: Mailbox<T>) => unknown, options?: SpawnOptions): Mailbox<T> {
    return this.#messaging.spawn<T>(name, loop, options)
  }

  /** A reference to this peer's mailbox `name`, to put inside messages so the receiver can answer it. */
  ref<T = unknown, R = unknown>(name: string): MailboxRef<T, R> {
    return this.#messaging.ref<T, R>(name)
  }

  /**
   * Sends a value to mailbox `name` on a peer, without a reply. The value may hold anything the codec
   * carries, channel halves and functions included (they arrive live). Resolves once the peer
   * accepted the message: its `register` handler was invoked, or its mailbox object queued it (a
   * round trip; sends do not wait for each other, so pipeline them with `Promise.all`). What the
   * handler does next is the receiver's: a throw is reported there as HANDLER_FAILED. Rejects with
   * UNKNOWN_MAILBOX, MAILBOX_FULL, TOO_MANY_STREAMS (the peer has as many streams open as it allows),
   * MESH_CLOSED (this mesh or the peer's is closing), LINK_CLOSED (the link closed before the peer
   * accepted), PEER_GONE (the peer left), TIMEOUT (no answer within `callTimeoutMs`), PEER_NOT_CONNECTED,
   * a codec error (the value cannot travel; nothing was sent) or ITEM_TOO_LARGE. Sending to `mesh.id`
   * runs locally, with the same meaning.
   */
  send(peerId: string, name: string, value: unknown): Promise<void> {
    return this.#messaging.send(peerId, name, value)
  }

  /**
   * Calls mailbox `name` on a peer and resolves with the handler's reply. Rejects with
   * UNKNOWN_MAILBOX, MAILBOX_FULL, REMOTE_ERROR (a RemoteError: the handler threw), TIMEOUT (after
   * `options.timeout`, by default the mesh's `callTimeoutMs`), ABORTED (the handler's signal aborts
   * too), TOO_MANY_STREAMS, MESH_CLOSED (the peer is closing), PEER_GONE (the peer left before
   * replying), PEER_NOT_CONNECTED or a codec error.
   */
  call<R = unknown>(peerId: string, name: string, value: unknown, options?: CallOptions): Promise<R> {
    return this.#messaging.call(peerId, name, value, options) as Promise<R>
  }

  /**
   * Makes `impl`'s methods callable from other peers as `mesh.remote<T>(thisId, name)`. Returns its
   * provider handle: calling it, `withdraw()` or disposing it withdraws the object — later calls
   * fail with WITHDRAWN, and the proxies that learn it are closed.
   */
  expose(name: string, impl: object): ExposedObject {
    return this.#messaging.expose(name, impl)
  }

  /** A peer to `hop` to (scope hops); `mesh.peer(mesh.id)` runs hops locally, without the network. */
  peer(peerId: string): PeerRef {
    if (typeof peerId !== 'string') throw new MeshscopeError('INVALID_ARGUMENT', 'peer takes a peer id')
    return peerRef(this.#hopTransport, peerId)
  }

  /**
   * A typed proxy of the object a peer exposed as `name`: every method returns a promise. Calls fail
   * like `call` does; an unknown method with UNKNOWN_METHOD, a withdrawn object with WITHDRAWN.
   * `options` (timeout, signal) apply to every call made through this proxy. `proxy.isClosed` /
   * `proxy.closed()`: once a call learned the object was withdrawn, or the peer left, the proxy is
   * closed and its calls fail at once.
   */
  remote<T>(peerId: string, name: string, options?: CallOptions): Remote<T> {
    return this.#messaging.remote<T>(peerId, name, options)
  }

  /**
   * Joins `cluster` (1..128 characters) as a member: requests to the cluster may reach
   * `handlers.request` (its return value is the caller's result, a throw reaches the caller as a
   * RemoteError), broadcasts reach `handlers.broadcast`. `limits` bound the work taken on at once:
   * `requestConcurrency` handlers (4 × cores in Node, 4 in a tab) and `requestMemory` bytes (64 MiB;
   * a request past it is refused with SERVICE_OVERLOADED, a broadcast dropped and counted).
   * Resolves once linked peers were told. `service.close()` leaves. INVALID_ARGUMENT if this peer
   * already serves the cluster.
   */
  serve<T = unknown, R = unknown>(cluster: string, handlers: ClusterHandlers<T, R>, limits?: ServiceLimits): Promise<Service> {
    return this.#clusters.serve(cluster, handlers as ClusterHandlers, limits)
  }

  /**
   * Sends `value` to exactly one member of `cluster` — the one with the most spare capacity, this
   * peer included when it is a member — and resolves with its handler's result. At most once: a
   * request handed to a member's handler is never retried on another. Rejects with NO_MEMBER (no
   * member within the timeout), TIMEOUT (`options.timeout`, by default `callTimeoutMs`; under 1 ms is
   * INVALID_ARGUMENT), SERVICE_OVERLOADED (over the member's `requestMemory`), SERVICE_CLOSED (the
   * member left or closed the service with the request), REMOTE_ERROR (the handler threw), ABORTED,
   * MESH_CLOSED or a codec error.
   */
  request<R = unknown>(cluster: string, value: unknown, options?: CallOptions): Promise<R> {
    return this.#clusters.request(cluster, value, options) as Promise<R>
  }

  /**
   * Opens an ordered, two-way tunnel to one member of `cluster` (chosen as for `request`), whose
   * `tunnel` handler gets the other side: `send(value, { timeout })`, `receive({ timeout })`,
   * `for await … of tunnel`, `close()`. Each direction is ordered and throttled by credit (a slow reader slows the
   * writer); a message up to the codec limit (16 MiB encoded) arrives whole. Rejects with NO_MEMBER
   * (no member took it within `options.timeout`, by default `callTimeoutMs`), SERVICE_CLOSED (the
   * member went away), INVALID_ARGUMENT or MESH_CLOSED. Once either side closes, pending and later
   * operations fail with SERVICE_CLOSED.
   */
  tunnel<TSend = unknown, TReceive = unknown>(cluster: string, options?: { timeout?: number }): Promise<Tunnel<TSend, TReceive>> {
    return this.#clusters.tunnel(cluster, options) as Promise<Tunnel<TSend, TReceive>>
  }

  /**
   * Hands `value` to every member of `cluster` once, this peer too if it is a member. Best effort:
   * resolves when each member took it or failed; a member over its `requestMemory` drops it; no
   * ordering between broadcasts.
   */
  broadcast(cluster: string, value: unknown): Promise<void> {
    return this.#clusters.broadcast(cluster, value)
  }

  /**
   * Subscribes to `topic`: every event published on it reaches `handler` once, within `limits` (as
   * for `serve`; an event past `requestMemory` is dropped and counted in `sub.stats()`). Rejects with
   * ALREADY_SUBSCRIBED if this peer subscribes already. `sub.close()` or `unsubscribe(topic)` ends it.
   */
  subscribe<T = unknown>(topic: string, handler: TopicHandler<T>, limits?: ServiceLimits): Promise<Subscription> {
    return this.#clusters.subscribe(topic, handler as TopicHandler, limits)
  }

  /** Ends this peer's subscription to `topic`; NOT_SUBSCRIBED if there is none. */
  unsubscribe(topic: string): Promise<void> {
    return this.#clusters.unsubscribe(topic)
  }

  /** Hands `value` to every subscriber of `topic` once, this peer too if subscribed. Best effort, like `broadcast`. */
  publish(topic: string, value: unknown): Promise<void> {
    return this.#clusters.publish(topic, value)
  }

  /** The clusters and topics this peer knows, with their members (this peer's own included). */
  directory(): { clusters: Record<string, string[]>; topics: Record<string, string[]> } {
    return this.#clusters.directory.snapshot()
  }

  /**
   * What each joined peer holds here now, by peer id: its multiplexer session's streams, the memory
   * its received data retains (unread or under assembly), the credit granted to it and the control
   * frames waiting for its link — to compare with `limits.mux` (docs/architecture.md, "Resource budgets");
   * and `mesh`, what all of them together have committed here, against `maxInboundBytes`.
   */
  stats(): { peers: Record<string, MuxSessionStats>; mesh: SharedBudgetStats } {
    const peers: Record<string, MuxSessionStats> = {}
    for (const peerId of this.peers) {
      const connection = this.#links.connectionTo(peerId)
      if (connection) peers[peerId] = connection.session.stats()
    }
    return { peers, mesh: this.#inboundPool.stats() }
  }

  /** The channel-layer connection to a joined peer (for layers built on the mesh). */
  connectionTo(peerId: string): Connection | undefined {
    return this.#links.connectionTo(peerId)
  }

  /**
   * Sends the signaling server a fresh token (`token`, or the `token` function's) before the current
   * one expires: verified like the join's, with the same `sub`. Resolves once the server accepted it.
   * Rejects with TOKEN_INVALID, TOKEN_EXPIRED, ROOM_FORBIDDEN, NOT_JOINED (not connected to the
   * server now) or TIMEOUT. A member whose token expires unrefreshed is removed by the server (close
   * 4008) and rejoins with its token function if it has one.
   */
  async refreshToken(token?: string): Promise<void> {
    await this.signaling.refreshToken(token)
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
    // While the links still take messages: the directory hears this peer serves nothing any more,
    // then the topology's leave rule (SCAMP unsubscribes).
    await withDeadline(this.#clusters.leave(), CLOSE_GRACE_MS / 4)
    if (this.#topology.leave) await withDeadline(this.#topology.leave(), CLOSE_GRACE_MS / 2)
    this.#state = 'closing'
    this.#spare?.close()
    this.#clusters.close()
    if (isBrowserPage(globalThis)) globalThis.removeEventListener('pagehide', this.#onPageHide)
    this.signaling.close()
    // A joined peer gets a GOAWAY; no leaves are announced from here on.
    await this.#links.close(CLOSE_GRACE_MS)
    this.#state = 'closed'
    this.#events.removeAllListeners()
  }
}

/** Waits for `promise`, but no longer than `ms`. */
async function withDeadline(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

function isBrowserPage(scope: typeof globalThis): boolean {
  return typeof (scope as { document?: unknown }).document === 'object' && typeof scope.addEventListener === 'function'
}

/**
 * The room's topology, as a factory for the mesh to call with its parts. The scamp topology (SCAMP,
 * the signal relay: about a fifth of a page's meshscope code) is loaded only by a mesh that joins a
 * scamp room, so a bundler puts it in a chunk of its own that full-mesh pages never fetch.
 */
async function loadTopology(options: Pick<ResolvedMeshOptions, 'topology' | 'gossip'>): Promise<(parts: TopologyParts) => TopologyPolicy> {
  if (options.topology !== 'scamp') return (parts) => new FullTopology(parts)
  const { ScampTopology } = await import('./scamp-topology.js')
  return (parts) => new ScampTopology(parts, options.gossip)
}
