/**
 * Scope hops (distributed-scope's `go-remote`): `hop(peer, captures, block)` runs a registered block
 * on another peer with exactly the captured values and brings its result back. Inside a block,
 * `hop(here.peer(x), …)` continues the chain; every result travels back along it, a throw anywhere
 * rejects the first caller with a HopError that says where it happened and along which path, and
 * giving up anywhere up the chain aborts `here.signal` everywhere below.
 *
 * A hop is a call to the internal mailbox `__meshscope.hop` with `{ b: block id, c: captures, p: path }`;
 * the reply is `[0, value]` or `[1, { peer, path, code, error }]`.
 */
import { MeshscopeError } from '../errors.js'
import type { CallOptions } from '../rpc/call.js'
import type { CallContext } from '../rpc/serve.js'
import { peerRef, type Here, type HopTransport, type PeerRef } from './here.js'
import type { Principal } from '../identity/principal.js'
import { ALLOW_ROOM_MEMBERS, findHop, isHopBlock, type HopBlock, type HopBody, type HopPolicy } from './registry.js'

export const HOP_MAILBOX = '__meshscope.hop'
const MAX_PATH = 64

/** A failure somewhere down a hop chain. */
export class HopError extends MeshscopeError {
  override name = 'HopError'
  constructor(
    code: 'HOP_FAILED' | 'UNKNOWN_HOP' | 'HOP_REFUSED' | 'AUTHENTICATION_REQUIRED',
    message: string,
    /** The peer the failure happened on. */
    readonly peer: string,
    /** The peers the chain went through, from the first caller to `peer`. */
    readonly path: readonly string[],
    /** What was thrown there (rebuilt through the codec's allowlist when it crossed the wire). */
    readonly remote?: Error,
  ) {
    super(code, `${message} (path ${path.join(' → ')})`, { cause: remote })
    this.reason = message
  }
  /** The message without the path. */
  readonly reason: string
}

type HopFailure = { peer: string; path: string[]; code: HopError['code']; message: string; error?: Error }

/** A hop's options: a call's, and a policy for an inline block. */
export interface HopCallOptions extends CallOptions {
  /**
   * Who may run this inline block (the build plugin carries it to the block's registration, where it
   * is checked on the serving peer; it may name only module-level bindings). For a block made with
   * `defineHop`, give `allow` to `defineHop` instead: here it is ignored.
   */
  allow?: (callerId: string, principal: Principal | undefined) => boolean
}

/**
 * Runs `block` on `peer` with `captures` and resolves with its result. Rejects with a HopError
 * (HOP_FAILED: the block threw; UNKNOWN_HOP: that peer runs another build; HOP_REFUSED: its `allow`
 * said no), or like a call: TIMEOUT, ABORTED, PEER_GONE, PEER_NOT_CONNECTED, a codec error.
 */
export async function hop<C extends object, R>(
  peer: PeerRef,
  captures: C,
  block: HopBlock<C, R> | HopBody<C, R>,
  options: HopCallOptions = {},
): Promise<Awaited<R>> {
  if (typeof block === 'function') {
    throw new MeshscopeError(
      'HOP_NEEDS_PLUGIN',
      'an inline hop body needs the meshscope build plugin (meshscope/vite, or node --import meshscope/register); without it, register the block with defineHop and pass that',
    )
  }
  if (!isHopBlock(block)) throw new MeshscopeError('INVALID_ARGUMENT', 'hop takes a block made by defineHop')
  if (typeof peer?.id !== 'string' || !peer.transport) throw new MeshscopeError('INVALID_ARGUMENT', 'hop takes a peer from mesh.peer(id) or here.peer(id)')
  const path = peer.chain?.path ?? [peer.transport.id]
  const signals = [options.signal, peer.chain?.signal].filter((signal): signal is AbortSignal => signal !== undefined)
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0]
  const reply = await peer.transport.call(peer.id, HOP_MAILBOX, { b: block.id, c: captures, p: path }, { timeout: options.timeout, signal })
  return unpackReply(reply, peer.id, [...path, peer.id]) as Awaited<R>
}

