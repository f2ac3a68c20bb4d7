/**
 * The principals of this peer and of the peers it links with (issue 16, part 2), from server-signed
 * attestations (signaling/attestation.ts). Each attestation is verified with jose against the
 * trusted keys — `Mesh.join({ trustedKeys })` when given, else the key the server named in its
 * welcome — and must name the peer it came from and this room, be within its time, and carry the
 * attestation type. The verified principal is kept by peer id until the attestation's `exp`; after
 * that it is absent (never stale) until the peer presents a renewed one.
 *
 * Where an attestation travels: inside the signed offer and answer (signals.ts), so the statement
 * reaches a peer however the signals came (the server, or the scamp relay through the mesh), and a
 * link in a room with auth opens only with a valid one; renewals travel over the link, to the
 * PRINCIPAL_MAILBOX. In a room without auth (no trusted key) attestations are neither asked for nor
 * read, and every principal is absent.
 */
import type { JWK, JWTPayload, JWTVerifyGetKey } from 'jose'
import { MeshscopeError } from '../errors.js'
import { ATTESTATION_TYPE, type Principal } from '../identity/principal.js'
import { SIGNALING_LIMITS } from '../signaling/protocol.js'

/** The internal mailbox a renewed attestation is presented to, over an open link. */
export const PRINCIPAL_MAILBOX = '__meshscope.principal'

/** Seconds of clock difference between peers an attestation's `exp` and `iat` tolerate. */
const CLOCK_TOLERANCE_SECONDS = 5

interface Held {
  principal: Principal
  expiresAt: number
}

export class Principals {
  readonly #byPeer = new Map<string, Held>()
  /** The trusted keys; jose (a chunk of its own for bundlers) is loaded only once there are some. */
  #keys?: JWK[]
  #keySet?: { keys: JWK[]; set: JWTVerifyGetKey }
  #own?: { attestation: string; held?: Held }
  /** Keys given to `Mesh.join`: they win over the welcome's. */
  readonly #pinned: boolean

  constructor(
    private readonly selfId: string,
    private readonly room: string,
    trustedKeys: readonly JsonWebKey[] | undefined,
    private readonly report: (error: MeshscopeError) => void,
  ) {
    if (trustedKeys && trustedKeys.length > 0) this.#keys = [...(trustedKeys as JWK[])]
    this.#pinned = this.#keys !== undefined
  }

  /** Whether this room has principals: a peer without a valid attestation is then not linked with. */
  get required(): boolean {
    return this.#keys !== undefined
  }

  /** This peer's own attestation, to present in offers, answers and renewals. */
  get ownAttestation(): string | undefined {
    return this.#own?.attestation
  }

  /**
   * Takes this peer's attestation from the server (welcome or refresh), and the server's key when
   * none is configured. Its own attestation is verified like anyone's, so this peer's own principal
   * (for local calls) is never what the server said without a signature the others would accept.
   */
  async ownFromServer(attestation: string | undefined, serverKey: JsonWebKey | undefined): Promise<void> {
    if (serverKey && !this.#pinned) this.#keys = [serverKey as JWK]
    if (attestation === undefined) return
    this.#own = { attestation }
    try {
      this.#own.held = await this.#verify(this.selfId, attestation)
    } catch (error) {
      this.report(error as MeshscopeError)
    }
  }

  /**
   * Checks the attestation `peerId` presented when a link forms and keeps its principal. Throws
   * ATTESTATION_INVALID in a room with principals when it is missing or does not verify; in a room
   * without, does nothing.
   */
  async admit(peerId: string, attestation: string | undefined): Promise<void> {
    if (!this.required) return
    if (attestation === undefined) throw new MeshscopeError('ATTESTATION_INVALID', `${peerId} presented no principal attestation in a room with auth`)
    this.#byPeer.set(peerId, await this.#verify(peerId, attestation))
  }

  /** A renewal presented over the link: replaces the principal only when it verifies (and is for the same `sub`). */
  async renew(peerId: string, attestation: unknown): Promise<void> {
    if (!this.required) return
    if (typeof attestation !== 'string') throw new MeshscopeError('ATTESTATION_INVALID', `${peerId} presented a renewal that is not an attestation`)
    const held = await this.#verify(peerId, attestation)
    const current = this.#byPeer.get(peerId)
    if (current && current.principal.sub !== held.principal.sub)
      throw new MeshscopeError('ATTESTATION_INVALID', `${peerId} presented a renewal for another sub`)
    this.#byPeer.set(peerId, held)
  }

  /** The verified principal of `peerId` now (this peer's own for its id); undefined when none or expired. */
  of(peerId: string): Principal | undefined {
    const held = peerId === this.selfId ? this.#own?.held : this.#byPeer.get(peerId)
    if (!held) return undefined
    if (Date.now() < held.expiresAt) return held.principal
    if (peerId !== this.selfId) this.#byPeer.delete(peerId)
    return undefined
  }

  /** The peer's link closed: its principal goes with it (a new link presents a new attestation). */
  forget(peerId: string): void {
    this.#byPeer.delete(peerId)
  }

  async #verify(peerId: string, attestation: string): Promise<Held> {
    const keys = this.#keys
    if (!keys) throw new MeshscopeError('ATTESTATION_INVALID', 'no trusted key to verify attestations with')
    if (attestation.length > SIGNALING_LIMITS.maxAttestationLength) throw new MeshscopeError('ATTESTATION_INVALID', `${peerId}'s attestation is too long`)
    let payload: JWTPayload
    try {
      const { createLocalJWKSet, jwtVerify } = await import('jose')
      // One key set per list of keys (it caches the imported keys).
      if (this.#keySet?.keys !== keys) this.#keySet = { keys, set: createLocalJWKSet({ keys }) }
      ;({ payload } = await jwtVerify(attestation, this.#keySet.set, {
        algorithms: ['ES256'],
        typ: ATTESTATION_TYPE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp', 'peer', 'room'],
      }))
    } catch (cause) {
      const code = (cause as { code?: string }).code ?? 'ERR_UNKNOWN'
      const why = code === 'ERR_JWT_EXPIRED' ? 'expired' : code === 'ERR_JWKS_NO_MATCHING_KEY' ? 'signed by an untrusted key' : `not valid (${code})`
      throw new MeshscopeError('ATTESTATION_INVALID', `${peerId}'s principal attestation is ${why}`, { cause })
    }
    if (payload.peer !== peerId) throw new MeshscopeError('ATTESTATION_INVALID', `the attestation ${peerId} presented is for another peer`)
    if (payload.room !== this.room) throw new MeshscopeError('ATTESTATION_INVALID', `the attestation ${peerId} presented is for another room`)
    const claims = payload.claims ?? {}
    if (typeof payload.sub !== 'string' || typeof claims !== 'object' || claims === null || Array.isArray(claims))
      throw new MeshscopeError('ATTESTATION_INVALID', `the attestation ${peerId} presented is malformed`)
    const principal: Principal = Object.freeze({ sub: payload.sub, claims: Object.freeze({ ...(claims as Record<string, unknown>) }) })
    return { principal, expiresAt: (payload.exp as number) * 1000 + CLOCK_TOLERANCE_SECONDS * 1000 }
  }
}
