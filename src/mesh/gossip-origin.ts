/**
 * Authenticated gossip origins. The SCAMP core carries a gossip payload as opaque bytes; in a mesh
 * those bytes are a signed envelope, so no relay can publish as someone else or alter a message:
 *
 *   envelope: codec [origin, publicKey, signature, valueBytes]
 *     origin       the publisher's peer id (32 lowercase hex digits)
 *     publicKey    its raw P-256 key, base64url; must hash to `origin` (identity.ts)
 *     signature    by that key, domain `gossip`, over `${id}\n${origin}\n${base64url(SHA-256(valueBytes))}`
 *     valueBytes   the application value, codec-encoded
 *
 * The message id is signed too, and it carries the publisher's time (dissemination.ts), so a
 * replayed message is as old as when it was signed. A receiver verifies a message once per id,
 * before delivering or forwarding it (scamp-driver.ts); imported keys are cached per origin.
 */
import type { Codec } from '../codec/codec.js'
import { importPublicKey, PEER_ID_PATTERN, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, verifySignature } from '../identity/identity.js'
import { toArrayBufferView, toBase64Url } from '../util/bytes.js'

/** Origins whose imported key is remembered (the least recently used forgotten first). */
const MAX_CACHED_KEYS = 1024
const PUBLIC_KEY_CHARS = Math.ceil((PUBLIC_KEY_BYTES * 4) / 3)
const SIGNATURE_CHARS = Math.ceil((SIGNATURE_BYTES * 4) / 3)

/**
 * The text an origin signs (domain `gossip`) for message `id` carrying `valueBytes`. The value goes
 * in as its SHA-256 (native), not spelled out: a 60 KiB value then verifies about as fast as a
 * small one (docs/protocol.md has the figures).
 */
export async function gossipSignedText(id: string, origin: string, valueBytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', toArrayBufferView(valueBytes)))
  return `${id}\n${origin}\n${toBase64Url(digest)}`
}

/** The envelope's bytes. */
export function encodeGossipEnvelope(codec: Codec, origin: string, publicKey: string, signature: string, valueBytes: Uint8Array): Uint8Array {
  return codec.encode([origin, publicKey, signature, valueBytes])
}

/** The size of an envelope for `valueBytes` (a signature is always the same length): checked before signing. */
export function gossipEnvelopeBytes(codec: Codec, origin: string, publicKey: string, valueBytes: Uint8Array): number {
  return encodeGossipEnvelope(codec, origin, publicKey, 'x'.repeat(SIGNATURE_CHARS), valueBytes).byteLength
}

export interface GossipEnvelope {
  origin: string
  publicKey: string
  signature: string
  valueBytes: Uint8Array
}

/** The envelope in `payload`, or a reason it is not one. Never throws. */
export function decodeGossipEnvelope(codec: Codec, payload: Uint8Array): GossipEnvelope | string {
  let decoded: unknown
  try {
    decoded = codec.decode(payload)
  } catch {
    return 'the payload does not decode'
  }
  if (!Array.isArray(decoded) || decoded.length !== 4) return 'the payload is not [origin, publicKey, signature, value]'
  const [origin, publicKey, signature, valueBytes] = decoded as unknown[]
  if (typeof origin !== 'string' || !PEER_ID_PATTERN.test(origin)) return 'the origin is not a peer id'
  if (typeof publicKey !== 'string' || publicKey.length !== PUBLIC_KEY_CHARS) return 'the public key is not a P-256 key'
  if (typeof signature !== 'string' || signature.length !== SIGNATURE_CHARS) return 'the signature is not a P-256 signature'
  if (!(valueBytes instanceof Uint8Array)) return 'the value is not bytes'
  return { origin, publicKey, signature, valueBytes }
}

export type OriginCheck = { ok: true; envelope: GossipEnvelope } | { ok: false; code: 'GOSSIP_MALFORMED' | 'GOSSIP_FORGED'; reason: string }

/** Verifies envelopes, with the imported key of each recent origin cached. */
export class GossipOriginVerifier {
  readonly #keys = new Map<string, { publicKey: string; key: CryptoKey }>()

  constructor(private readonly codec: Codec) {}

  /** Checks that gossip message `id`'s payload is an envelope signed by its origin. Never throws. */
  async verify(id: string, payload: Uint8Array): Promise<OriginCheck> {
    const envelope = decodeGossipEnvelope(this.codec, payload)
    if (typeof envelope === 'string') return { ok: false, code: 'GOSSIP_MALFORMED', reason: envelope }
    const key = await this.#keyOf(envelope.origin, envelope.publicKey)
    if (key === undefined) return { ok: false, code: 'GOSSIP_FORGED', reason: `the key does not belong to origin ${envelope.origin}` }
    const valid = await verifySignature(key, await gossipSignedText(id, envelope.origin, envelope.valueBytes), envelope.signature, 'gossip')
    if (!valid) return { ok: false, code: 'GOSSIP_FORGED', reason: `the signature of origin ${envelope.origin} does not verify` }
    return { ok: true, envelope }
  }

  /** The key of `origin` if `publicKey` is it (hashes to the id); undefined otherwise. */
  async #keyOf(origin: string, publicKey: string): Promise<CryptoKey | undefined> {
    const cached = this.#keys.get(origin)
    if (cached) {
      // An id is the hash of one key: any other key cannot be this origin's.
      if (cached.publicKey !== publicKey) return undefined
      this.#keys.delete(origin)
      this.#keys.set(origin, cached)
      return cached.key
    }
    let imported: { id: string; key: CryptoKey }
    try {
      imported = await importPublicKey(publicKey)
    } catch {
      return undefined
    }
    if (imported.id !== origin) return undefined
    this.#keys.set(origin, { publicKey, key: imported.key })
    if (this.#keys.size > MAX_CACHED_KEYS) this.#keys.delete(this.#keys.keys().next().value as string)
    return imported.key
  }
}
