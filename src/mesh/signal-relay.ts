/**
 * Signals through the mesh (scamp topology): offers, answers and candidates for a new link travel
 * hop by hop over links the peer already has, so links keep forming while the signaling server is
 * away. The payload is the same end-to-end signed signal the server would relay (with the sender's
 * key), so a relay can drop it but not forge or alter it.
 *
 * Routing is by reverse paths: a peer remembers, for each origin, the neighbour a subscription or a
 * relayed signal from it arrived through, and sends signals for that origin back that way. With no
 * route it floods to every neighbour; a time to live and a bounded memory of what it has relayed
 * stop the flood.
 *
 *   relay value: { to, from, ttl, payload }
 */
import { MeshscopeError } from '../errors.js'
import type { JsonObject } from '../signaling/protocol.js'

export const RELAY_MAILBOX = 'meshscope.relay'
/** Hops a relayed signal may take. */
export const RELAY_TTL = 8
/** Origins with a remembered route, and relayed signals remembered against loops (oldest dropped first). */
const MAX_ROUTES = 4096
const MAX_SEEN = 4096
const PEER_ID = /^[0-9a-f]{32}$/

export interface SignalRelayHost {
  readonly selfId: string
  /** Peers with an open link. */
  linkedPeers(): string[]
  isLinked(peer: string): boolean
  send(peer: string, mailbox: string, value: unknown): Promise<void>
  /** A signal for this peer arrived: handle it as if the server had delivered it. */
  deliver(from: string, payload: JsonObject): void
  report(error: MeshscopeError): void
}

interface RelayMessage {
  to: string
  from: string
  ttl: number
  payload: JsonObject
}

export class SignalRelay {
  #routes = new Map<string, string>()
  #seen = new Set<string>()

  constructor(private readonly host: SignalRelayHost) {}

  /** Remembers that `origin` is reachable through neighbour `via`. */
  learn(origin: string, via: string): void {
    if (origin === this.host.selfId || origin === via) return
    this.#routes.delete(origin)
    this.#routes.set(origin, via)
    if (this.#routes.size > MAX_ROUTES) this.#routes.delete(this.#routes.keys().next().value!)
  }

  /** Sends a signed signal to `to` through the mesh; false when this peer has no link at all. */
  send(to: string, payload: JsonObject): boolean {
    const message: RelayMessage = { to, from: this.host.selfId, ttl: RELAY_TTL, payload }
    this.#remember(message)
    return this.#forward(message, undefined)
  }

  /** A relay message from neighbour `via` (the mailbox's handler). */
  receive(via: string, value: unknown): void {
    const message = parseRelayMessage(value)
    if (!message) {
      this.host.report(new MeshscopeError('BAD_SIGNAL', `a malformed signal relay from ${via}; dropped`))
      return
    }
    if (!this.#remember(message)) return // already relayed (a flood comes back)
    this.learn(message.from, via)
    if (message.to === this.host.selfId) return this.host.deliver(message.from, message.payload)
    if (message.ttl > 0) this.#forward({ ...message, ttl: message.ttl - 1 }, via)
  }

  /** Direct link, then the remembered route, then a flood to every neighbour but the one it came from. */
  #forward(message: RelayMessage, via: string | undefined): boolean {
    const direct = this.host.isLinked(message.to) ? message.to : undefined
    const routed = this.#routes.get(message.to)
    const next = direct ?? (routed !== undefined && routed !== via && this.host.isLinked(routed) ? routed : undefined)
    const targets = next !== undefined ? [next] : this.host.linkedPeers().filter((peer) => peer !== via && peer !== message.from)
    for (const peer of targets) void this.host.send(peer, RELAY_MAILBOX, message).catch(() => {})
    return targets.length > 0
  }

  /** False if this signal was seen before. */
  #remember(message: RelayMessage): boolean {
    const key = `${message.from}>${message.to}:${String(message.payload.signature)}`
    if (this.#seen.has(key)) return false
    this.#seen.add(key)
    if (this.#seen.size > MAX_SEEN) this.#seen.delete(this.#seen.values().next().value!)
    return true
  }
}

function parseRelayMessage(value: unknown): RelayMessage | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const { to, from, ttl, payload } = value as Record<string, unknown>
  if (typeof to !== 'string' || !PEER_ID.test(to) || typeof from !== 'string' || !PEER_ID.test(from)) return undefined
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > RELAY_TTL) return undefined
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || typeof (payload as JsonObject).signature !== 'string') return undefined
  return { to, from, ttl, payload: payload as JsonObject }
}
