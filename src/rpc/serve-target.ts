/**
 * What serving a request takes, whichever stream it came on (a request stream: serve.ts; the call
 * stream: serve-call-stream.ts): the handler's context, the target a request addresses, the reply's bytes.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError } from '../errors.js'
import { replyToWire, type Reply, type Request } from './protocol.js'
import type { CallContext, RequestTargets } from './serve.js'
import type { Principal } from '../identity/principal.js'

/**
 * The context of one served call. Its AbortSignal is made only when a handler reads it: most
 * handlers never do, and making one costs more than the rest of serving a small call.
 */
export class ServeContext implements CallContext {
  #controller?: AbortController
  #abortReason?: () => MeshscopeError

  constructor(
    readonly from: string,
    readonly principal: Principal | undefined,
  ) {}

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#abortReason) this.#controller.abort(this.#abortReason())
    }
    return this.#controller.signal
  }

  abort(reason: () => MeshscopeError): void {
    if (this.#abortReason) return
    this.#abortReason = reason
    this.#controller?.abort(reason())
  }
}

export function resolveTarget(
  connection: Connection,
  request: Request,
  targets: RequestTargets,
  requestBytes: number,
): ((context: CallContext) => unknown) | MeshscopeError {
  switch (request.kind) {
    case 'send':
    case 'call': {
      const handler = targets.mailboxHandler(request.name)
      if (!handler) return new MeshscopeError('UNKNOWN_MAILBOX', `no mailbox "${request.name}" on the receiving peer`)
      return (context) => handler(request.value, context, request.kind === 'call', requestBytes)
    }
    case 'function': {
      const run = targets.exportedFunction(connection, request.functionId)
      if (!run) return new MeshscopeError('PEER_GONE', 'that remote function is no longer provided')
      if (run instanceof MeshscopeError) return run
      return (context) => run(request.args, context)
    }
    case 'method': {
      const target = targets.exposedObject(request.object)
      if (!target) return new MeshscopeError('UNKNOWN_MAILBOX', `nothing is exposed as "${request.object}" on the receiving peer`)
      if (target instanceof MeshscopeError) return target
      // Own or inherited methods only, never Object.prototype's (constructor, __proto__, toString…).
      const method = Object.hasOwn(Object.prototype, request.method) ? undefined : (target as Record<string, unknown>)[request.method]
      if (typeof method !== 'function') return new MeshscopeError('UNKNOWN_METHOD', `"${request.object}" has no method "${request.method}"`)
      return (context) => method.apply(target, [...request.args, context])
    }
  }
}

/** Errors meshscope itself raised while serving (a oneshot function called twice, a full mailbox…) are refusals, not handler throws. */
export function isRefusal(error: Error): boolean {
  return error instanceof MeshscopeError && (error.code === 'ALREADY_CALLED' || error.code === 'UNKNOWN_METHOD' || error.code === 'MAILBOX_FULL')
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
}

/**
 * The reply's bytes; one that cannot travel (a class instance, a cycle…) or is over `limit` (the
 * caller's item limit) becomes a refusal saying why.
 */
export function encodeReply(connection: Connection, reply: Reply, limit: number): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = connection.encode(replyToWire(reply))
  } catch (error) {
    const refusal = error instanceof MeshscopeError ? error : new MeshscopeError('BAD_MESSAGE', String(error))
    bytes = connection.encode(replyToWire({ kind: 'refused', error: new MeshscopeError(refusal.code, `the reply could not be sent: ${refusal.message}`) }))
  }
  if (bytes.byteLength > limit) {
    const refusal = new MeshscopeError('ITEM_TOO_LARGE', `the reply of ${bytes.byteLength} bytes is over the limit of ${limit}`)
    bytes = connection.encode(replyToWire({ kind: 'refused', error: refusal }))
  }
  return bytes
}

/**
 * Runs a call's target and makes its reply: a handler that answers synchronously is answered without
 * a promise hop (a cold process runs every hop on this path in the interpreter).
 */
export function runCall(run: (context: CallContext) => unknown, context: CallContext): Reply | Promise<Reply> {
  try {
    const result = run(context)
    if (!isThenable(result)) return { kind: 'value', value: result }
    return Promise.resolve(result).then((value): Reply => ({ kind: 'value', value }), replyOfThrow)
  } catch (error) {
    return replyOfThrow(error)
  }
}

function replyOfThrow(error: unknown): Reply {
  const thrown = error instanceof Error ? error : new Error(String(error))
  return isRefusal(thrown) ? { kind: 'refused', error: thrown as MeshscopeError } : { kind: 'threw', error: thrown }
}

/**
 * Runs a plain send's mailbox: a refusal it threw synchronously (MAILBOX_FULL…), which the sender is
 * answered with, or — accepted — a promise that settles with the handler (its failure is reported
 * here as HANDLER_FAILED: the sender was told of the acceptance already).
 */
export function runSend(run: () => unknown, name: string, from: string, targets: RequestTargets): MeshscopeError | Promise<void> {
  const failed = (error: unknown) => {
    const thrown = error instanceof Error ? error : new Error(String(error))
    targets.report(new MeshscopeError('HANDLER_FAILED', `mailbox "${name}" failed on a message from ${from}: ${thrown.message}`, { cause: thrown }))
  }
  let result: unknown
  try {
    result = run()
  } catch (error) {
    if (error instanceof Error && isRefusal(error)) return error as MeshscopeError
    failed(error)
  }
  return Promise.resolve(result).then(() => {}, failed)
}
