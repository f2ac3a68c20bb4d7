/**
 * N peers fully connected over memory links, each with the mesh's messaging and a hop server:
 * everything a scope hop uses, without WebRTC.
 */
import { Connection } from '../../src/channels/connection.js'
import type { MeshscopeError } from '../../src/errors.js'
import { Messaging } from '../../src/mesh/messaging.js'
import { MuxSession } from '../../src/mux/session.js'
import { peerRef, type HopTransport, type PeerRef } from '../../src/scope/here.js'
import { HOP_MAILBOX, serveHop } from '../../src/scope/hop.js'
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

export async function memoryMesh(count: number): Promise<TestMesh> {
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
    messaging.register(HOP_MAILBOX, (request, context) => serveHop(request, context, transport, undefined))
    return { id, messaging, transport, reported, peer: (other: string) => peerRef(transport, other) }
  })
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      const { a, b, sever } = createMemoryLinkPair()
      const sessionA = new MuxSession(a, { initiator: true })
      const sessionB = new MuxSession(b, { initiator: false })
      sessions.push(sessionA, sessionB)
      const [pi, pj] = [peers[i]!, peers[j]!]
      const connA = new Connection(sessionA, { peerId: pj.id, router: pi.messaging })
      const connB = new Connection(sessionB, { peerId: pi.id, router: pj.messaging })
      connections.get(pi.id)!.set(pj.id, connA)
      connections.get(pj.id)!.set(pi.id, connB)
      sessionA.events.on('stream', (stream) => void pi.messaging.serve(connA, stream))
      sessionB.events.on('stream', (stream) => void pj.messaging.serve(connB, stream))
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

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(5)
  }
}
