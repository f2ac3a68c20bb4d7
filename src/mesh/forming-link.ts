/**
 * In the full topology every room member gets a link, but not at once: a call or hop to a member
 * whose link is still forming (offered, connecting, waiting for the other side's offer, or planned
 * for a retry after a lost one) waits for it, within the call's timeout, rather than fail at once
 * with PEER_NOT_CONNECTED (the distributed-scope behaviour of issue 15). A peer that is not in the
 * room, or leaves it meanwhile, still fails with PEER_NOT_CONNECTED; so does one whose link has not
 * formed when the timeout passes (nothing was delivered: callers may retry elsewhere).
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError } from '../errors.js'
import type { CallOptions } from '../rpc/call.js'
import type { LinkTable } from './link-table.js'

export interface FormingLinkParts {
  links: Pick<LinkTable, 'connectionTo' | 'waitForLink' | 'closed'>
  /** Whether `peerId` is in the room now (the roster). */
  isMember(peerId: string): boolean
}

/**
 * The connection to room member `peerId` once its link joins; undefined at once for a peer that is
 * not a member. Rejects with PEER_NOT_CONNECTED when `options.timeout` passes first or the peer
 * leaves the room, ABORTED when `options.signal` aborts, MESH_CLOSED when the link table closes.
 */
export async function awaitFormingLink(parts: FormingLinkParts, peerId: string, options: CallOptions = {}): Promise<Connection | undefined> {
  if (!parts.isMember(peerId)) return undefined
  const { timeout = Number.POSITIVE_INFINITY, signal } = options
  if (signal?.aborted) throw new MeshscopeError('ABORTED', 'the call was aborted', { cause: signal.reason })
  let timer: ReturnType<typeof setTimeout> | undefined
  let onAbort: (() => void) | undefined
  const stopped = new Promise<'timeout' | 'aborted'>((resolve) => {
    if (Number.isFinite(timeout)) timer = setTimeout(() => resolve('timeout'), timeout)
    onAbort = () => resolve('aborted')
    signal?.addEventListener('abort', onAbort, { once: true })
  })
  try {
    for (;;) {
      const connection = parts.links.connectionTo(peerId)
      if (connection) return connection
      if (!parts.isMember(peerId)) throw new MeshscopeError('PEER_NOT_CONNECTED', `peer ${peerId} left the room before its link formed`)
      // Settled when an attempt joins or is lost; a lost one may be retried while the peer stays.
      const outcome = await Promise.race([parts.links.waitForLink(peerId), stopped])
      if (outcome === 'aborted') throw new MeshscopeError('ABORTED', 'the call was aborted', { cause: signal?.reason })
      if (outcome === 'timeout') throw new MeshscopeError('PEER_NOT_CONNECTED', `the link to room member ${peerId} did not form within ${timeout} ms`)
      if (outcome) return outcome
      // A closed table answers every wait at once: without this the loop would spin on microtasks
      // forever, starving the event loop (seen while peers left: scripts/wrtc-close-stress.mjs).
      if (parts.links.closed) throw new MeshscopeError('MESH_CLOSED', 'the mesh closed while the link was forming')
    }
  } finally {
    clearTimeout(timer)
    if (onAbort) signal?.removeEventListener('abort', onAbort)
  }
}