/**
 * Serving side: the handler of the `__meshscope.hop` mailbox. A block runs if its own `allow` says
 * yes, or, when it has none, the mesh's `policy`.
 */
export async function serveHop(
  request: unknown,
  context: CallContext,
  transport: HopTransport,
  mesh: unknown,
  policy: HopPolicy = ALLOW_ROOM_MEMBERS,
): Promise<unknown> {
  const self = transport.id
  const { b: blockId, c: captures, p: claimedPath } = (request ?? {}) as { b?: unknown; c?: unknown; p?: unknown }
  // The path so far must end with the verified caller; anything else is replaced by what we know.
  const path =
    Array.isArray(claimedPath) && claimedPath.length < MAX_PATH && claimedPath.every((id) => typeof id === 'string') && claimedPath.at(-1) === context.from
      ? [...(claimedPath as string[]), self]
      : [context.from, self]
  const fail = (code: HopFailure['code'], message: string, error?: Error) => [1, { peer: self, path, code, message, error }]
  if (typeof blockId !== 'string') return fail('HOP_FAILED', 'a hop request needs a block id')
  const block = findHop(blockId)
  if (!block) return fail('UNKNOWN_HOP', `peer ${self} has no hop block "${blockId}": it is probably running a different build of the code`)
  let allowed = false
  try {
    const principal = context.principal
    allowed = (block.options.allow ? block.options.allow(context.from, principal) : policy(context.from, blockId, principal)) === true
  } catch {
    allowed = false
  }
  if (!allowed) return fail('HOP_REFUSED', `peer ${self} refused to run "${blockId}" for ${context.from}`)
  const here: Here = {
    id: self,
    caller: context.from,
    principal: context.principal,
    requirePrincipal: () => {
      if (context.principal) return context.principal
      throw new MeshscopeError('AUTHENTICATION_REQUIRED', `the hop block "${blockId}" needs a caller with a verified principal; ${context.from} has none`)
    },
    path,
    unverifiedPath: path.slice(0, -2),
    signal: context.signal,
    mesh,
    peer: (id: string) => peerRef(transport, id, { path, signal: context.signal }),
  }
  try {
    return [0, await block.body(captures, here)]
  } catch (error) {
    // A failure further down travels up unchanged, so the first caller learns where it really happened.
    if (error instanceof HopError) return [1, { peer: error.peer, path: [...error.path], code: error.code, message: error.reason, error: error.remote }]
    const thrown = error instanceof Error ? error : new Error(String(error))
    // `here.requirePrincipal()` said no: the caller learns that code, not a generic failure.
    if (thrown instanceof MeshscopeError && thrown.code === 'AUTHENTICATION_REQUIRED') return fail('AUTHENTICATION_REQUIRED', thrown.message)
    return fail('HOP_FAILED', `the hop block "${blockId}" threw on ${self}: ${thrown.message}`, thrown)
  }
}

function unpackReply(reply: unknown, peerId: string, path: string[]): unknown {
  if (Array.isArray(reply) && reply.length === 2) {
    if (reply[0] === 0) return reply[1]
    if (reply[0] === 1 && typeof reply[1] === 'object' && reply[1] !== null) {
      const failure = reply[1] as Partial<HopFailure>
      const code = failure.code === 'UNKNOWN_HOP' || failure.code === 'HOP_REFUSED' || failure.code === 'AUTHENTICATION_REQUIRED' ? failure.code : 'HOP_FAILED'
      const failurePath = Array.isArray(failure.path) && failure.path.every((id) => typeof id === 'string') ? failure.path : path
      const message = typeof failure.message === 'string' ? failure.message : 'a hop failed'
      throw new HopError(
        code,
        message,
        typeof failure.peer === 'string' ? failure.peer : peerId,
        failurePath,
        failure.error instanceof Error ? failure.error : undefined,
      )
    }
  }
  throw new MeshscopeError('BAD_MESSAGE', `peer ${peerId} sent a malformed hop reply`)
}
