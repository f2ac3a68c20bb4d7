/**
 * Service clusters, Iris style: peers address a cluster — every peer that serves the same sub-task,
 * any number of them — by name instead of by peer. A request goes to exactly one member, chosen by
 * the spare capacity members report (directory announcements, then every reply), at most once; a
 * broadcast goes to every member; an event published on a topic to every subscriber. The directory
 * (directory.ts) is kept by the peers themselves over internal mailboxes (protocol.ts): no relay.
 *
 * This is the part the mesh composes; it reaches peers only through `ClusterHost` (host.ts: the
 * mesh's mailboxes, calls, links and gossip); member-call.ts reads a remote member's answers.
 * It is the facade of the part — one method per API call and the mailbox each one's far side
 * serves, plus announcing this peer's membership; the state lives in directory.ts, service.ts,
 * work-queue.ts and tunnel.ts.
 */
import { MeshscopeError, isMeshscopeError } from '../../errors.js'
import { Receiver, Sender, channel } from '../../channels/mpsc.js'
import { isTimeoutMs, type CallOptions } from '../../rpc/call.js'
import { RemoteError } from '../../rpc/errors.js'
import type { CallContext } from '../../rpc/serve.js'
import { GOSSIP_KEY, MembershipAnnouncer } from './announcer.js'
import { ClusterDirectory } from './directory.js'
import type { ClusterHost } from './host.js'
import { NotServing, callMember } from './member-call.js'
import { MemberChoice } from './member-choice.js'
import { GOSSIP_DIRECTORY, MEMBER_LINKS, resolveServiceLimits, type ServiceLimits } from './limits.js'
import {
  BROADCAST_MAILBOX,
  DIRECTORY_MAILBOX,
  EVENT_MAILBOX,
  MAX_REPORTED_SPARE,
  REQUEST_MAILBOX,
  deliveryFromWire,
  outcomeToWire,
  refusalToWire,
  requestFromWire,
  requestToWire,
  TUNNEL_MAILBOX,
  tunnelOpeningFromWire,
  validateClusterName,
} from './protocol.js'
import { TUNNEL_CAPACITY, Tunnel } from './tunnel.js'
import { HandlerThrew, Service, Subscription, type ClusterHandlers, type TopicHandler } from './service.js'

export type { ClusterHost } from './host.js'

export class Clusters {
  readonly directory: ClusterDirectory
  #services = new Map<string, Service>()
  #subscriptions = new Map<string, Subscription>()
  readonly #members: MemberChoice
  readonly #announcer: MembershipAnnouncer
  #closed = false

