/**
 * What serving a peer's requests may cost this side in time (docs/protocol.md "Channel limits";
 * docs/architecture.md "Resource budgets"). Memory is the peer's inbound budget's business: a
 * request in service counts there from when it is read until its handler settles (serve.ts).
 */
import { MeshscopeError } from '../errors.js'

export interface ServeLimits {
  /**
   * How long a request stream the peer opened may take, from its opening, to deliver its whole
   * request (waiting for room in the peer's budget included). Past it the stream is reset and the
   * caller's call or send fails with STREAM_RESET: a peer that opens request streams and never
   * sends, or trickles, holds neither a stream nor a pending serve for longer.
   * @default 30_000
   */
  requestReadTimeoutMs: number
  /**
   * Requests from one peer that its call streams may have in service at once (read, and their
   * handler not settled); one more is refused with TOO_MANY_REQUESTS. A well-behaved caller never
   * meets it: it keeps at most `maxRequestsInFlight` (255 by default) requests in flight to a peer.
   * @default 256
   */
  maxCallsInService: number
}

export const DEFAULT_SERVE_LIMITS: Readonly<ServeLimits> = Object.freeze({
  requestReadTimeoutMs: 30_000,
  maxCallsInService: 256,
})

/** The defaults with `overrides` applied, checked once. Throws INVALID_ARGUMENT. */
export function resolveServeLimits(overrides: Partial<ServeLimits> = {}): ServeLimits {
  const limits = { ...DEFAULT_SERVE_LIMITS, ...overrides }
  if (!(limits.requestReadTimeoutMs > 0))
    throw new MeshscopeError('INVALID_ARGUMENT', `requestReadTimeoutMs must be positive, got ${limits.requestReadTimeoutMs}`)
  if (!Number.isSafeInteger(limits.maxCallsInService) || limits.maxCallsInService < 1)
    throw new MeshscopeError('INVALID_ARGUMENT', `maxCallsInService must be a positive integer, got ${limits.maxCallsInService}`)
  return limits
}
