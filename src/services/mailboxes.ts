/**
 * Named mailboxes, Factor/Erlang style. A mailbox is either a handler (`register`: its return value
 * is the reply to a call) or a `Mailbox` object with selective receive: `receive()` takes the oldest
 * message, `receiveIf(predicate)` the oldest that matches, and the others stay queued in order.
 * A `MailboxRef` names a mailbox on a peer and can travel inside messages, so whoever receives it can
 * send or call back.
 *
 * A mailbox object is bounded (MAILBOX_DEFAULTS): a message past `capacity` messages or
 * `maxQueuedBytes` bytes is refused with MAILBOX_FULL, and the refusal reaches its sender. Refusal,
 * not backpressure: a request stream has no credit to withhold once its request arrived, and holding
 * the sender's stream would pin its bytes here and let one full mailbox use up the peer's stream
 * budget for every other mailbox. An arriving message is matched against the waiting receives only
 * (never the queue: a queued message matched none of them); the queue is scanned once per `receiveIf`.
 *
 * Linked processes, as Factor's `spawn-linked`: `mailbox.spawnLinked(task)` runs a task whose
 * uncaught error goes to that mailbox, and `registry.spawn(name, loop, { linkedTo })` a mailbox with
 * its own loop whose uncaught error goes to the parent; the parent's next receive throws it (a
 * LinkedError). A loop that `call`s its own mailbox fails with SELF_CALL (process-context.ts).
 */
import type { Connection, PeerRouter } from '../channels/connection.js'
import { ENCODE_PORT, type PortPlan, type PortTable } from '../channels/port.js'
import { MeshscopeError } from '../errors.js'
import type { CallOptions } from '../rpc/call.js'
import { validateName } from '../rpc/protocol.js'
import type { CallContext } from '../rpc/serve.js'
import { runAsLoopOf } from './process-context.js'

/** A registered mailbox: called with each message; for a `call`, its result is the reply. */
export type MailboxHandler<T = unknown, R = unknown> = (value: T, context: CallContext) => R | Promise<R>

/** Runs a message; `expectsReply` is true for a call, `bytes` the size of the request that carried it (0 locally). */
type Deliver = (value: unknown, context: CallContext, expectsReply: boolean, bytes: number) => unknown

/** The bounds of a mailbox object, chosen by its owner. */
export interface MailboxOptions {
  /**
   * Messages it holds before refusing the next with MAILBOX_FULL.
   * @default 1_000
   */
  capacity?: number
  /**
   * Bytes of queued messages (as their requests arrived encoded) it holds before refusing the next
   * with MAILBOX_FULL. A message sent from this peer to itself counts 0 bytes.
   * @default 16_777_216 (16 MiB)
   */
  maxQueuedBytes?: number
}

/** The default bounds of a mailbox object: what a tab can hold for a slow reader. */
export const MAILBOX_DEFAULTS = {
  capacity: 1_000,
  maxQueuedBytes: 16 * 1024 * 1024,
} as const satisfies Required<MailboxOptions>

/** Fills in and checks a mailbox's bounds (INVALID_ARGUMENT unless positive integers). */
export function resolveMailboxOptions(options: MailboxOptions = {}): Required<MailboxOptions> {
  const resolved = {
    capacity: options.capacity ?? MAILBOX_DEFAULTS.capacity,
    maxQueuedBytes: options.maxQueuedBytes ?? MAILBOX_DEFAULTS.maxQueuedBytes,
  }
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new MeshscopeError('INVALID_ARGUMENT', `mailbox ${name} must be a positive integer`)
  }
  return resolved
}

/** `spawn`'s options: the mailbox's bounds, and the parent its loop's uncaught error goes to. */
export interface SpawnOptions extends MailboxOptions {
  /** The parent mailbox: an uncaught error of the loop makes its next receive throw (a LinkedError). */
  linkedTo?: Mailbox<unknown>
}

