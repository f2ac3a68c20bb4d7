/**
 * One peer's stack over an open link: link → multiplexer session → channel connection (with its
 * port table) → the messaging that serves the request streams the peer opens. The mesh builds one
 * per link; the benchmark and the tests build theirs here too, so they run the wiring the mesh runs.
 */
import { Connection, type PeerRouter } from '../channels/connection.js'
import type { ChannelLimits } from '../channels/limits.js'
import type { CodecLimits } from '../codec/limits.js'
import type { PortTable } from '../channels/port.js'
import type { MuxConfig } from '../mux/config.js'
import { MuxSession } from '../mux/session.js'
import type { SharedInboundBudget } from '../mux/shared-budget.js'
import type { MuxStream } from '../mux/stream.js'
import { configureRequests } from '../rpc/call.js'
import { configureObjects, type ObjectLimits } from '../objects/limits.js'
import type { Link } from '../transport/link.js'
import { DEFAULT_PORTS } from './ports.js'

/** What serves the request streams a peer opens; the mesh's `Messaging` is one. */
export interface StreamServer extends PeerRouter {
  serve(connection: Connection, stream: MuxStream): Promise<void>
  /** The default timeout of the requests made over the connection (remote function calls included). */
  readonly callTimeoutMs?: number
  /** Requests in flight to the peer at once (remote function calls included); more wait for a slot. */
  readonly maxRequestsInFlight?: number
}

export interface PeerStackOptions {
  /** This side opens odd stream ids; exactly one side of a link is the initiator (the mesh: the lower id, or the offerer). */
  initiator: boolean
  /** The peer's id (error messages, and the `from` of the requests it makes). */
  peerId: string
  /** Overrides of the multiplexer's defaults (src/mux/config.ts). */
  muxConfig?: Partial<MuxConfig>
  /** The whole mesh's inbound budget, shared by every peer's session (src/mux/shared-budget.ts). */
  inboundPool?: SharedInboundBudget
  /** Bounds on the channel halves the peer sends (src/channels/limits.ts). */
  channelLimits?: Partial<ChannelLimits>
  /** Bounds on the remote objects crossing to this peer (src/objects/limits.ts). */
  objectLimits?: Partial<ObjectLimits>
  /** Limits on the values decoded from this peer (src/codec/limits.ts). */
  codecLimits?: Partial<CodecLimits>
  /** The port kinds the connection decodes. Default: every kind (DEFAULT_PORTS). */
  ports?: PortTable
  /** Send error stacks to this peer (off by default: stacks show local file paths). */
  sendErrorStacks?: boolean
  /**
   * Serves each request stream the peer opens (`messaging.serve`), and routes the mailbox references
   * decoded on this connection. Without it nothing serves them: the caller listens on
   * `session.events` itself.
   */
  messaging?: StreamServer
  /**
   * Serves each request stream instead of `messaging.serve` (the benchmark serves its own workloads
   * and hands the rest to messaging). Errors it throws or rejects with are its own to report.
   */
  serveStream?: (stream: MuxStream, connection: Connection) => void
}

export interface PeerStack {
  readonly session: MuxSession
  readonly connection: Connection
}

/**
 * Starts a multiplexer session on `link` (which must be open: the session's hello goes out at once)
 * and binds a connection and the stream server to it. The peer is reachable once `session.ready`
 * resolves; `session.events` says when it goes (`close`).
 */
export function createPeerStack(link: Link, options: PeerStackOptions): PeerStack {
  const session = new MuxSession(link, {
    initiator: options.initiator,
    config: options.muxConfig ?? {},
    ...(options.inboundPool ? { pool: options.inboundPool } : {}),
  })
  const connection = new Connection(session, {
    peerId: options.peerId,
    ports: options.ports ?? DEFAULT_PORTS,
    router: options.messaging,
    sendErrorStacks: options.sendErrorStacks ?? false,
    channelLimits: options.channelLimits,
    codecLimits: options.codecLimits,
  })
  if (options.objectLimits) configureObjects(connection, options.objectLimits)
  const { messaging, serveStream } = options
  if (messaging) configureRequests(connection, { timeoutMs: messaging.callTimeoutMs, maxInFlight: messaging.maxRequestsInFlight })
  if (serveStream) session.events.on('stream', (stream) => serveStream(stream, connection))
  else if (messaging) session.events.on('stream', (stream) => void messaging.serve(connection, stream))
  return { session, connection }
}
