/**
 * Clusters over an in-process fake host: no links, a call runs the other node's mailbox handler
 * directly. For what is about the clusters' own logic (lifecycle, directory, balancing), not the
 * network. `close(id)` makes that node's host refuse with MESH_CLOSED; `silent` peers never answer
 * a directory announcement; with `timeouts`, a call honours its `timeout` (TIMEOUT), as the mesh's do.
 */
import { MeshscopeError } from '../../../src/errors.js'
import type { CallContext } from '../../../src/rpc/serve.js'
import { Clusters } from '../../../src/services/clusters/clusters.js'
import { DIRECTORY_MAILBOX } from '../../../src/services/clusters/protocol.js'
import type { MailboxHandler } from '../../../src/services/mailboxes.js'
import { delay } from '../../until.js'

export function fakeNetwork(ids: string[], options: { silent?: string[]; timeouts?: boolean; callTimeoutMs?: number } = {}) {
  const mailboxes = new Map(ids.map((id) => [id, new Map<string, MailboxHandler>()]))
  const open = new Set(ids)
  const deliver = async (from: string, to: string, name: string, value: unknown) => {
    await Promise.resolve()
    if (options.silent?.includes(to) && name === DIRECTORY_MAILBOX) return new Promise(() => {})
    const handler = mailboxes.get(to)?.get(name)
    if (!handler || !open.has(to)) throw new MeshscopeError('PEER_GONE', `${to} is gone`)
    const context: CallContext = { from, signal: new AbortController().signal }
    return handler(value, context)
  }
  const nodes = new Map(
    ids.map((id) => [
      id,
      new Clusters({
        id: () => id,
        linkedPeers: () => ids.filter((other) => other !== id && open.has(other)),
        register: (name, handler) => {
          mailboxes.get(id)!.set(name, handler)
          return () => mailboxes.get(id)!.delete(name)
        },
        call: async (peerId, name, value, callOptions) => {
          const answer = deliver(id, peerId, name, value)
          const timeout = callOptions?.timeout
          if (!options.timeouts || timeout === undefined || timeout === Number.POSITIVE_INFINITY) return answer
          return Promise.race([
            answer,
            delay(timeout).then(() => {
              throw new MeshscopeError('TIMEOUT', 'timeout')
            }),
          ])
        },
        send: async (peerId, name, value) => void (await deliver(id, peerId, name, value)),
        assertOpen: () => {
          if (!open.has(id)) throw new MeshscopeError('MESH_CLOSED', 'the mesh is closed')
        },
        report: () => {},
        callTimeoutMs: options.callTimeoutMs ?? 5_000,
      }),
    ]),
  )
  return {
    node: (id: string) => nodes.get(id)!,
    /** Delivers `value` to `to`'s mailbox `name` as if `from` had called it. */
    deliver,
    close: (id: string) => {
      open.delete(id)
      nodes.get(id)!.close()
    },
  }
}
