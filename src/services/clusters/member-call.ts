/**
 * One call to a remote member (a request, or a tunnel's opening) and what its outcome means to the
 * caller: the member's value; NotServing when the member's handler certainly did not run (it does
 * not serve the cluster, or no link could be opened before anything was sent), so another member may
 * take it without breaking at-most-once; SERVICE_CLOSED when the member went away holding it; the
 * member's refusal with its code; or the call's own failure (TIMEOUT, ABORTED, REMOTE_ERROR…).
 */
import { MeshscopeError, isMeshscopeError } from '../../errors.js'
import type { CallOptions } from '../../rpc/call.js'
import { RemoteError } from '../../rpc/errors.js'
import type { ClusterDirectory } from './directory.js'
import type { ClusterHost } from './host.js'
import { outcomeFromWire } from './protocol.js'

/** A member that turned out not to serve the cluster (or could not be reached): the request was not run there. */
export class NotServing {}

/** Codes of a call that never reached a member's handler: another member may take it. */
const NEVER_DELIVERED = new Set(['PEER_NOT_CONNECTED', 'TOO_MANY_LINKS', 'PEER_BUSY'])
/** Codes of a member that went away while it held the call: SERVICE_CLOSED for the caller. */
const MEMBER_GONE = new Set(['PEER_GONE', 'LINK_CLOSED', 'MESH_CLOSED', 'DISCONNECTED', 'STREAM_RESET', 'LINK_FAILED'])

/**
 * Calls `mailbox` on `member` and reads the outcome; the member's reported spare capacity goes into
 * `directory`. Promise callbacks rather than an async function: one promise hop fewer per request.
 */
export function callMember(
  host: ClusterHost,
  directory: ClusterDirectory,
  target: { member: string; cluster: string; mailbox: string },
  value: unknown,
  options: CallOptions,
): Promise<unknown> {
  const { member, cluster } = target
  return host.call(member, target.mailbox, value, options).then(
    (reply) => {
      const outcome = outcomeFromWire(reply)
      if (outcome instanceof MeshscopeError) throw outcome
      directory.updateSpare(member, cluster, outcome.spare)
      if (outcome.kind === 'value') return outcome.value
      if (outcome.code === 'NO_MEMBER') throw new NotServing()
      throw new MeshscopeError(outcome.code, `member ${member} of "${cluster}": ${outcome.message}`)
    },
    (error: unknown) => {
      host.assertOpen() // our own mesh closing is MESH_CLOSED, whatever the stream saw
      if (isMeshscopeError(error) && !(error instanceof RemoteError)) {
        if (NEVER_DELIVERED.has(error.code)) throw new NotServing()
        if (MEMBER_GONE.has(error.code))
          throw new MeshscopeError('SERVICE_CLOSED', `member ${member} of "${cluster}" went away: ${error.message}`, { cause: error })
      }
      throw error
    },
  )
}