/** A linked task or mailbox loop failed (Factor's linked-error): its error is the `cause`. */
export class LinkedError extends MeshscopeError {
  override name = 'LinkedError'
  constructor(
    /** The name of the linked mailbox whose loop failed; undefined for a task (`spawnLinked`). */
    readonly child: string | undefined,
    cause: unknown,
  ) {
    super(
      'LINKED_ERROR',
      `${child === undefined ? 'a linked task' : `linked mailbox "${child}"`} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    )
  }
}

export class MailboxRegistry {
  #handlers = new Map<string, Deliver>()
  /** Mailboxes made by `spawn`, while their loop runs: a `call` from a loop to its own is SELF_CALL. */
  #spawned = new Map<string, Mailbox<unknown>>()

  /** `report`: where an unlinked spawned loop's uncaught error goes (the mesh's `error` event). */
  constructor(private readonly report: (error: MeshscopeError) => void = () => {}) {}

  /**
   * A mailbox `name` with its own loop (Factor's `spawn`): `loop(self)` runs at once and reads
   * `self`; when it ends the mailbox is closed. Its uncaught error goes to `options.linkedTo` (the
   * parent's next receive throws a LinkedError), or is reported as HANDLER_FAILED if unlinked. A
   * `call` from the loop to its own mailbox fails with SELF_CALL rather than wait for itself.
   */
  spawn<T>(name: string, loop: (self: Mailbox<T>) => unknown, options: SpawnOptions = {}): Mailbox<T> {
    if (typeof loop !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'spawn takes a function')
    const { linkedTo, ...bounds } = options
    const box = this.mailbox<T>(name, bounds)
    this.#spawned.set(name, box as Mailbox<unknown>)
    void (async () => {
      try {
        await runAsLoopOf(box, () => loop(box))
      } catch (error) {
        if (linkedTo) linkedTo.linkFailed(new LinkedError(name, error))
        else this.report(new MeshscopeError('HANDLER_FAILED', `the loop of mailbox "${name}" failed: ${String(error)}`, { cause: error }))
      } finally {
        if (this.#spawned.get(name) === box) this.#spawned.delete(name)
        box.close()
      }
    })()
    return box
  }

  /** Whether `loop` (the running code's `currentLoop()`) is the loop of the spawned mailbox `name`. */
  isLoopOf(name: string, loop: object | undefined): boolean {
    return loop !== undefined && this.#spawned.get(name) === loop
  }

  register<T, R>(name: string, handler: MailboxHandler<T, R>): () => void {
    validateName('mailbox', name)
    if (typeof handler !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'a mailbox handler must be a function')
    return this.#add(name, (value, context) => handler(value as T, context))
  }

  /** A mailbox object with selective receive and bounds, registered under `name` until it is closed. */
  mailbox<T>(name: string, options?: MailboxOptions): Mailbox<T> {
    validateName('mailbox', name)
    const box = new Mailbox<T>(() => remove(), resolveMailboxOptions(options))
    const remove = this.#add(name, (value, context, expectsReply, bytes) => box.deliver(value as T, context, expectsReply, bytes))
    return box
  }

  get(name: string): Deliver | undefined {
    return this.#handlers.get(name)
  }

  #add(name: string, deliver: Deliver): () => void {
    if (this.#handlers.has(name)) throw new MeshscopeError('INVALID_ARGUMENT', `mailbox "${name}" is already registered`)
    this.#handlers.set(name, deliver)
    return () => {
      if (this.#handlers.get(name) === deliver) this.#handlers.delete(name)
    }
  }
}

/** One message in a Mailbox. */
export interface Envelope<T> {
  value: T
  /** The verified id of the sender. */
  from: string
  /** True when the sender is waiting for a reply (`call`). */
  isCall: boolean
  /** Aborts when a calling sender gives up. */
  signal: AbortSignal
  /** Answers a call (once). Throws NOT_A_CALL for a plain send. */
  reply(value: unknown): void
  /** Fails a call with this error (the caller gets a RemoteError). */
  fail(error: Error): void
}

interface Waiter<T> {
  matches: (envelope: Envelope<T>) => boolean
  resolve: (envelope: Envelope<T>) => void
  reject: (error: unknown) => void
}

interface Queued<T> {
  envelope: Envelope<T>
  bytes: number
}

export class Mailbox<T> implements AsyncIterable<Envelope<T>> {
  #queue: Queued<T>[] = []
  #queuedBytes = 0
  #waiters: Waiter<T>[] = []
  #closed = false
  /** Errors of linked tasks and mailboxes, thrown by the next receives, oldest first. */
  #linkedErrors: LinkedError[] = []
  /** The running linked tasks' signals: they abort when this mailbox closes. */
  #children = new Set<AbortController>()

  /** @internal use `mesh.mailbox(name, options)` */
  constructor(
    private readonly unregister: () => void,
    private readonly bounds: Required<MailboxOptions> = MAILBOX_DEFAULTS,
  ) {}

  /** The oldest message. */
  receive(options: CallOptions = {}): Promise<Envelope<T>> {
    return this.receiveIf(() => true, options)
  }

  /** The oldest message whose value matches; the others stay queued, in order. */
  receiveIf(predicate: (value: T, envelope: Envelope<T>) => boolean, options: CallOptions = {}): Promise<Envelope<T>> {
    if (this.#closed) return Promise.reject(new MeshscopeError('MESH_CLOSED', 'this mailbox is closed'))
    const linked = this.#linkedErrors.shift()
    if (linked) return Promise.reject(linked)
    const matches = (envelope: Envelope<T>) => predicate(envelope.value, envelope)
    let index: number
    try {
      index = this.#queue.findIndex((queued) => matches(queued.envelope))
    } catch (error) {
      return Promise.reject(error) // the caller's predicate threw; the queue is as it was
    }
    if (index >= 0) {
      const [taken] = this.#queue.splice(index, 1)
      this.#queuedBytes -= taken!.bytes
      return Promise.resolve(taken!.envelope)
    }
    return new Promise<Envelope<T>>((resolve, reject) => {
      const waiter: Waiter<T> = { matches, resolve, reject }
      const stop = (error: MeshscopeError) => {
        const at = this.#waiters.indexOf(waiter)
        if (at >= 0) this.#waiters.splice(at, 1)
        reject(error)
      }
      const timer =
        options.timeout === undefined
          ? undefined
          : setTimeout(() => stop(new MeshscopeError('TIMEOUT', `no matching message within ${options.timeout} ms`)), options.timeout)
      const onAbort = () => stop(new MeshscopeError('ABORTED', 'receive was aborted', { cause: options.signal?.reason }))
      if (options.signal?.aborted) return onAbort()
      options.signal?.addEventListener('abort', onAbort, { once: true })
      waiter.resolve = (envelope) => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        resolve(envelope)
      }
      waiter.reject = (error) => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        reject(error)
      }
      this.#waiters.push(waiter)
    })
  }

  /**
   * Runs `task` linked to this mailbox (Factor's `spawn-linked`): if it throws or rejects, the next
   * receive here (`receive`, `receiveIf`, the iterator) throws a LinkedError whose `cause` is its
   * error — a receive already waiting is woken with it. `signal` aborts when this mailbox closes.
   * Resolves with the task's result, or undefined when it failed (never rejects).
   */
  spawnLinked<R>(task: (signal: AbortSignal) => R | Promise<R>): Promise<R | undefined> {
    if (typeof task !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'spawnLinked takes a function')
    if (this.#closed) throw new MeshscopeError('MESH_CLOSED', 'this mailbox is closed')
    const controller = new AbortController()
    this.#children.add(controller)
    return (async () => {
      try {
        return await task(controller.signal)
      } catch (error) {
        this.linkFailed(new LinkedError(undefined, error))
        return undefined
      } finally {
        this.#children.delete(controller)
      }
    })()
  }

  /**
   * @internal a linked task or mailbox failed: the oldest waiting receive throws it, or else the
   * next one. Dropped once this mailbox is closed (nobody is left to tell).
   */
  linkFailed(error: LinkedError): void {
    if (this.#closed) return
    const waiter = this.#waiters.shift()
    if (waiter) waiter.reject(error)
    else this.#linkedErrors.push(error)
  }

  /** Messages waiting to be received (at most `capacity`). */
  get size(): number {
    return this.#queue.length
  }

  /** Bytes of the messages waiting to be received, as their requests arrived (at most `maxQueuedBytes`). */
  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /**
   * Unregisters the mailbox: later messages are refused (UNKNOWN_MAILBOX), waiting receives reject
   * (MESH_CLOSED), queued calls fail (their callers get a RemoteError whose `remoteCode` is
   * MESH_CLOSED). Returns the plain sends still queued:
   * their senders were told the messages arrived, so they are handed to the owner rather than
   * dropped (an empty array on a second close).
   */
  close(): Envelope<T>[] {
    if (this.#closed) return []
    this.#closed = true
    this.unregister()
    const error = new MeshscopeError('MESH_CLOSED', 'the mailbox was closed')
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error)
    for (const child of this.#children) child.abort(error)
    this.#linkedErrors = []
    this.#queuedBytes = 0
    const unreceived: Envelope<T>[] = []
    for (const { envelope } of this.#queue.splice(0)) {
      if (envelope.isCall) envelope.fail(error)
      else unreceived.push(envelope)
    }
    return unreceived
  }

  /** `close()`, for `using`: the plain sends still queued are dropped (call `close()` to keep them). */
  [Symbol.dispose](): void {
    this.close()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Envelope<T>> {
    while (!this.#closed) {
      try {
        yield await this.receive()
      } catch (error) {
        if (this.#closed) return
        throw error
      }
    }
  }

  /**
   * @internal called by the registry for each message; for a call, resolves with the reply. Throws
   * MAILBOX_FULL when no waiting receive takes the message and queueing it would pass a bound.
   */
  deliver(value: T, context: CallContext, expectsReply: boolean, bytes = 0): Promise<unknown> | undefined {
    let settle: { resolve: (value: unknown) => void; reject: (error: unknown) => void } | undefined
    const replied = expectsReply ? new Promise<unknown>((resolve, reject) => (settle = { resolve, reject })) : undefined
    let answered = false
    const answer = (action: () => void) => {
      if (!settle) throw new MeshscopeError('NOT_A_CALL', 'this message was sent, not called: there is nobody to reply to')
      if (answered) throw new MeshscopeError('INVALID_ARGUMENT', 'this call was already answered')
      answered = true
      action()
    }
    const envelope: Envelope<T> = {
      value,
      from: context.from,
      isCall: expectsReply,
      signal: context.signal,
      reply: (reply) => answer(() => settle!.resolve(reply)),
      fail: (error) => answer(() => settle!.reject(error)),
    }
    const waiter = this.#takeWaiter(envelope)
    if (waiter) {
      waiter.resolve(envelope)
      return replied
    }
    if (this.#queue.length + 1 > this.bounds.capacity || this.#queuedBytes + bytes > this.bounds.maxQueuedBytes) {
      throw new MeshscopeError(
        'MAILBOX_FULL',
        `the mailbox holds ${this.#queue.length} messages (${this.#queuedBytes} bytes), its bounds are ${this.bounds.capacity} messages and ${this.bounds.maxQueuedBytes} bytes`,
      )
    }
    this.#queue.push({ envelope, bytes })
    this.#queuedBytes += bytes
    return replied
  }

