/**
 * Token-authorised rooms: who may join which room, decided from the token a hello carries (issue 16).
 *
 * `auth` is either a JWT verifier configuration (an HS256 secret, or RS256/ES256 public keys, or a
 * JWKS file or URL; issuer, audience, clock tolerance) or the operator's own function. Every JWT,
 * JWK and JWKS operation goes through `jose`: nothing here parses a token or checks a signature by
 * hand. A verdict is a principal (the token's `sub` and the claims passed on) with the time the
 * token expires, or a refusal with a stable code:
 *
 *   TOKEN_REQUIRED  the hello carried no token
 *   TOKEN_INVALID   malformed, wrong algorithm (`none` included), bad signature, wrong issuer or
 *                   audience, no `sub` or `exp`, a `rooms` claim that is not a list of strings
 *   TOKEN_EXPIRED   past its `exp` (beyond the clock tolerance)
 *   ROOM_FORBIDDEN  the `rooms` claim (or the function) does not allow this room
 */
import { readFile } from 'node:fs/promises'
import { createPublicKey } from 'node:crypto'
import { createLocalJWKSet, createRemoteJWKSet, exportJWK, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import type { ErrorCode } from '../src/errors.js'
import type { Principal } from '../src/identity/principal.js'

/** The codes a join or a token refresh is refused with. */
export type AuthRefusalCode = 'TOKEN_REQUIRED' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'ROOM_FORBIDDEN'

/** An accepted token: the principal, and when the token stops being valid (ms since the epoch; absent: never). */
export interface AuthGrant {
  principal: Principal
  expiresAt?: number
}

export interface AuthRefusal {
  refuse: AuthRefusalCode
  /** For the log and the client's error message. */
  reason?: string
}

/**
 * The operator's own decision: the token (undefined when the hello had none), the room and the
 * proven peer id in, a grant or a refusal out. A throw, a malformed answer or one later than the
 * hello timeout refuses with TOKEN_INVALID.
 */
export type AuthFunction = (token: string | undefined, room: string, peerId: string) => AuthGrant | AuthRefusal | Promise<AuthGrant | AuthRefusal>

/** The algorithms a JWT may be signed with; `none` never is. */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256'

export interface JwtAuthOptions {
  /** HS256 shared secret (UTF-8 text or bytes). Exactly one of `secret`, `publicKeys`, `jwks`. */
  secret?: string | Uint8Array
  /** RS256/ES256 public keys: SPKI PEM text or public JWKs. */
  publicKeys?: ReadonlyArray<string | JWK>
  /** A JWKS: an `http(s)://` URL (fetched and cached by jose) or a file path. */
  jwks?: string | URL
  /** Accepted algorithms; default HS256 with a secret, RS256 and ES256 with keys. */
  algorithms?: JwtAlgorithm[]
  /** Required `iss`, one of them if a list. */
  issuer?: string | string[]
  /** Required `aud`, one of them if a list. */
  audience?: string | string[]
  /**
   * Slack for `exp` and `nbf`, in seconds.
   * @default 5
   */
  clockToleranceSeconds?: number
}

/** What `createSignalingServer({ auth })` takes. */
export type SignalingAuth = JwtAuthOptions | AuthFunction

export type AuthVerdict = ({ ok: true } & AuthGrant) | { ok: false; code: AuthRefusalCode; reason: string }

/** Decides joins and refreshes: `verify(token, room, peerId)` never throws. */
export interface Authorizer {
  verify(token: string | undefined, room: string, peerId: string): Promise<AuthVerdict>
  /** Settles once the configured keys are loaded (a remote JWKS is fetched at the first token); rejects if they cannot be. */
  readonly ready: Promise<unknown>
}

/** The claim that restricts a token to some rooms: a list of room names, `*` for any, `prefix*` for a prefix. */
export const ROOMS_CLAIM = 'rooms'

/** Builds the authorizer; throws TypeError for a configuration that could never accept a token. */
export function createAuthorizer(auth: SignalingAuth, timeoutMs: number): Authorizer {
  if (typeof auth === 'function') return functionAuthorizer(auth, timeoutMs)
  return jwtAuthorizer(auth)
}

function refusal(code: AuthRefusalCode, reason: string): AuthVerdict {
  return { ok: false, code, reason }
}

function functionAuthorizer(decide: AuthFunction, timeoutMs: number): Authorizer {
  return {
    ready: Promise.resolve(),
    async verify(token, room, peerId) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)))
      try {
        const answer = await Promise.race([Promise.resolve().then(() => decide(token, room, peerId)), late])
        if (answer === 'late') return refusal('TOKEN_INVALID', `the auth function did not decide within ${timeoutMs} ms`)
        return checkAnswer(answer)
      } catch (error) {
        return refusal('TOKEN_INVALID', `the auth function threw: ${String(error).slice(0, 200)}`)
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

const REFUSAL_CODES: ReadonlySet<string> = new Set<AuthRefusalCode>(['TOKEN_REQUIRED', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'ROOM_FORBIDDEN'])

/** An operator's answer, checked as strictly as a token: nothing malformed becomes a principal. */
function checkAnswer(answer: unknown): AuthVerdict {
  if (typeof answer !== 'object' || answer === null) return refusal('TOKEN_INVALID', 'the auth function gave no decision')
  const value = answer as Record<string, unknown>
  if ('refuse' in value) {
    const code = REFUSAL_CODES.has(value.refuse as string) ? (value.refuse as AuthRefusalCode) : 'TOKEN_INVALID'
    return refusal(code, typeof value.reason === 'string' ? value.reason.slice(0, 200) : 'refused by the auth function')
  }
  const principal = value.principal as Record<string, unknown> | undefined
  if (typeof principal?.sub !== 'string' || principal.sub.length === 0) return refusal('TOKEN_INVALID', 'the auth function gave a principal without a sub')
  const claims = principal.claims === undefined ? {} : principal.claims
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    return refusal('TOKEN_INVALID', 'the auth function gave claims that are not an object')
  const expiresAt = value.expiresAt
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)))
    return refusal('TOKEN_INVALID', 'the auth function gave an expiresAt that is not a time')
  if (typeof expiresAt === 'number' && expiresAt <= Date.now()) return refusal('TOKEN_EXPIRED', 'the grant has already expired')
  return { ok: true, principal: { sub: principal.sub, claims: claims as Record<string, unknown> }, ...(expiresAt !== undefined && { expiresAt }) }
}

