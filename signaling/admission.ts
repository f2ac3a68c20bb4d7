/**
 * Admission at the HTTP upgrade: before a WebSocket exists, a request is checked against the origin
 * allowlist, the global and per-address socket caps and the budget of sockets that have not yet
 * completed their hello. A refusal is an HTTP status (403, 429, 503) on a connection that is then
 * closed: it costs the server one response line instead of a WebSocket, a nonce and a timer.
 *
 * Counts are kept per client address (an IPv6 address counts as its /64: one host usually owns one),
 * released when the TCP socket closes, however it closes.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { TokenBucket } from '../src/util/token-bucket.js'
import { ByteBudget } from './byte-budget.js'
import type { ResolvedServerOptions } from './options.js'

/** Why an upgrade is refused: the HTTP status, and a reason for the log line. */
export interface AdmissionRefusal {
  status: 403 | 429 | 503
  reason: string
}

/** A socket let in: call `helloDone` once it has joined (it no longer counts as pending); `release` runs by itself on close. */
export interface Admitted {
  readonly address: string
  helloDone(): void
  /**
   * Takes one message of `bytes` from the address's shared budgets (messages and bytes): its sockets
   * together get no more than one address's rate.
   */
  takeMessage(bytes: number, now: number): boolean
}

interface AddressCounts {
  sockets: number
  pendingHellos: number
  messages: TokenBucket
  bytes: ByteBudget
}

type AdmissionLimits = Pick<
  ResolvedServerOptions,
  | 'maxSockets'
  | 'maxSocketsPerIp'
  | 'maxPendingHellos'
  | 'maxPendingHellosPerIp'
  | 'allowedOrigins'
  | 'rateLimitPerIpBurst'
  | 'rateLimitPerIpPerSecond'
  | 'bytesPerIpBurst'
  | 'bytesPerIpPerSecond'
>

export class Admission {
  #sockets = 0
  #pendingHellos = 0
  readonly #byAddress = new Map<string, AddressCounts>()

  constructor(private readonly limits: AdmissionLimits) {}

  /** Sockets admitted and not yet closed, and those of them still without a completed hello. */
  get counts(): { sockets: number; pendingHellos: number; addresses: number } {
    return { sockets: this.#sockets, pendingHellos: this.#pendingHellos, addresses: this.#byAddress.size }
  }

  /** Checks an upgrade request; on success the socket is counted until its TCP socket closes. */
  admit(request: IncomingMessage, socket: Socket): Admitted | AdmissionRefusal {
    const origin = request.headers.origin
    if (!isOriginAllowed(this.limits.allowedOrigins, origin)) return { status: 403, reason: `origin ${JSON.stringify(origin ?? null)} is not allowed` }
    const address = clientAddressKey(socket.remoteAddress)
    // The address's message budget lives as long as it has a socket; an address that comes back starts full.
    const counts = this.#byAddress.get(address) ?? {
      sockets: 0,
      pendingHellos: 0,
      messages: new TokenBucket(this.limits.rateLimitPerIpBurst, 1000 / this.limits.rateLimitPerIpPerSecond, performance.now()),
      bytes: new ByteBudget(this.limits.bytesPerIpBurst, this.limits.bytesPerIpPerSecond, performance.now()),
    }
    const { maxSockets, maxSocketsPerIp, maxPendingHellos, maxPendingHellosPerIp } = this.limits
    if (this.#sockets >= maxSockets) return { status: 503, reason: `the server holds its limit of ${maxSockets} sockets` }
    if (this.#pendingHellos >= maxPendingHellos) return { status: 503, reason: `${maxPendingHellos} sockets are already waiting for their hello` }
    if (counts.sockets >= maxSocketsPerIp) return { status: 429, reason: `${address} holds its limit of ${maxSocketsPerIp} sockets` }
    if (counts.pendingHellos >= maxPendingHellosPerIp) return { status: 429, reason: `${address} has ${maxPendingHellosPerIp} sockets waiting for their hello` }

    this.#byAddress.set(address, counts)
    counts.sockets++
    counts.pendingHellos++
    this.#sockets++
    this.#pendingHellos++
    let pending = true
    const helloDone = () => {
      if (!pending) return
      pending = false
      counts.pendingHellos--
      this.#pendingHellos--
    }
    socket.once('close', () => {
      helloDone()
      counts.sockets--
      this.#sockets--
      if (counts.sockets === 0) this.#byAddress.delete(address)
    })
    // A message refused for its bytes has still used a message token: refusals are not free either.
    const takeMessage = (bytes: number, now: number) => counts.messages.take(now) && counts.bytes.take(bytes, now)
    return { address, helloDone, takeMessage }
  }
}

export function isRefusal(result: Admitted | AdmissionRefusal): result is AdmissionRefusal {
  return 'status' in result
}

/** Writes a bare HTTP refusal and closes the connection: no WebSocket is made. */
export function refuseUpgrade(socket: Socket, refusal: AdmissionRefusal): void {
  const text = { 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' }[refusal.status]
  if (socket.writable) socket.end(`HTTP/1.1 ${refusal.status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  // A client that does not read the response must not hold the socket open.
  socket.setTimeout(1_000, () => socket.destroy())
}

/** Absent list: any origin. A list: the exact origins, and requests without an Origin (not browsers: they can forge it anyway). */
export function isOriginAllowed(allowed: ResolvedServerOptions['allowedOrigins'], origin: string | undefined): boolean {
  if (allowed === undefined) return true
  if (typeof allowed === 'function') {
    try {
      return allowed(origin) === true
    } catch {
      return false // an operator's predicate that throws refuses rather than crashing the server
    }
  }
  return origin === undefined || allowed.includes(origin)
}

/** The key a client's counts are kept under: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function clientAddressKey(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '?'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress)
  if (mapped) return mapped[1]!
  if (!remoteAddress.includes(':')) return remoteAddress
  const groups = expandIpv6(remoteAddress)
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : remoteAddress
}

function expandIpv6(address: string): string[] | undefined {
  const [head, tail] = address.split('%')[0]!.split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const missing = 8 - left.length - right.length
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
}
