/**
 * A member's side of one cluster (`Service`) and of one topic (`Subscription`): the application's
 * handlers behind bounded work queues (work-queue.ts). Requests over the memory allowance are
 * refused (SERVICE_OVERLOADED, which reaches the caller); broadcasts and events over it are dropped
 * and counted, since nobody waits for them.
 */
import { MeshscopeError } from '../../errors.js'
import type { CallContext } from '../../rpc/serve.js'
import type { Principal } from '../../identity/principal.js'
import { payloadBytes } from './payload-bytes.js'
import type { Receiver, Sender } from '../../channels/mpsc.js'
import { Tunnel } from './tunnel.js'
import { type HandlerAbort, type Work, WorkQueue, type WorkQueueStats } from './work-queue.js'

/** What a member does with the work its cluster receives. */
export interface ClusterHandlers<T = unknown, R = unknown> {
  /** Answers one request; what it returns is the caller's result, what it throws reaches the caller as a RemoteError. */
  request?(value: T, context: CallContext): R | Promise<R>
  /** Receives one broadcast to the cluster; nobody waits for it (a throw is reported here as HANDLER_FAILED). */
  broadcast?(value: T, context: CallContext): unknown
  /**
   * Takes this member's side of a tunnel a caller opened (`mesh.tunnel(cluster)`); the tunnel is the
   * handler's to close. A throw is reported here as HANDLER_FAILED and closes the tunnel.
   */
  tunnel?(tunnel: Tunnel, context: CallContext): unknown
}

/** Receives one event published on a topic; a throw is reported here as HANDLER_FAILED. */
export type TopicHandler<T = unknown> = (value: T, context: CallContext) => unknown

/** Counters of a service: its requests and its broadcasts. */
export interface ServiceStats {
  requests: WorkQueueStats
  broadcasts: WorkQueueStats
  /** This member's sides of tunnels open now. */
  tunnels: number
}

/** A handler's own throw, kept apart from the queue's refusals so a handler's MeshscopeError is not taken for one. */
export class HandlerThrew {
  constructor(readonly error: unknown) {}
}

type Limits = { requestConcurrency: number; requestMemory: number; maxTunnels?: number }

/** This peer's membership of a cluster, from `mesh.serve` until `close()`. */
export class Service {
  readonly #requests: WorkQueue
  readonly #broadcasts: WorkQueue
  readonly #tunnels = new Set<Tunnel>()
  #closed = false

  /** @internal use `mesh.serve(cluster, handlers, limits)` */
  constructor(
    /** The cluster served. */
    readonly cluster: string,
    private readonly handlers: ClusterHandlers,
    limits: Limits,
    private readonly onClose: (service: Service) => void,
    private readonly reportFailure: (error: MeshscopeError) => void,
    clock: () => number,
  ) {
    this.#requests = new WorkQueue(limits, clock)
    this.#broadcasts = new WorkQueue(limits, clock)
    this.#maxTunnels = limits.maxTunnels ?? Number.POSITIVE_INFINITY
  }

  readonly #maxTunnels: number

  /** Whether one more tunnel may open (`maxTunnels`). */
  get hasRoomForTunnel(): boolean {
    return this.#tunnels.size < this.#maxTunnels
  }

  /** Free request handler slots minus queued requests: what this member reports to callers. */
  get spare(): number {
    return this.#requests.spare
  }

  get closed(): boolean {
    return this.#closed
  }

  /** True when the service takes tunnels (it has a `tunnel` handler). */
  get servesTunnels(): boolean {
    return typeof this.handlers.tunnel === 'function'
  }

  /** True when the service answers requests (it has a `request` handler). */
  get servesRequests(): boolean {
    return typeof this.handlers.request === 'function'
  }

