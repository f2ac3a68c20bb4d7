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
 * A relay is a way for any neighbour to make this peer send, so it carries only what is a signal
 * (relay-check below): a payload of exactly a body of at most MAX_BODY_LENGTH, a signature and the
 * sender's key, verified as its recipient will verify it — key hashed to `from`, signature, room,
 * recipient, signing time in the window — before anything is remembered or forwarded; and at most
 * RELAY_RATE signals a second from each neighbour and from each origin (a link attempt takes an
 * offer, an answer and a few candidates). What fails is dropped and reported once per burst.
 *
 *   relay value: { to, from, ttl, payload: { body, signature, publicKey } }
 */
import { MeshscopeError } from '../errors.js'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../identity/identity.js'
import type { JsonObject } from '../signaling/protocol.js'
import { toArrayBufferView, toBase64Url, utf8 } from '../util/bytes.js'
import { TokenBucket } from '../util/token-bucket.js'
import { SignalFreshness } from './signal-freshness.js'
import { MAX_BODY_LENGTH, verifyCarriedSignal } from './signed-signal.js'

export const RELAY_MAILBOX = 'meshscope.relay'
/** Hops a relayed signal may take. */
export const RELAY_TTL = 8
/** Origins with a remembered route, and relayed signals remembered against loops (oldest dropped first). */
const MAX_ROUTES = 4096
const MAX_SEEN = 4096
/** Signals a second a neighbour may hand this peer to relay, and an origin may have relayed through it (a burst of twice that). */
export const RELAY_RATE = 32
const PEER_ID = /^[0-9a-f]{32}$/
/** base64url lengths of a raw P-256 key and an r‖s signature. */
const PUBLIC_KEY_CHARS = Math.ceil((PUBLIC_KEY_BYTES * 4) / 3)
const SIGNATURE_CHARS = Math.ceil((SIGNATURE_BYTES * 4) / 3)

export interface SignalRelayHost {
  readonly selfId: string
  /** The room: a relayed signal must be signed for it. */
  readonly room: string
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
  /** Per neighbour and per origin (each bounded: neighbours by the links, origins like routes). */
  readonly #neighbourRates = new Map<string, RelayRate>()
  readonly #originRates = new Map<string, RelayRate>()
  readonly #freshness = new SignalFreshness()

  constructor(
    private readonly host: SignalRelayHost,
    private readonly now: () => number = () => performance.now(),
  ) {}

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
    // Remembered a moment later (hashing is asynchronous): long before any copy could come back.
    void seenKey(message).then((key) => this.#remember(key))
    return this.#forward(message, undefined)
  }

  /** A relay message from neighbour `via` (the mailbox's handler). Settles once it was handled. */
  async receive(via: string, value: unknown): Promise<void> {
    if (!this.#admit(this.#neighbourRates, via, `neighbour ${via}`)) return
    const message = parseRelayMessage(value)
    if (!message) {
      this.host.report(new MeshscopeError('BAD_SIGNAL', `a malformed signal relay from ${via}; dropped`))
      return
    }
    // Remembered by what was signed, not by the signature: an ECDSA signature has a second valid
    // form (s → n − s), so keyed by signature a relay could send each signal around once more.
    const key = await seenKey(message)
    if (this.#seen.has(key)) return // already relayed (a flood comes back)
    try {
      const { t } = await verifyCarriedSignal(message.payload, { room: this.host.room, from: message.from, to: message.to })
      const stale = this.#freshness.checkTime(t)
      if (stale) throw new MeshscopeError('BAD_SIGNAL', `a relayed signal from ${message.from}: ${stale}`)
    } catch (error) {
      this.host.report(error instanceof MeshscopeError ? error : new MeshscopeError('BAD_SIGNAL', String(error), { cause: error }))
      return
    }
    if (!this.#remember(key)) return // relayed meanwhile, by another neighbour
    if (!this.#admit(this.#originRates, message.from, `origin ${message.from}`)) return
    this.learn(message.from, via)
    if (message.to === this.host.selfId) return this.host.deliver(message.from, message.payload)
    if (message.ttl > 0) this.#forward({ ...message, ttl: message.ttl - 1 }, via)
  }

  /** Takes a token from `key`'s bucket; a refusal is reported once per burst. */
  #admit(rates: Map<string, RelayRate>, key: string, who: string): boolean {
    const now = this.now()
    let rate = rates.get(key)
    if (!rate) {
      rate = { bucket: new TokenBucket(2 * RELAY_RATE, 1000 / RELAY_RATE, now), refusing: false }
      rates.set(key, rate)
      if (rates.size > MAX_ROUTES) rates.delete(rates.keys().next().value!)
    }
    if (rate.bucket.take(now)) {
      rate.refusing = false
      return true
    }
    if (!rate.refusing) this.host.report(new MeshscopeError('RATE_LIMITED', `${who} relays more than ${RELAY_RATE} signals a second; dropping`))
    rate.refusing = true
    return false
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
  #remember(key: string): boolean {
    if (this.#seen.has(key)) return false
    this.#seen.add(key)
    if (this.#seen.size > MAX_SEEN) this.#seen.delete(this.#seen.values().next().value!)
    return true
  }
}

interface RelayRate {
  bucket: TokenBucket
  /** Refusing since the last admitted signal (reported once). */
  refusing: boolean
}

/** What a signal is remembered by: its sender, recipient and the SHA-256 of its signed body. */
async function seenKey(message: RelayMessage): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', toArrayBufferView(utf8.encode(message.payload.body as string))))
  return `${message.from}>${message.to}:${toBase64Url(digest)}`
}

/** The relay value's shape, and a payload that can only be a signal: no field more, none larger. */
function parseRelayMessage(value: unknown): RelayMessage | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const { to, from, ttl, payload } = value as Record<string, unknown>
  if (typeof to !== 'string' || !PEER_ID.test(to) || typeof from !== 'string' || !PEER_ID.test(from)) return undefined
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > RELAY_TTL) return undefined
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined
  const { body, signature, publicKey, ...rest } = payload as Record<string, unknown>
  if (Object.keys(rest).length > 0 || typeof body !== 'string' || body.length > MAX_BODY_LENGTH) return undefined
  if (typeof signature !== 'string' || signature.length !== SIGNATURE_CHARS) return undefined
  if (typeof publicKey !== 'string' || publicKey.length !== PUBLIC_KEY_CHARS) return undefined
  return { to, from, ttl, payload: { body, signature, publicKey } }
}