  constructor(
    private readonly host: ClusterHost,
    private readonly clock: () => number = Date.now,
  ) {
    this.directory = new ClusterDirectory(host.id(), clock)
    // The answer says whether the announcement was taken, so the refusal's code reaches its sender.
    host.register(DIRECTORY_MAILBOX, (value, context) => refusalToWire(this.directory.accept(context.from, value, this.#expiresAt())))
    host.register(REQUEST_MAILBOX, (value, context) => this.#serveRequest(value, context))
    host.register(TUNNEL_MAILBOX, (value, context) => this.#serveTunnel(value, context))
    host.register(BROADCAST_MAILBOX, (value, context) => {
      const delivery = deliveryFromWire(value)
      if (delivery instanceof MeshscopeError) throw delivery
      this.#services.get(delivery.name)?.broadcast(delivery.value, context)
    })
    host.register(EVENT_MAILBOX, (value, context) => {
      const delivery = deliveryFromWire(value)
      if (delivery instanceof MeshscopeError) throw delivery
      this.#subscriptions.get(delivery.name)?.event(delivery.value, context)
    })
    this.#members = new MemberChoice(host, this.directory, clock)
    this.#announcer = new MembershipAnnouncer(host, this.directory, () => this.#services.size + this.#subscriptions.size > 0, clock)
  }

  /** When an announcement heard now stops counting: never in a full-mesh room (it goes with its link), after the expiry in a scamp room. */
  #expiresAt(): number {
    return this.host.gossip ? this.clock() + GOSSIP_DIRECTORY.expiryMs : Number.POSITIVE_INFINITY
  }

  /**
   * A gossip message reached this peer: true when it was a directory announcement (taken here, never
   * shown to the application), false when it is the application's.
   */
  takeGossip(message: { origin: string; value: unknown }): boolean {
    const value = message.value
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, GOSSIP_KEY)) return false
    if (message.origin === this.host.id() || this.#closed) return true
    const refusal = this.directory.accept(message.origin, (value as Record<string, unknown>)[GOSSIP_KEY], this.#expiresAt())
    if (refusal) this.host.report(new MeshscopeError(refusal.code, `gossip from ${message.origin}: ${refusal.message}`))
    return true
  }

  // ── membership ─────────────────────────────────────────────────────────────

  async serve(cluster: string, handlers: ClusterHandlers, limits?: ServiceLimits): Promise<Service> {
    this.host.assertOpen()
    validateClusterName('cluster', cluster)
    if (typeof handlers !== 'object' || handlers === null) throw new MeshscopeError('INVALID_ARGUMENT', 'serve takes an object of handlers')
    for (const kind of ['request', 'broadcast', 'tunnel'] as const) {
      if (handlers[kind] !== undefined && typeof handlers[kind] !== 'function')
        throw new MeshscopeError('INVALID_ARGUMENT', `handlers.${kind} must be a function`)
    }
    if (this.#services.has(cluster)) throw new MeshscopeError('INVALID_ARGUMENT', `this peer already serves cluster "${cluster}"`)
    const service = new Service(
      cluster,
      handlers,
      resolveServiceLimits(limits),
      (closed) => this.#left(closed),
      (error) => this.host.report(error),
      this.clock,
    )
    this.#services.set(cluster, service)
    this.directory.addLocalCluster(cluster, () => service.spare)
    await this.#announcer.announceChange()
    return service
  }

  async subscribe(topic: string, handler: TopicHandler, limits?: ServiceLimits): Promise<Subscription> {
    this.host.assertOpen()
    validateClusterName('topic', topic)
    if (typeof handler !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'subscribe takes a handler function')
    if (this.#subscriptions.has(topic)) throw new MeshscopeError('ALREADY_SUBSCRIBED', `this peer already subscribes to topic "${topic}"`)
    const subscription = new Subscription(
      topic,
      handler,
      resolveServiceLimits(limits),
      (closed) => this.#unsubscribed(closed),
      (error) => this.host.report(error),
      this.clock,
    )
    this.#subscriptions.set(topic, subscription)
    this.directory.addLocalTopic(topic)
    await this.#announcer.announceChange()
    return subscription
  }

  async unsubscribe(topic: string): Promise<void> {
    validateClusterName('topic', topic)
    const subscription = this.#subscriptions.get(topic)
    if (!subscription) throw new MeshscopeError('NOT_SUBSCRIBED', `this peer does not subscribe to topic "${topic}"`)
    subscription.close()
    await this.#announcer.pending
  }

  #left(service: Service): void {
    if (this.#services.get(service.cluster) !== service) return
    this.#services.delete(service.cluster)
    this.directory.removeLocalCluster(service.cluster)
    if (!this.#closed) void this.#announcer.announceChange()
  }

  #unsubscribed(subscription: Subscription): void {
    if (this.#subscriptions.get(subscription.topic) !== subscription) return
    this.#subscriptions.delete(subscription.topic)
    this.directory.removeLocalTopic(subscription.topic)
    if (!this.#closed) void this.#announcer.announceChange()
  }

  // ── requests ───────────────────────────────────────────────────────────────

  async request(cluster: string, value: unknown, options: CallOptions = {}): Promise<unknown> {
    this.host.assertOpen()
    validateClusterName('cluster', cluster)
    const timeout = options.timeout ?? this.host.callTimeoutMs
    if (!isTimeoutMs(timeout) || timeout < 1) throw new MeshscopeError('INVALID_ARGUMENT', 'timeout must be at least 1 ms, or Infinity')
    if (options.signal?.aborted) throw new MeshscopeError('ABORTED', 'the request was aborted', { cause: options.signal.reason })
    const deadline = this.clock() + timeout
    const signal = options.signal
    const self = this.host.id()
    let tried: Set<string> | undefined
    for (;;) {
      // A linked member with spare capacity is taken synchronously; waiting for one only when there is none.
      const member = this.#members.pick(cluster, tried) ?? (await this.#members.choose(cluster, (tried ??= new Set()), deadline, signal))
      const remainingMs = Math.max(1, deadline - this.clock())
      if (member !== self) this.#members.track(member, cluster)
      try {
        return member === self
          ? await this.#requestLocally(cluster, value, remainingMs, signal)
          : await callMember(
              this.host,
              this.directory,
              { member, cluster, mailbox: REQUEST_MAILBOX },
              requestToWire({ cluster, value, deadlineMs: remainingMs }),
              signal ? { timeout: remainingMs, signal } : { timeout: remainingMs },
            )
      } catch (error) {
        // A member that let a request time out is taken as having nothing spare until it says
        // otherwise (its next reply or announcement): one that claims capacity and never answers
        // does not draw every request.
        if (error instanceof MeshscopeError && error.code === 'TIMEOUT' && member !== self) this.directory.updateSpare(member, cluster, -MAX_REPORTED_SPARE)
        if (!(error instanceof NotServing)) throw error
        ;(tried ??= new Set()).add(member)
      } finally {
        if (member !== self) this.#members.untrack(member, cluster)
      }
    }
  }

  /** A request to this peer's own service: the same queue and limits, no encoding; TIMEOUT and ABORTED as for a remote member. */
  async #requestLocally(cluster: string, value: unknown, timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    const service = this.#services.get(cluster)
    if (!service?.servesRequests) throw new NotServing()
    const controller = new AbortController()
    let giveUp!: (error: MeshscopeError) => void
    const givenUp = new Promise<never>((_, reject) => (giveUp = reject))
    const stop = (error: MeshscopeError) => {
      giveUp(error) // first: the caller's reason wins the race with the queue's ABORTED
      controller.abort(error)
    }
    const timer =
      timeoutMs === Number.POSITIVE_INFINITY ? undefined : setTimeout(() => stop(new MeshscopeError('TIMEOUT', `no reply within ${timeoutMs} ms`)), timeoutMs)
    const onAbort = () => stop(new MeshscopeError('ABORTED', 'the request was aborted', { cause: signal?.reason }))
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await Promise.resolve() // like a remote request, never synchronous
      const context: CallContext = { from: this.host.id(), principal: this.host.ownPrincipal?.(), signal: controller.signal }
      const running = service.request(value, context, this.clock() + timeoutMs)
      running.catch(() => {})
      return await Promise.race([running, givenUp])
    } catch (error) {
      if (error instanceof HandlerThrew) throw new RemoteError(this.host.id(), asError(error.error), true)
      throw error
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** A member's side of a request: the outcome (value or refusal, with this member's spare capacity); a handler's throw is thrown as is. */
  #serveRequest(value: unknown, context: CallContext): unknown {
    const request = requestFromWire(value)
    if (request instanceof MeshscopeError) throw request
    const service = this.#services.get(request.cluster)
    if (!service?.servesRequests) {
      return outcomeToWire({ kind: 'refused', code: 'NO_MEMBER', message: `not a member of "${request.cluster}"`, spare: 0 })
    }
    const refused = (error: unknown) => {
      if (error instanceof HandlerThrew) throw error.error
      for (const code of ['SERVICE_OVERLOADED', 'SERVICE_CLOSED', 'TIMEOUT'] as const) {
        if (isMeshscopeError(error, code)) return outcomeToWire({ kind: 'refused', code, message: error.message, spare: service.spare })
      }
      throw error // ABORTED: the caller gave up and is not listening
    }
    // Promise callbacks rather than an async function: one promise hop fewer per request.
    let running: Promise<unknown>
    try {
      running = service.request(request.value, context, this.clock() + request.deadlineMs)
    } catch (error) {
      return refused(error) // over memory or closed: refused at once
    }
    return running.then((result) => outcomeToWire({ kind: 'value', value: result, spare: service.spare }), refused)
  }

  // ── tunnels ────────────────────────────────────────────────────────────────

  /**
   * Opens a tunnel to one member of `cluster` (chosen as for a request), whose `tunnel` handler gets
   * the other side. NO_MEMBER when none takes it within `timeout`.
   */
  async tunnel(cluster: string, options: { timeout?: number } = {}): Promise<Tunnel> {
    this.host.assertOpen()
    validateClusterName('cluster', cluster)
    const timeout = options.timeout ?? this.host.callTimeoutMs
    if (!isTimeoutMs(timeout) || timeout < 1) throw new MeshscopeError('INVALID_ARGUMENT', 'timeout must be at least 1 ms, or Infinity')
    const deadline = this.clock() + timeout
    const tried = new Set<string>()
    for (;;) {
      const member = await this.#members.choose(cluster, tried, deadline, undefined)
      const [toMember, memberReceives] = channel<unknown>(TUNNEL_CAPACITY)
      const [memberSends, fromMember] = channel<unknown>(TUNNEL_CAPACITY)
      const tunnel = new Tunnel(member, toMember, fromMember)
      try {
        await this.#openTunnelAt(member, cluster, memberReceives, memberSends, deadline)
        return tunnel
      } catch (error) {
        tunnel.close()
        if (!(error instanceof NotServing)) throw error
        tried.add(member)
      }
    }
  }

  async #openTunnelAt(member: string, cluster: string, incoming: unknown, outgoing: unknown, deadline: number): Promise<void> {
    const self = this.host.id()
    if (member === self) {
      const service = this.#services.get(cluster)
      if (!service?.servesTunnels) throw new NotServing()
      if (!service.hasRoomForTunnel) throw new MeshscopeError('SERVICE_OVERLOADED', `"${cluster}" has as many tunnels open as it takes`)
      const opening = tunnelOpeningFromWire([cluster, incoming, outgoing])
      if (opening instanceof MeshscopeError) throw opening
      service.acceptTunnel(opening.outgoing, opening.incoming, { from: self, signal: new AbortController().signal })
      return
    }
    const remainingMs = Math.max(1, deadline - this.clock())
    await callMember(this.host, this.directory, { member, cluster, mailbox: TUNNEL_MAILBOX }, [cluster, incoming, outgoing], { timeout: remainingMs })
  }

  /** A member's side of a tunnel's opening: its halves go to the `tunnel` handler, or are closed when it has none. */
  #serveTunnel(value: unknown, context: CallContext): unknown {
    const opening = tunnelOpeningFromWire(value)
    if (opening instanceof MeshscopeError) {
      // Channel halves that came with a malformed opening would hold their streams until collected: close them now.
      if (Array.isArray(value)) for (const half of value) if (half instanceof Receiver || half instanceof Sender) half.close()
      throw opening
    }
    const service = this.#services.get(opening.cluster)
    if (!service?.servesTunnels) {
      opening.incoming.close()
      opening.outgoing.close()
      return outcomeToWire({ kind: 'refused', code: 'NO_MEMBER', message: `not a member of "${opening.cluster}" that takes tunnels`, spare: 0 })
    }
    if (!service.hasRoomForTunnel) {
      opening.incoming.close()
      opening.outgoing.close()
      return outcomeToWire({
        kind: 'refused',
        code: 'SERVICE_OVERLOADED',
        message: `"${opening.cluster}" has as many tunnels open as it takes`,
        spare: service.spare,
      })
    }
    service.acceptTunnel(opening.outgoing, opening.incoming, context)
    return outcomeToWire({ kind: 'value', value: null, spare: service.spare })
  }

  // ── broadcasts and events ──────────────────────────────────────────────────

  /** Hands `value` to every member of `cluster` once (this peer too if it is one); best effort, resolves when each member took it or failed. */
  async broadcast(cluster: string, value: unknown): Promise<void> {
    this.host.assertOpen()
    validateClusterName('cluster', cluster)
    await this.#deliverToAll(this.directory.membersOf(cluster), BROADCAST_MAILBOX, cluster, value, (context) =>
      this.#services.get(cluster)?.broadcast(value, context),
    )
  }

  /** Hands `value` to every subscriber of `topic` once (this peer too if subscribed); best effort, like `broadcast`. */
  async publish(topic: string, value: unknown): Promise<void> {
    this.host.assertOpen()
    validateClusterName('topic', topic)
    await this.#deliverToAll(this.directory.subscribersOf(topic), EVENT_MAILBOX, topic, value, (context) =>
      this.#subscriptions.get(topic)?.event(value, context),
    )
  }

  async #deliverToAll(peers: string[], mailbox: string, name: string, value: unknown, deliverLocally: (context: CallContext) => void): Promise<void> {
    const self = this.host.id()
    await Promise.allSettled(
      peers.map(async (peerId) => {
        if (peerId !== self) return this.host.send(peerId, mailbox, [name, value])
        await Promise.resolve() // like a remote delivery, never synchronous
        deliverLocally({ from: self, principal: this.host.ownPrincipal?.(), signal: new AbortController().signal })
      }),
    )
  }

  // ── links and announcements ────────────────────────────────────────────────

  /** A link opened: the peer gets this peer's membership (and, reachable after all, counts again if it was dropped as unreachable). */
  linkJoined(peerId: string): void {
    if (this.#closed) return
    this.directory.reachable(peerId)
    // A peer that serves and subscribes to nothing has nothing to tell a new link: its directory
    // starts without an entry for this one. Skipping the empty call saves each new link a round trip.
    if (this.#services.size + this.#subscriptions.size === 0) return
    void this.#announcer.announceTo([peerId])
  }

  /**
   * A link went. In a full-mesh room the peer's entry goes with it (its in-flight requests fail through
   * their calls). In a scamp room links close when idle, so entries expire instead — unless the link
   * was `lost` (it timed out or failed: a crashed member): then the peer is dropped as unreachable at
   * once, for MEMBER_LINKS.unreachableCooldownMs, and new requests go to the others.
   */
  linkLeft(peerId: string, lost: boolean): void {
    if (!this.host.gossip) this.directory.drop(peerId)
    else if (lost) this.directory.unreachable(peerId, this.clock() + MEMBER_LINKS.unreachableCooldownMs)
  }

  /**
   * The mesh is about to leave: tells every peer this one serves and subscribes to nothing any more
   * (linked peers directly, a scamp room by gossip as well), so its entries go at once instead of
   * when they expire — new requests go to the other members. Call before the topology leaves.
   */
  async leave(): Promise<void> {
    if (this.#closed || this.#services.size + this.#subscriptions.size === 0) return
    await this.#announcer.announceLeaving()
  }

  /** The mesh closes: services and subscriptions close, waiting requests fail with MESH_CLOSED. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#announcer.close()
    const error = new MeshscopeError('MESH_CLOSED', 'the mesh is closed')
    this.#members.close(error)
    for (const service of [...this.#services.values()]) service.close()
    for (const subscription of [...this.#subscriptions.values()]) subscription.close()
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