function jwtAuthorizer(options: JwtAuthOptions): Authorizer {
  const sources = [options.secret, options.publicKeys, options.jwks].filter((source) => source !== undefined)
  if (sources.length !== 1) throw new TypeError('auth needs exactly one of secret, publicKeys or jwks')
  const algorithms = options.algorithms ?? (options.secret !== undefined ? ['HS256'] : ['RS256', 'ES256'])
  if (algorithms.length === 0 || algorithms.some((alg) => alg !== 'HS256' && alg !== 'RS256' && alg !== 'ES256'))
    throw new TypeError(`auth.algorithms may hold HS256, RS256 and ES256 only, got ${JSON.stringify(algorithms)}`)
  if (options.secret !== undefined && algorithms.some((alg) => alg !== 'HS256')) throw new TypeError('a secret verifies HS256 tokens only')
  if (options.secret === undefined && algorithms.includes('HS256')) throw new TypeError('HS256 needs a secret, not public keys')
  const clockTolerance = options.clockToleranceSeconds ?? 5
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) throw new RangeError('auth.clockToleranceSeconds must be a number ≥ 0')
  const key = keySource(options)
  key.catch(() => {}) // a key that cannot be loaded refuses every token (TOKEN_INVALID), reported per hello
  const verifyOptions = {
    algorithms,
    clockTolerance,
    requiredClaims: ['sub', 'exp'],
    ...(options.issuer !== undefined && { issuer: options.issuer }),
    ...(options.audience !== undefined && { audience: options.audience }),
  }
  return {
    ready: key,
    async verify(token, room) {
      if (token === undefined) return refusal('TOKEN_REQUIRED', 'this server needs a token in the hello')
      let payload: JWTPayload
      let source: KeySource
      try {
        source = await key
      } catch (error) {
        return refusal('TOKEN_INVALID', `the server cannot load its verification keys: ${String(error).slice(0, 200)}`)
      }
      try {
        payload = await verifyJwt(token, source, verifyOptions)
      } catch (error) {
        const code = (error as { code?: string }).code
        if (code === 'ERR_JWT_EXPIRED') return refusal('TOKEN_EXPIRED', 'the token has expired')
        return refusal('TOKEN_INVALID', `the token is not valid: ${code ?? 'ERR_UNKNOWN'}`)
      }
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) return refusal('TOKEN_INVALID', 'the token has no sub')
      const rooms = payload[ROOMS_CLAIM]
      if (rooms !== undefined) {
        if (!Array.isArray(rooms) || !rooms.every((entry) => typeof entry === 'string'))
          return refusal('TOKEN_INVALID', `the token's ${ROOMS_CLAIM} claim is not a list of room names`)
        if (!rooms.some((pattern) => roomMatches(pattern, room))) return refusal('ROOM_FORBIDDEN', `the token does not allow room "${room}"`)
      }
      const { sub, ...claims } = payload
      return { ok: true, principal: { sub, claims }, expiresAt: (payload.exp as number) * 1000 + clockTolerance * 1000 }
    },
  }
}

