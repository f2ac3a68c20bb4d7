/**
 * Two peers' messaging (mailboxes, calls, remote functions and objects) over a memory connection
 * pair: the mesh's routing without WebRTC, so every behaviour can be tested quickly and exactly.
 */
import { Connection } from '../../src/channels/connection.js'
import type { MeshscopeError } from '../../src/errors.js'
import { Messaging } from '../../src/mesh/messaging.js'
import type { MuxConfig } from '../../src/mux/config.js'
import { memorySessionPair, type SessionPair } from '../mux/helpers.js'

export const ID_A = 'a'.repeat(32)
export const ID_B = 'b'.repeat(32)

export interface MessagingPair {
  a: Messaging
  b: Messaging
  /** Errors each side reported on its `error` event. */
  reportedAtA: MeshscopeError[]
  reportedAtB: MeshscopeError[]
  pair: SessionPair
  connections: { a: Connection; b: Connection }
  dispose(): Promise<void>
}

export async function messagingPair(options: { config?: Partial<MuxConfig>; sendErrorStacks?: boolean } = {}): Promise<MessagingPair> {
  const pair = await memorySessionPair({ a: options.config, b: options.config })
  const reportedAtA: MeshscopeError[] = []
  const reportedAtB: MeshscopeError[] = []
  let closed = false
  const assertOpen = () => {
    if (closed) throw new Error('closed')
  }
  const connections = {} as { a: Connection; b: Connection }
  const a: Messaging = new Messaging({
    id: () => ID_A,
    connectionTo: (id) => (id === ID_B && pair.a.state === 'open' ? connections.a : undefined),
    assertOpen,
    report: (e) => reportedAtA.push(e),
  })
  const b: Messaging = new Messaging({
    id: () => ID_B,
    connectionTo: (id) => (id === ID_A && pair.b.state === 'open' ? connections.b : undefined),
    assertOpen,
    report: (e) => reportedAtB.push(e),
  })
  connections.a = new Connection(pair.a, { peerId: ID_B, router: a, sendErrorStacks: options.sendErrorStacks })
  connections.b = new Connection(pair.b, { peerId: ID_A, router: b, sendErrorStacks: options.sendErrorStacks })
  pair.a.events.on('stream', (stream) => void a.serve(connections.a, stream))
  pair.b.events.on('stream', (stream) => void b.serve(connections.b, stream))
  return {
    a,
    b,
    reportedAtA,
    reportedAtB,
    pair,
    connections,
    async dispose() {
      closed = true
      await pair.dispose()
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
