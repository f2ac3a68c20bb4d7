/**
 * Two peers' messaging (mailboxes, calls, remote functions and objects) over a memory connection
 * pair: the mesh's routing without WebRTC, so every behaviour can be tested quickly and exactly.
 */
import type { Connection } from '../../src/channels/connection.js'
import type { PortTable } from '../../src/channels/port.js'
import type { MeshscopeError } from '../../src/errors.js'
import { Messaging } from '../../src/mesh/messaging.js'
import { createPeerStack } from '../../src/mesh/peer-stack.js'
import type { MuxConfig } from '../../src/mux/config.js'
import { expectNoOpenStreams } from '../leaks.js'
import { memoryLinkPair, sessionPairOf, type SessionPair } from '../mux/helpers.js'

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

/** `ports` is both sides' port table (default: every kind). */
/** `callTimeoutMs`: both sides' default timeout of calls and sends (the mesh's `callTimeoutMs`). */
/** `maxRequestsInFlight`: both sides' limit of requests in flight to the other (the mesh's option). */
export async function messagingPair(
  options: { config?: Partial<MuxConfig>; sendErrorStacks?: boolean; ports?: PortTable; callTimeoutMs?: number; maxRequestsInFlight?: number } = {},
): Promise<MessagingPair> {
  const links = await memoryLinkPair()
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
    callTimeoutMs: options.callTimeoutMs,
    maxRequestsInFlight: options.maxRequestsInFlight,
    report: (e) => reportedAtA.push(e),
  })
  const b: Messaging = new Messaging({
    id: () => ID_B,
    connectionTo: (id) => (id === ID_A && pair.b.state === 'open' ? connections.b : undefined),
    assertOpen,
    callTimeoutMs: options.callTimeoutMs,
    maxRequestsInFlight: options.maxRequestsInFlight,
    report: (e) => reportedAtB.push(e),
  })
  const common = { muxConfig: options.config, sendErrorStacks: options.sendErrorStacks, ports: options.ports }
  connections.a = createPeerStack(links.a, { ...common, initiator: true, peerId: ID_B, messaging: a }).connection
  connections.b = createPeerStack(links.b, { ...common, initiator: false, peerId: ID_A, messaging: b }).connection
  const pair = sessionPairOf(connections.a.session, connections.b.session, links)
  await Promise.all([pair.a.ready, pair.b.ready])
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

/** The afterEach of every RPC test: the leak check (test/leaks.ts), then the pair goes either way. */
export async function disposeChecked(peers: MessagingPair | undefined): Promise<void> {
  if (!peers) return
  try {
    await expectNoOpenStreams([peers.connections.a, peers.connections.b])
  } finally {
    await peers.dispose()
  }
}

export { delay, until } from '../until.js'