type KeySource = Uint8Array | JWTVerifyGetKey

type VerifyOptions = Parameters<typeof jwtVerify>[2]

/**
 * jose's key set refuses to guess when several keys match a token without a `kid`: it hands them
 * over to try in turn (its documented pattern), and only a signature failure moves to the next.
 */
async function verifyJwt(token: string, key: KeySource, options: VerifyOptions): Promise<JWTPayload> {
  try {
    return (await (typeof key === 'function' ? jwtVerify(token, key, options) : jwtVerify(token, key, options))).payload
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error
    for await (const candidate of error as AsyncIterable<CryptoKey>) {
      try {
        return (await jwtVerify(token, candidate, options)).payload
      } catch (inner) {
        if ((inner as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw inner
      }
    }
    throw error
  }
}

async function keySource(options: JwtAuthOptions): Promise<KeySource> {
  if (options.secret !== undefined) return typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret
  if (options.publicKeys !== undefined) {
    const keys = await Promise.all(options.publicKeys.map(publicJwk))
    return createLocalJWKSet({ keys })
  }
  const jwks = options.jwks!
  const url = jwks instanceof URL ? jwks : /^https?:\/\//i.test(jwks) ? new URL(jwks) : undefined
  // A remote set is fetched on first use and cached; an unknown `kid` refetches at most every 30 s.
  if (url) return createRemoteJWKSet(url, { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 })
  return createLocalJWKSet(JSON.parse(await readFile(jwks as string, 'utf8')))
}

/** A configured public key as a JWK; a PEM is read by Node's crypto and exported by jose. */
async function publicJwk(key: string | JWK): Promise<JWK> {
  if (typeof key !== 'string') return key
  return exportJWK(createPublicKey(key))
}

function roomMatches(pattern: string, room: string): boolean {
  if (pattern === '*') return true
  if (pattern.endsWith('*')) return room.startsWith(pattern.slice(0, -1))
  return pattern === room
}

/** Whether an error code is one of the auth refusals (for the server's close codes). */
export function isAuthRefusalCode(code: ErrorCode): code is AuthRefusalCode {
  return REFUSAL_CODES.has(code)
}
