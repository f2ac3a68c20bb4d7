/**
 * Peer identity: an ECDSA P-256 key pair through WebCrypto (the same code in browsers and Node).
 * A peer id is self-certifying: the first 16 bytes of SHA-256 over the raw public key, in hex.
 * Whoever shows a public key and a signature made with it has proved the id derived from it.
 */
import { MeshscopeError } from '../errors.js'
import { fromBase64Url, toArrayBufferView, toBase64Url, toHex, utf8 } from '../util/bytes.js'

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGNATURE = { name: 'ECDSA', hash: 'SHA-256' } as const

/** Raw uncompressed P-256 points are 65 bytes; their base64url spelling is 87 characters. */
export const PUBLIC_KEY_BYTES = 65
/** ECDSA P-256 signatures from WebCrypto are r‖s, 64 bytes: 86 base64url characters. */
export const SIGNATURE_BYTES = 64
/** Peer ids are 32 lowercase hex characters (128 bits of the key's SHA-256). */
export const PEER_ID_PATTERN = /^[0-9a-f]{32}$/

/**
 * What a signature is for. The signed bytes start with a tag naming the domain, so a signature made
 * for one can never pass for another: above all, an application that signs its own data
 * (`identity.sign(text)`, domain `app`) can never produce a valid signaling hello or link signal,
 * whatever text it is given. The other domains are meshscope's own.
 */
export type SignatureDomain = 'app' | 'hello' | 'signal' | 'gossip'

function domainTagged(domain: SignatureDomain, text: string): Uint8Array {
  return utf8.encode(`meshscope-signature/${domain}\n${text}`)
}

export class Identity {
  private constructor(
    /** The self-certifying peer id. */
    readonly id: string,
    /** The raw public key, base64url: what other peers need to verify this peer. */
    readonly publicKey: string,
    readonly keyPair: CryptoKeyPair,
  ) {}

  /** A fresh key pair. `extractable` lets the private key be written to a file (Node persistence). */
  static async generate(options: { extractable?: boolean } = {}): Promise<Identity> {
    const keyPair = (await crypto.subtle.generateKey(ALGORITHM, options.extractable ?? false, ['sign', 'verify'])) as CryptoKeyPair
    return Identity.fromKeyPair(keyPair)
  }

  static async fromKeyPair(keyPair: CryptoKeyPair): Promise<Identity> {
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', keyPair.publicKey))
    return new Identity(await peerIdFromPublicKey(raw), toBase64Url(raw), keyPair)
  }

  /**
   * Signs UTF-8 text for `domain` (the application's by default: see SignatureDomain); returns the
   * signature in base64url. Verify it with `verifySignature(key, text, signature, domain)`.
   */
  async sign(text: string, domain: SignatureDomain = 'app'): Promise<string> {
    const signature = await crypto.subtle.sign(SIGNATURE, this.keyPair.privateKey, toArrayBufferView(domainTagged(domain, text)))
    return toBase64Url(new Uint8Array(signature))
  }
}

export async function peerIdFromPublicKey(rawPublicKey: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', toArrayBufferView(rawPublicKey)))
  return toHex(digest.subarray(0, 16))
}

/**
 * A public key checked to be a valid P-256 point, with the id it certifies.
 * Throws BAD_PUBLIC_KEY for anything else.
 */
export async function importPublicKey(publicKey: string): Promise<{ id: string; key: CryptoKey }> {
  const raw = fromBase64Url(publicKey)
  if (!raw || raw.length !== PUBLIC_KEY_BYTES || raw[0] !== 0x04) {
    throw new MeshscopeError('BAD_PUBLIC_KEY', 'public key must be a raw uncompressed P-256 point in base64url')
  }
  let key: CryptoKey
  try {
    key = await crypto.subtle.importKey('raw', toArrayBufferView(raw), ALGORITHM, true, ['verify'])
  } catch (cause) {
    throw new MeshscopeError('BAD_PUBLIC_KEY', 'public key is not a point on P-256', { cause })
  }
  return { id: await peerIdFromPublicKey(raw), key }
}

/** Verifies a base64url signature over UTF-8 text made for `domain` (default `app`); false for any malformed signature. */
export async function verifySignature(key: CryptoKey, text: string, signature: string, domain: SignatureDomain = 'app'): Promise<boolean> {
  const raw = fromBase64Url(signature)
  if (!raw || raw.length !== SIGNATURE_BYTES) return false
  try {
    return await crypto.subtle.verify(SIGNATURE, key, toArrayBufferView(raw), toArrayBufferView(domainTagged(domain, text)))
  } catch {
    return false
  }
}
