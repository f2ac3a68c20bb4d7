/**
 * N peers fully connected over memory links, each with the mesh's messaging and a hop server:
 * everything a scope hop uses, without WebRTC.
 */
import type { Connection } from '../../src/channels/connection.js'
import type { MeshscopeError } from '../../src/errors.js'
import { Messaging } from '../../src/mesh/messaging.js'
import { createPeerStack } from '../../src/mesh/peer-stack.js'
import type { MuxSession } from '../../src/mux/session.js'
import { peerRef, type HopTransport, type PeerRef } from '../../src/scope/here.js'
import { HOP_MAILBOX, serveHop } from '../../src/scope/hop.js'
import type { HopPolicy } from '../../src/scope/registry.js'
import { createMemoryLinkPair } from '../../src/transport/memory-link.js'

export interface TestPeer {
  id: string
  messaging: Messaging
  transport: HopTransport
  reported: MeshscopeError[]
  peer(id: string): PeerRef
}

export interface TestMesh {
  peers: TestPeer[]
  /** Cuts every link of a peer, as if its process died. */
  kill(peer: TestPeer): void
  dispose(): Promise<void>
}

/** `hopPolicy`: every peer's mesh-wide hop policy (the mesh's `hopPolicy`). */
export async function memoryMesh(count: number, options: { hopPolicy?: HopPolicy } = {}): Promise<TestMesh> {
  const ids = Array.from({ length: count }, (_, i) => String.fromCharCode(97 + i).repeat(32))
  const connections = new Map<string, Map<string, Connection>>(ids.map((id) => [id, new Map()]))
  const severers = new Map<string, Array<() => void>>(ids.map((id) => [id, []]))
  const sessions: MuxSession[] = []
  const peers: TestPeer[] = ids.map((id) => {
    const reported: MeshscopeError[] = []
    const messaging: Messaging = new Messaging({
      id: () => id,
      connectionTo: (other) => {
        const connection = connections.get(id)!.get(other)
        return connection && connection.session.state === 'open' ? connection : undefined
      },
      assertOpen: () => {},
      report: (error) => reported.push(error),
    })
    const transport: HopTransport = { id, call: (peerId, name, value, options) => messaging.call(peerId, name, value, options) }
    messaging.register(HOP_MAILBOX, (request, context) => serveHop(request, context, transport, undefined, options.hopPolicy))
    return { id, messaging, transport, reported, peer: (other: string) => peerRef(transport, other) }
  })
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      const { a, b, sever } = createMemoryLinkPair()
      const [pi, pj] = [peers[i]!, peers[j]!]
      const stackA = createPeerStack(a, { initiator: true, peerId: pj.id, messaging: pi.messaging })
      const stackB = createPeerStack(b, { initiator: false, peerId: pi.id, messaging: pj.messaging })
      sessions.push(stackA.session, stackB.session)
      connections.get(pi.id)!.set(pj.id, stackA.connection)
      connections.get(pj.id)!.set(pi.id, stackB.connection)
      severers.get(pi.id)!.push(sever)
      severers.get(pj.id)!.push(sever)
    }
  }
  await Promise.all(sessions.map((session) => session.ready))
  return {
    peers,
    kill: (peer) => {
      for (const sever of severers.get(peer.id)!) sever()
    },
    dispose: async () => {
      for (const session of sessions) session.abort()
    },
  }
}

export { delay, until } from '../until.js'