  stats(): ServiceStats {
    return { requests: this.#requests.stats(), broadcasts: this.#broadcasts.stats(), tunnels: this.#tunnels.size }
  }

  /**
   * Leaves the cluster: the directory forgets this member, queued and running requests fail with
   * SERVICE_CLOSED (their callers learn it) and the running handlers' signals abort. Idempotent.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    const error = new MeshscopeError('SERVICE_CLOSED', `the service of cluster "${this.cluster}" closed`)
    this.#requests.close(error)
    this.#broadcasts.close(error)
    for (const tunnel of [...this.#tunnels]) tunnel.close()
    this.onClose(this)
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /**
   * @internal Runs a request within the limits; `deadline` is the clock time after which it must not
   * start. Throws SERVICE_OVERLOADED at once when over memory; a handler's throw comes as HandlerThrew.
   */
  request(value: unknown, context: CallContext, deadline: number): Promise<unknown> {
    return this.#requests.offer(new RequestWork(this.handlers, value, context, deadline))
  }

  /** @internal Makes this member's side of a new tunnel and hands it to the `tunnel` handler (closed with the service). */
  acceptTunnel(outgoing: Sender<unknown>, incoming: Receiver<unknown>, context: CallContext): void {
    const tunnel = new Tunnel(context.from, outgoing, incoming, (closed) => this.#tunnels.delete(closed))
    this.#tunnels.add(tunnel)
    const failed = (error: unknown) => {
      tunnel.close()
      this.reportFailure(new MeshscopeError('HANDLER_FAILED', `the tunnel handler of cluster "${this.cluster}" failed: ${String(error)}`, { cause: error }))
    }
    try {
      void Promise.resolve(this.handlers.tunnel!.call(this.handlers, tunnel, context)).catch(failed)
    } catch (error) {
      failed(error)
    }
  }

  /** @internal Takes a broadcast: dropped (and counted) when over memory or without a broadcast handler. */
  broadcast(value: unknown, context: CallContext): void {
    const handler = this.handlers.broadcast
    if (typeof handler !== 'function') return
    deliver(
      this.#broadcasts,
      value,
      (abort) => handler.call(this.handlers, value, handlerContext(context, abort)),
      (error) =>
        this.reportFailure(
          new MeshscopeError('HANDLER_FAILED', `the broadcast handler of cluster "${this.cluster}" failed: ${String(error)}`, { cause: error }),
        ),
    )
  }
}

/** This peer's subscription to a topic, from `mesh.subscribe` until `close()` (or `mesh.unsubscribe(topic)`). */
export class Subscription {
  readonly #events: WorkQueue
  #closed = false

  /** @internal use `mesh.subscribe(topic, handler, limits)` */
  constructor(
    /** The topic subscribed to. */
    readonly topic: string,
    private readonly handler: TopicHandler,
    limits: Limits,
    private readonly onClose: (subscription: Subscription) => void,
    private readonly reportFailure: (error: MeshscopeError) => void,
    clock: () => number,
  ) {
    this.#events = new WorkQueue(limits, clock)
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Counters of the events: running, queued, completed, dropped over memory. */
  stats(): WorkQueueStats {
    return this.#events.stats()
  }

  /** Unsubscribes: the directory forgets it, queued events are dropped, running handlers' signals abort. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#events.close(new MeshscopeError('SERVICE_CLOSED', `the subscription to topic "${this.topic}" closed`))
    this.onClose(this)
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /** @internal Takes an event: dropped (and counted) when over memory. */
  event(value: unknown, context: CallContext): void {
    deliver(
      this.#events,
      value,
      (abort) => this.handler(value, handlerContext(context, abort)),
      (error) => this.reportFailure(new MeshscopeError('HANDLER_FAILED', `the handler of topic "${this.topic}" failed: ${String(error)}`, { cause: error })),
    )
  }
}

/**
 * What a queued broadcast or event costs beyond its payload (its queue entry, closures, promise):
 * ~960 B measured for a `null` one. A request holds a stream at its caller, which bounds how many
 * wait; nobody waits for a broadcast or an event, so only this charge bounds how many queue up
 * (64 MiB of allowance: at most 65 536 of them, not 67 million `null`s).
 */
export const QUEUED_DELIVERY_BYTES = 1024

/** Queues a delivery nobody waits for: over memory it is dropped (the queue counts it); a handler's throw is reported. */
function deliver(queue: WorkQueue, value: unknown, run: (abort: HandlerAbort) => unknown, failed: (error: unknown) => void): void {
  let done: Promise<unknown>
  try {
    done = queue.offer({ bytes: payloadBytes(value) + QUEUED_DELIVERY_BYTES, deadline: Number.POSITIVE_INFINITY, run })
  } catch {
    return // over memory (counted) or closed
  }
  done.catch((error) => {
    if (!(error instanceof MeshscopeError && error.code === 'SERVICE_CLOSED')) failed(error)
  })
}

/** A handler's context: its caller, and its signal made only if the handler reads it (a class: an object literal's getter costs one per object). */
class HandlerContext implements CallContext {
  constructor(
    readonly from: string,
    private readonly abort: HandlerAbort,
    readonly principal: Principal | undefined,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal
  }
}

function handlerContext(context: CallContext, abort: HandlerAbort): CallContext {
  return new HandlerContext(context.from, abort, context.principal)
}

/**
 * One request as queue work. The caller's signal is read only if the request has to wait or its
 * handler reads its own: a served call's signal is made when first read. Not an async function: a
 * synchronous handler's value is taken without a promise hop.
 */
class RequestWork implements Work<unknown> {
  readonly bytes: number

  constructor(
    private readonly handlers: ClusterHandlers,
    private readonly value: unknown,
    private readonly context: CallContext,
    readonly deadline: number,
  ) {
    this.bytes = payloadBytes(value)
  }

  get signal(): AbortSignal {
    return this.context.signal
  }

  run(abort: HandlerAbort): unknown {
    let result: unknown
    try {
      result = this.handlers.request!.call(this.handlers, this.value, new HandlerContext(this.context.from, abort, this.context.principal))
    } catch (error) {
      throw new HandlerThrew(error)
    }
    if (!isThenable(result)) return result
    return Promise.resolve(result).catch((error: unknown) => {
      throw new HandlerThrew(error)
    })
  }
}

function isThenable(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
