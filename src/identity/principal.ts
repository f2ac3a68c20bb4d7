/**
 * A principal: who a peer is for the application, as the signaling server established it from the
 * peer's token (its `sub` and the claims the server passes on), as opposed to the peer id, which
 * only says which key it holds. Peers learn each other's principals from server-signed attestations
 * (src/mesh/principal-attestation.ts); in a room without auth there is none.
 */
export interface Principal {
  /** The token's subject (`sub`). */
  readonly sub: string
  /** The claims the server was configured to pass on (`attestation.claims`), JSON values. */
  readonly claims: Readonly<Record<string, unknown>>
}

/**
 * The `typ` header of a principal attestation: a compact JWS (ES256) the signaling server signs,
 * with claims `sub`, `peer` (the peer id: its public key's hash), `room`, `claims` (the passed-on
 * claims), `iat` and `exp`. The type keeps it from passing for any other JWT the same key might sign.
 */
export const ATTESTATION_TYPE = 'meshscope-attestation+jwt'
