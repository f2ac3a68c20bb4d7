/**
 * Clusters over an in-process fake host: no links, a call runs the other node's mailbox handler
 * directly. For what is about the clusters' own logic (lifecycle, directory, balancing), not the
 * network. `close(id)` makes that node's host refuse with MESH_CLOSED; `silent` peers never answer
 * a directory announcement; with `timeouts`, a call honours its `timeout` (TIMEOUT), as the mesh's do.
 * With `scamp`, the nodes are in a scamp room: they have a gossip (a no-op: tests hand gossip to
 * `takeGossip`), and a call to an id outside the network first waits `linkAttemptMs` for an on-demand
 * link that never opens, then fails with PEER_NOT_CONNECTED, as the mesh's does for a peer that never
 * answers; `linkAttempts` counts those attempts (`peak`: the most at once).
 */
import { MeshscopeError } from '../../../src/errors.js'
import type { CallContext } from '../../../src/rpc/serve.js'
import { Clusters } from '../../../src/services/clusters/clusters.js'
import { DIRECTORY_MAILBOX } from '../../../src/services/clusters/protocol.js'
import type { MailboxHandler } from '../../../src/services/mailboxes.js'
import { delay } from '../../until.js'

export function fakeNetwork(ids: string[], options: { silent?: string[]; timeouts?: boolean; callTimeoutMs?: number; scamp?: { linkAttemptMs: number } } = {}) {
  const mailboxes = new Map(ids.map((id) => [id, new Map<string, MailboxHandler>()]))
  const open = new Set(ids)
  const linkAttempts = { now: 0, peak: 0, total: 0 }
  /** Pairs (`a b`) without a link in a scamp room: reachable through an on-demand link (`openLink`). */
  const unlinked = new Set<string>()
  /** An on-demand link to an id outside the network: held for `linkAttemptMs`, then failed. */
  const attemptLink = async (): Promise<'failed'> => {
    linkAttempts.total++
    linkAttempts.peak = Math.max(linkAttempts.peak, ++linkAttempts.now)
    await delay(options.scamp!.linkAttemptMs)
    linkAttempts.now--
    return 'failed'
  }
  const deliver = async (from: string, to: string, name: string, value: unknown) => {
    await Promise.resolve()
    if (options.scamp && !mailboxes.has(to)) {
      await attemptLink()
      throw new MeshscopeError('PEER_NOT_CONNECTED', `not connected to peer ${to}`)
    }
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
        gossip: options.scamp ? { publish: () => 'gossip' } : undefined,
        ...(options.scamp && {
          hasLink: (peerId: string) => mailboxes.has(peerId) && open.has(peerId) && !unlinked.has(`${id} ${peerId}`),
          openLink: async (peerId: string) => {
            if (!mailboxes.has(peerId)) return attemptLink()
            await delay(options.scamp!.linkAttemptMs)
            unlinked.delete(`${id} ${peerId}`)
            return open.has(peerId) ? 'open' : 'failed'
          },
        }),
      }),
    ]),
  )
  return {
    node: (id: string) => nodes.get(id)!,
    /** Delivers `value` to `to`'s mailbox `name` as if `from` had called it. */
    deliver,
    linkAttempts,
    /** In a scamp room: `from` has no link to `to` until it opens one on demand. */
    unlink: (from: string, to: string) => void unlinked.add(`${from} ${to}`),
    close: (id: string) => {
      open.delete(id)
      nodes.get(id)!.close()
    },
  }
}