  /**
   * The oldest waiting receive that matches `envelope`, taken off the list. A receive whose predicate
   * throws fails with that error (the predicate is its caller's) and the message goes on to the
   * others, then to the queue: an accepted message is never lost to someone else's predicate.
   */
  #takeWaiter(envelope: Envelope<T>): Waiter<T> | undefined {
    for (let index = 0; index < this.#waiters.length; ) {
      const waiter = this.#waiters[index]!
      let matched: boolean
      try {
        matched = waiter.matches(envelope)
      } catch (error) {
        this.#waiters.splice(index, 1)
        waiter.reject(error)
        continue
      }
      if (matched) {
        this.#waiters.splice(index, 1)
        return waiter
      }
      index++
    }
    return undefined
  }
}

/** Names mailbox `name` on peer `peerId`. Travels inside messages; the receiver can send or call it. */
export class MailboxRef<T = unknown, R = unknown> {
  /** @internal use `mesh.ref(name)` */
  constructor(
    readonly peerId: string,
    readonly name: string,
    private readonly router: PeerRouter | undefined,
  ) {}

  send(value: T): Promise<void> {
    return this.#route().send(this.peerId, this.name, value)
  }

  call(value: T, options?: CallOptions): Promise<R> {
    return this.#route().call(this.peerId, this.name, value, options) as Promise<R>
  }

  #route(): PeerRouter {
    if (!this.router) throw new MeshscopeError('INVALID_ARGUMENT', 'this mailbox reference is not attached to a mesh')
    return this.router
  }

  [ENCODE_PORT](): PortPlan {
    return { payload: { k: 'mailbox.ref', s: 0, o: { p: this.peerId, n: this.name } }, activate() {}, rollback() {} }
  }
}

/** The mailbox reference port kind, for a connection's port table (a reference has no stream: it names a mailbox). */
export const mailboxPorts: PortTable = {
  kinds: {
    'mailbox.ref': (connection: Connection, payload) => {
      const peerId = payload.o?.p
      const name = payload.o?.n
      if (typeof peerId !== 'string' || !/^[0-9a-f]{32}$/.test(peerId) || typeof name !== 'string' || name.length === 0 || name.length > 128) {
        throw new MeshscopeError('BAD_PORT', 'a mailbox reference needs a peer id and a name')
      }
      return new MailboxRef(peerId, name, connection.router)
    },
  },
}
