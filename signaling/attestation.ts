/**
 * Principal attestations (issue 16, part 2): on a successful join in a room with auth, the server
 * signs "peer <id> has principal <sub, claims> in room <room> until <exp>" as a short-lived ES256
 * JWT (src/identity/principal.ts, ATTESTATION_TYPE). Peers verify each other's with the server's
 * public key (from the welcome, or pinned with `Mesh.join({ trustedKeys })`), so the statement holds
 * however the signals travelled. jose does the signing; the key is the operator's (a private JWK or
 * PKCS#8 PEM, so several instances can share it) or, when absent, generated per process.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose'
import { ATTESTATION_TYPE, type Principal } from '../src/identity/principal.js'

export interface AttestationOptions {
  /**
   * The ES256 private key that signs attestations: a private JWK (`kty: 'EC'`, `crv: 'P-256'`, with
   * `d`) or PKCS#8 PEM text. Give every instance that serves the same rooms the same key, so peers
   * joined through different instances verify each other with one public key.
   * @default a key pair generated when the server starts (peers learn its public key from the welcome)
   */
  key?: JWK | string
  /**
   * How long an attestation holds, in seconds; never past the token's own expiry. Peers renew it
   * (with a token refresh) before it ends.
   * @default 300
   */
  ttlSeconds?: number
  /**
   * The token claims (beyond `sub`) an attestation passes on to other peers, e.g. `['name', 'roles']`.
   * Only JSON values travel; the whole set is bounded (4 KiB).
   * @default [] (only `sub`)
   */
  claims?: string[]
}

/** Signs attestations for one server process. */
export class Attestor {
  readonly #ttlMs: number
  readonly #claims: readonly string[]
  readonly #keys: Promise<{ privateKey: CryptoKey | KeyObject; publicJwk: JWK }>

  constructor(options: AttestationOptions = {}) {
    const ttlSeconds = options.ttlSeconds ?? 300
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('attestation.ttlSeconds must be a positive number')
    if (options.claims !== undefined && !(Array.isArray(options.claims) && options.claims.every((claim) => typeof claim === 'string')))
      throw new TypeError('attestation.claims must be a list of claim names')
    this.#ttlMs = ttlSeconds * 1000
    this.#claims = options.claims ?? []
    this.#keys = loadKeys(options.key)
    this.#keys.catch(() => {}) // reported at the first join that needs it
  }

  /** The public JWK peers verify with (with its `kid`, `alg` and `use`). */
  async publicKey(): Promise<JWK> {
    return (await this.#keys).publicJwk
  }

  /** Signs the attestation of `peerId` in `room`; it ends at `now + ttl`, or at `notAfter` if sooner. */
  async sign(peerId: string, room: string, principal: Principal, notAfter: number | undefined): Promise<{ attestation: string; expiresAt: number }> {
    const { privateKey, publicJwk } = await this.#keys
    const expiresAt = Math.min(Date.now() + this.#ttlMs, notAfter ?? Number.POSITIVE_INFINITY)
    const claims: Record<string, unknown> = {}
    for (const name of this.#claims) if (Object.hasOwn(principal.claims, name)) claims[name] = principal.claims[name]
    // Bounded: what travels in every offer and answer stays small whatever the token held.
    const passed = JSON.stringify(claims).length <= 4096 ? claims : {}
    const attestation = await new SignJWT({ peer: peerId, room, claims: passed })
      .setProtectedHeader({ alg: 'ES256', typ: ATTESTATION_TYPE, kid: publicJwk.kid! })
      .setSubject(principal.sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(privateKey)
    return { attestation, expiresAt: Math.floor(expiresAt / 1000) * 1000 }
  }
}

async function loadKeys(key: JWK | string | undefined) {
  let privateKey: CryptoKey | KeyObject
  let publicJwk: JWK
  if (key === undefined) {
    const pair = await generateKeyPair('ES256')
    privateKey = pair.privateKey
    publicJwk = await exportJWK(pair.publicKey)
  } else if (typeof key === 'string') {
    privateKey = await importPKCS8(key, 'ES256')
    publicJwk = await exportJWK(createPublicKey(createPrivateKey(key)))
  } else {
    if (key.kty !== 'EC' || key.crv !== 'P-256' || typeof key.d !== 'string') throw new TypeError('attestation.key must be a private P-256 (ES256) JWK')
    privateKey = (await importJWK(key, 'ES256')) as CryptoKey
    publicJwk = { kty: key.kty, crv: key.crv, x: key.x!, y: key.y! }
  }
  if (publicJwk.kty !== 'EC' || publicJwk.crv !== 'P-256') throw new TypeError('attestation.key must be a P-256 (ES256) key')
  const bare: JWK = { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x!, y: publicJwk.y! }
  return { privateKey, publicJwk: { ...bare, kid: await calculateJwkThumbprint(bare), alg: 'ES256', use: 'sig' } }
}
