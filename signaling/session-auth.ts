/**
 * The server's side of token-authorised rooms, per socket: the join decision, the timer that removes
 * a member whose token expires, and token refreshes (same `sub` required). The server (server.ts)
 * calls in at the hello, at a refresh-token message and when the socket leaves; everything about
 * tokens lives here so the server's own flow stays as it was for rooms without auth.
 */
import type { ErrorCode } from '../src/errors.js'
import type { Principal } from '../src/identity/principal.js'
import { CLOSE_CODES, type JsonObject } from '../src/signaling/protocol.js'
import { Attestor, type AttestationOptions } from './attestation.js'
import { createAuthorizer, type AuthRefusalCode, type Authorizer, type SignalingAuth } from './auth.js'

/** The auth state one joined socket carries. */
export interface AuthState {
  /** The room it joined (by name: refreshes are verified for it). */
  room?: string
  principal?: Principal
  /** When the member's token expires (ms since the epoch). */
  expiresAt?: number
  expiryTimer?: ReturnType<typeof setTimeout>
  /** A refresh being verified: one at a time per socket. */
  refreshing?: boolean
  /** Its current attestation. */
  attestation?: Granted['attestation']
}

/** An accepted join or refresh: the principal, the token's expiry, and the attestation other peers verify. */
export interface Granted {
  ok: true
  principal?: Principal
  expiresAt?: number
  attestation?: { attestation: string; expiresAt: number; serverKey: JsonObject }
}

export type JoinDecision = Granted | { ok: false; closeCode: number; code: ErrorCode; reason: string }

/** setTimeout's longest delay; a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

export class SessionAuth {
  readonly #authorizer?: Authorizer
  readonly #attestor?: Attestor

  constructor(auth: SignalingAuth | undefined, decideWithinMs: number, attestation?: AttestationOptions) {
    this.#authorizer = auth === undefined ? undefined : createAuthorizer(auth, decideWithinMs)
    this.#attestor = auth === undefined ? undefined : new Attestor(attestation)
  }

  /** Settles once the verification and attestation keys are loaded; rejects if they cannot be. */
  get ready(): Promise<void> {
    return Promise.all([this.#authorizer?.ready, this.#attestor?.publicKey()]).then(() => {})
  }

  /** Whether this server requires tokens. */
  get enabled(): boolean {
    return this.#authorizer !== undefined
  }

  /** Decides a hello: without auth every join is let through, without a principal. */
  async decideJoin(token: string | undefined, room: string, peerId: string): Promise<JoinDecision> {
    if (!this.#authorizer) return { ok: true }
    const verdict = await this.#authorizer.verify(token, room, peerId)
    if (!verdict.ok) return { ok: false, closeCode: closeCodeFor(verdict.code), code: verdict.code, reason: verdict.reason }
    return this.#attest(peerId, room, verdict.principal, verdict.expiresAt)
  }

  /** A grant with its attestation signed (a key that cannot sign refuses: no attestation is ever made up). */
  async #attest(peerId: string, room: string, principal: Principal, expiresAt: number | undefined): Promise<JoinDecision> {
    let attestation: Granted['attestation']
    try {
      const signed = await this.#attestor!.sign(peerId, room, principal, expiresAt)
      attestation = { ...signed, serverKey: (await this.#attestor!.publicKey()) as JsonObject }
    } catch (error) {
      return {
        ok: false,
        closeCode: CLOSE_CODES.unauthorized,
        code: 'TOKEN_INVALID',
        reason: `the server cannot sign attestations: ${String(error).slice(0, 200)}`,
      }
    }
    return { ok: true, principal, ...(expiresAt !== undefined && { expiresAt }), attestation }
  }

  /** What a welcome or a refresh answer carries: the attestation, the server's key, and when to refresh (the sooner of the token's and the attestation's end). */
  welcomeFields(state: AuthState): { expiresAt?: number; attestation?: string; serverKey?: JsonObject } {
    const attested = state.attestation
    if (!attested) return state.expiresAt === undefined ? {} : { expiresAt: state.expiresAt }
    return {
      expiresAt: Math.min(attested.expiresAt, state.expiresAt ?? Number.POSITIVE_INFINITY),
      attestation: attested.attestation,
      serverKey: attested.serverKey,
    }
  }

  /**
   * Checks a refresh: a valid token for the same room and peer, with the same `sub`. A refused
   * refresh leaves the current token in force until it expires.
   */
  async decideRefresh(state: AuthState, token: string, room: string, peerId: string): Promise<JoinDecision> {
    if (!this.#authorizer) return { ok: false, closeCode: CLOSE_CODES.policyViolation, code: 'BAD_MESSAGE', reason: 'this server takes no tokens' }
    const verdict = await this.#authorizer.verify(token, room, peerId)
    if (!verdict.ok) return { ok: false, closeCode: closeCodeFor(verdict.code), code: verdict.code, reason: verdict.reason }
    if (verdict.principal.sub !== state.principal?.sub)
      return { ok: false, closeCode: CLOSE_CODES.unauthorized, code: 'TOKEN_INVALID', reason: 'a refreshed token must have the same sub' }
    return this.#attest(peerId, room, verdict.principal, verdict.expiresAt)
  }

  /** Takes a decision into the socket's state and (re)arms its expiry: `expire` runs once the token is past its time. */
  grant(state: AuthState, decision: Granted, expire: () => void): void {
    state.principal = decision.principal
    state.expiresAt = decision.expiresAt
    state.attestation = decision.attestation
    this.#arm(state, expire)
  }

  #arm(state: AuthState, expire: () => void): void {
    clearTimeout(state.expiryTimer)
    state.expiryTimer = undefined
    if (state.expiresAt === undefined) return
    const delay = state.expiresAt - Date.now()
    if (delay <= 0) return expire()
    state.expiryTimer = setTimeout(() => this.#arm(state, expire), Math.min(delay, MAX_TIMER_MS))
    state.expiryTimer.unref?.()
  }

  /** Stops the socket's expiry timer (it left). */
  release(state: AuthState): void {
    clearTimeout(state.expiryTimer)
    state.expiryTimer = undefined
  }
}

/** The close code a refused join gets: 4006 for a missing, bad or expired token, 4007 for a room the token does not allow. */
export function closeCodeFor(code: AuthRefusalCode): number {
  return code === 'ROOM_FORBIDDEN' ? CLOSE_CODES.forbidden : CLOSE_CODES.unauthorized
}
