/**
 * Which signaling server a client uses when it has several (instances sharing rooms through Redis):
 * it starts with the first and moves to the next when its server goes away — closed, shut down,
 * unreachable, or unable to serve the room — keeping its identity, so the room sees the same id
 * reconnect (the new instance replaces the old socket). Links between peers never depend on it.
 */
import { CLOSE_CODES } from './protocol.js'

/** Most servers one client may list: a hostile configuration cannot make it cycle through thousands. */
export const MAX_SIGNALING_SERVERS = 16

/**
 * Close codes that say "this server, not this client": another server may serve the join. 1006 is a
 * socket that dropped or never opened (unreachable, crashed); 1011/1012 are a server error or restart.
 */
const SERVER_GONE_CODES: ReadonlySet<number> = new Set([CLOSE_CODES.goingAway, 1005, 1006, 1011, 1012, CLOSE_CODES.tryAgainLater])

/** True when a socket closed with `code` went away because of its server (try another), not a refusal of this client. */
export function isServerGone(code: number): boolean {
  return SERVER_GONE_CODES.has(code)
}

/** The signaling servers of one client, in order, and how many were tried since the last welcome. */
export class SignalingServers {
  readonly urls: readonly string[]
  #index = 0
  #failedInRound = 0

  constructor(urls: string | readonly string[]) {
    this.urls = typeof urls === 'string' ? [urls] : [...urls]
    if (this.urls.length === 0) throw new RangeError('at least one signaling server is needed')
  }

  /** The server to connect to now. */
  get current(): string {
    return this.urls[this.#index]!
  }

  /** The servers as one string, for messages. */
  describe(): string {
    return this.urls.length === 1 ? this.current : this.urls.join(', ')
  }

  /**
   * The current server went away: moves to the next one. Returns true while some server has not yet
   * failed since the last welcome (connect to it at once), false once every one has (back off first;
   * the round starts over).
   */
  failed(): boolean {
    this.#index = (this.#index + 1) % this.urls.length
    this.#failedInRound++
    if (this.#failedInRound < this.urls.length) return true
    this.#failedInRound = 0
    return false
  }

  /** A server welcomed the client: it stays on it, and every server may be tried again. */
  welcomed(): void {
    this.#failedInRound = 0
  }
}
