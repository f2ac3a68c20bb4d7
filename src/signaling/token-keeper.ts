/**
 * The client's token for a server with auth (issue 16): a fixed string, or a function asked for a
 * fresh one at every (re)connect and before the current one expires. A refreshed token replaces the
 * fixed one, so a reconnect says hello with the newest token this peer has.
 */
import { MeshscopeError } from '../errors.js'
import { isToken } from './protocol.js'

/** A token, or where to get a fresh one (called for every (re)connect and every automatic refresh). */
export type TokenSource = string | (() => string | Promise<string>)

/** Refresh when this share of the time left has passed (and not sooner than a second from now). */
const REFRESH_AT_SHARE = 0.8
const MIN_REFRESH_DELAY_MS = 1_000
const MAX_TIMER_MS = 2 ** 31 - 1

export class TokenKeeper {
  #latest?: string
  #timer?: ReturnType<typeof setTimeout>

  constructor(private readonly source: TokenSource | undefined) {
    if (source !== undefined && typeof source !== 'function' && !isToken(source))
      throw new MeshscopeError('INVALID_ARGUMENT', 'token must be 1..8192 printable ASCII characters, or a function returning one')
  }

  /** Whether the peer has a token at all. */
  get present(): boolean {
    return this.source !== undefined
  }

  /** The token for a hello: a fresh one from a function source, else the newest one given. */
  async forHello(): Promise<string | undefined> {
    if (this.source === undefined) return undefined
    if (typeof this.source === 'function') return this.fresh()
    return this.#latest ?? this.source
  }

  /** A fresh token from the function source, checked like the server checks it. */
  async fresh(): Promise<string> {
    if (typeof this.source !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'the token is a fixed string: pass a new one to refreshToken')
    const token = await this.source()
    if (!isToken(token)) throw new MeshscopeError('INVALID_ARGUMENT', 'the token function returned something that is not a token')
    return token
  }

  /** The token for a refresh: a fresh one from a function source, else the newest one given (it renews the attestation). */
  async forRefresh(): Promise<string> {
    if (typeof this.source === 'function') return this.fresh()
    if (this.source === undefined) throw new MeshscopeError('INVALID_ARGUMENT', 'this peer has no token to refresh')
    return this.#latest ?? this.source
  }

  /** Remembers a token the server accepted in a refresh (the next hello uses it). */
  accepted(token: string): void {
    this.#latest = token
  }

  /** Runs `refresh` before `expiresAt` (most of the way there), replacing any earlier schedule. */
  schedule(expiresAt: number | undefined, refresh: () => void): void {
    this.cancel()
    if (expiresAt === undefined) return
    const left = expiresAt - Date.now()
    const delay = Math.min(Math.max(left * REFRESH_AT_SHARE, Math.min(MIN_REFRESH_DELAY_MS, left / 2)), MAX_TIMER_MS)
    this.#timer = setTimeout(refresh, Math.max(0, delay))
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  cancel(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
