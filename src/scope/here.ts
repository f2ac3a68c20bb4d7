/** The context a hop block runs with: where it runs, who asked, how to hop on, when to stop. */
import type { CallOptions } from '../rpc/call.js'
import type { Principal } from '../identity/principal.js'

/** What a hop needs from a mesh; `Mesh` provides it. */
export interface HopTransport {
  /** This peer's id. */
  readonly id: string
  call(peerId: string, name: string, value: unknown, options?: CallOptions): Promise<unknown>
}

/** A peer to hop to: `mesh.peer(id)` or `here.peer(id)`. */
export interface PeerRef {
  readonly id: string
  /** @internal the mesh the hop leaves from */
  readonly transport: HopTransport
  /** @internal the path so far and the signal to pass down, when hopping on from inside a block */
  readonly chain?: { path: string[]; signal: AbortSignal }
}

export interface Here {
  /** The id of the peer this block runs on. */
  readonly id: string
  /** The verified id of the peer that hopped here (this peer's own id for a local hop). */
  readonly caller: string
  /**
   * The verified principal of `caller` (from its server-signed attestation, in a room with auth):
   * each hop of a chain sees its own caller's. Undefined in a room without auth — never invented.
   */
  readonly principal: Principal | undefined
  /** `principal`, or a throw of AUTHENTICATION_REQUIRED when the caller has none: the hop then fails with a HopError of that code. */
  requirePrincipal(): Principal
  /**
   * The peers this chain went through, ending with this one: [A, B, C]. Only the last two are
   * verified (`caller`, this peer): what came before is what the caller says (`unverifiedPath`).
   */
  readonly path: readonly string[]
  /** The part of `path` before `caller`: the caller's word, not verified. Never base a decision on it. */
  readonly unverifiedPath: readonly string[]
  /** Aborts when the caller gives up (abort, timeout) or goes away, anywhere up the chain. */
  readonly signal: AbortSignal
  /** The local mesh (to send, call, open channels…). */
  readonly mesh: unknown
  /** A peer to hop on to; hops made through it continue this chain (path, cancellation). */
  peer(id: string): PeerRef
}

export function peerRef(transport: HopTransport, id: string, chain?: PeerRef['chain']): PeerRef {
  return Object.freeze({ id, transport, chain })
}
