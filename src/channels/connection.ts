/**
 * The channel layer's view of one peer: a mux session and the codec bound to it, whose port hooks
 * turn channel halves inside values into streams of this session (and back). Which kinds of port it
 * understands is the table it is given (`ConnectionOptions.ports`); it imports no kind itself.
 */
import { Codec, NOT_A_PORT, type CodecLimits } from '../codec/index.js'
import { portStreamIds } from '../codec/port-ids.js'
import { MeshscopeError } from '../errors.js'
import type { MuxSession } from '../mux/session.js'
import type { MuxStream } from '../mux/stream.js'
import type { StreamLane } from '../mux/frame.js'
import { resolveChannelLimits, type ChannelLimits } from './limits.js'
import { ENCODE_PORT, decodePort, isPortable, type PortEncoder, type PortPlan, type PortTable } from './port.js'

export interface ConnectionOptions {
  /**
   * The port kinds this connection decodes and the extra port encoders it asks (src/mesh/ports.ts
   * has the full table the mesh uses). A port of a kind not in it is refused with BAD_PORT.
   */
  ports: PortTable
  /** The peer's id, for error messages and handlers. */
  peerId?: string
  codecLimits?: Partial<CodecLimits>
  /** What a channel half received from this peer may cost here (src/channels/limits.ts). */
  channelLimits?: Partial<ChannelLimits>
  /** Send error stacks to this peer (off by default: stacks show local file paths). */
  sendErrorStacks?: boolean
  /** How values decoded here reach other peers (a mailbox reference sent by one peer, used to answer it). */
  router?: PeerRouter
}

/** Reaches mailboxes on any peer of the mesh; the mesh implements it. */
export interface PeerRouter {
  send(peerId: string, name: string, value: unknown): Promise<void>
  call(peerId: string, name: string, value: unknown, options?: { timeout?: number; signal?: AbortSignal }): Promise<unknown>
}

export class Connection {
  readonly codec: Codec
  readonly peerId: string | undefined
  readonly router: PeerRouter | undefined
  /** Bounds on the channel halves this peer sends here and on what its pumps buffer here. */
  readonly channelLimits: ChannelLimits
  /** Settles when the session ends: whatever waits for its budget stops waiting. */
  readonly ended: Promise<void>
  #plans?: PortPlan[]
  /** The ports rebuilt so far by the decode under way: closed if the rest of its value fails. */
  #rebuilt?: unknown[]

  constructor(
    readonly session: MuxSession,
    options: ConnectionOptions,
  ) {
    this.peerId = options.peerId
    this.router = options.router
    this.channelLimits = resolveChannelLimits(options.channelLimits)
    this.ended = session.state === 'closed' ? Promise.resolve() : new Promise((resolve) => session.events.once('close', () => resolve()))
    const { kinds, encoders = [] } = options.ports
    this.codec = new Codec({
      sendErrorStacks: options.sendErrorStacks ?? false,
      limits: { ...options.codecLimits, maxMessageBytes: Math.min(options.codecLimits?.maxMessageBytes ?? Infinity, session.config.maxItemBytes) },
      ports: {
        encodePort: (value, path) => {
          const plan = isPortable(value) ? value[ENCODE_PORT](this, path) : planWithEncoders(encoders, this, value, path)
          if (!plan) return NOT_A_PORT
          if (!this.#plans) throw new MeshscopeError('INVALID_ARGUMENT', 'ports can only be encoded through Connection.encode')
          this.#plans.push(plan)
          return plan.payload
        },
        decodePort: (payload) => {
          const port = decodePort(this, kinds, payload)
          this.#rebuilt?.push(port)
          return port
        },
      },
    })
  }

  /** Encodes a value; ports inside it open streams on this connection (only if the whole value encodes). */
  encode(value: unknown): Uint8Array {
    const outer = this.#plans
    const plans: PortPlan[] = []
    this.#plans = plans
    let bytes: Uint8Array
    try {
      bytes = this.codec.encode(value)
    } catch (error) {
      for (const plan of plans) plan.rollback()
      throw error
    } finally {
      this.#plans = outer
    }
    for (const plan of plans) plan.activate()
    return bytes
  }

  /**
   * Decodes a message received on one of this connection's streams; ports inside it become live
   * endpoints bound to this connection's streams. The stream handed the bytes over (each received
   * message is its own), so large binaries come back as views of them, not copies.
   */
  decode(bytes: Uint8Array): unknown {
    const outer = this.#rebuilt
    const rebuilt: unknown[] = []
    this.#rebuilt = rebuilt
    try {
      return this.codec.decode(bytes, { owned: true })
    } catch (error) {
      this.#discardPorts(bytes, rebuilt)
      throw error
    } finally {
      this.#rebuilt = outer
    }
  }

  /**
   * A value failed to decode: nobody will ever hold the ports it carried. Those already rebuilt are
   * closed; the streams of the others are reset now rather than after `unclaimedStreamTimeoutMs`,
   * so the sending side lets go of its objects at once.
   */
  #discardPorts(bytes: Uint8Array, rebuilt: unknown[]): void {
    for (const port of rebuilt) closePort(port)
    for (const id of portStreamIds(bytes)) this.session.resetUnclaimed(id, 'the value carrying this port failed to decode')
  }

  /** A stream for a port this side is sending. */
  openPortStream(options: { maxItemBytes?: number; lane?: StreamLane } = {}): MuxStream {
    return this.session.openStream('port', options)
  }

  /** The stream of a port the peer sent. Throws BAD_PORT if the id is unknown or already claimed. */
  claimPortStream(id: number): MuxStream {
    const stream = this.session.claimStream(id)
    if (!stream) throw new MeshscopeError('BAD_PORT', `the port's stream ${id} is unknown here or was already claimed`)
    return stream
  }

  /**
   * `claimPortStream` for a received half whose values flow to this side (a receiver): its item
   * limit is brought within `channelLimits.maxReceivedItemBytes`, whatever the sender asked for.
   */
  claimInboundPortStream(id: number, askedItemBytes?: number): MuxStream {
    const stream = this.claimPortStream(id)
    stream.maxItemBytes = Math.min(askedItemBytes ?? stream.maxItemBytes, this.channelLimits.maxReceivedItemBytes)
    return stream
  }
}

/** Closes a rebuilt port (a channel half, a remote object…) whose value was discarded. */
function closePort(port: unknown): void {
  if ((typeof port !== 'object' && typeof port !== 'function') || port === null) return
  // Dispose rather than close where both exist: a receiver's close() keeps what it queued receivable.
  const close = (port as { [Symbol.dispose]?: unknown })[Symbol.dispose] ?? (port as { close?: unknown }).close
  try {
    if (typeof close === 'function') close.call(port)
  } catch {
    // Closing what nobody holds: nothing to report to.
  }
}

function planWithEncoders(encoders: readonly PortEncoder[], connection: Connection, value: object, path: string): PortPlan | undefined {
  for (const encoder of encoders) {
    const plan = encoder(connection, value, path)
    if (plan) return plan
  }
  return undefined
}
