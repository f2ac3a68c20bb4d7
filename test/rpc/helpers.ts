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
import { configureRequests } from '../../src/rpc/call.js'
import { callsInServiceOf } from '../../src/rpc/serve-call-stream.js'
import { expectNoOpenStreams, heldForRequests } from '../leaks.js'
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
/** `callStream: false`: every request on a stream of its own (tests of that path; default: small ones on the call stream). */
export async function messagingPair(
  options: {
    config?: Partial<MuxConfig>
    sendErrorStacks?: boolean
    ports?: PortTable
    callTimeoutMs?: number
    maxRequestsInFlight?: number
    callStream?: boolean
  } = {},
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
  if (options.callStream === false) {
    for (const connection of [connections.a, connections.b])
      configureRequests(connection, { timeoutMs: options.callTimeoutMs, maxInFlight: options.maxRequestsInFlight, callStream: false })
  }
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

/**
 * What `connection` holds for requests and channels: streams other than call streams, requests in
 * flight from it, and its peer's calls in service on it (what `streamCount` told when every request
 * had a stream of its own).
 */
export function held(connection: Connection): number {
  return heldForRequests(connection) + callsInServiceOf(connection)
}

export { delay, until } from '../until.js'
