/**
 * Per-address rate limits that hold across instances sharing rooms: an address's budgets of messages
 * and of bytes (`rateLimitPerIp*`, `bytesPerIp*`) live in Redis as token buckets that every instance
 * charges for what the address sent it. A message never waits for Redis: each instance lets it pass
 * (its own per-address buckets, admission.ts, still apply), charges the shared bucket afterwards —
 * one request in flight per address and budget, the messages sent meanwhile charged together by the
 * next — and, once the shared bucket could not pay for what was sent, refuses the address until the
 * debt is paid back by the refill.
 *
 * So across N instances an address's sustained rate is the configured one, not N times it; its burst
 * may briefly reach what the charges in flight did not yet cover (at most one instance's own burst per
 * instance), and is then paid back by a longer refusal.
 */
import type { ResolvedServerOptions } from './options.js'
import type { RedisRooms } from './redis-rooms.js'

/** One shared bucket as seen by this instance: spent but not yet charged, owed, and a charge in flight. */
interface Account {
  uncharged: number
  debt: number
  charging: boolean
}

interface Budget {
  name: 'messages' | 'bytes'
  capacity: number
  perSecond: number
}

type RateLimits = Pick<ResolvedServerOptions, 'rateLimitPerIpBurst' | 'rateLimitPerIpPerSecond' | 'bytesPerIpBurst' | 'bytesPerIpPerSecond' | 'maxSockets'>

export class SharedAddressRate {
  readonly #messages: Budget
  readonly #bytes: Budget
  /** By `<budget>/<address>`, least recently used first; at most `#maxEntries`. */
  readonly #accounts = new Map<string, Account>()
  readonly #maxEntries: number

  constructor(
    private readonly store: RedisRooms,
    limits: RateLimits,
  ) {
    this.#messages = { name: 'messages', capacity: limits.rateLimitPerIpBurst, perSecond: limits.rateLimitPerIpPerSecond }
    this.#bytes = { name: 'bytes', capacity: limits.bytesPerIpBurst, perSecond: limits.bytesPerIpPerSecond }
    // Two budgets per address, and an address per socket at most.
    this.#maxEntries = 2 * limits.maxSockets
  }

  /** Charges one message of `bytes` to `address`'s shared budgets; false while the address owes either. */
  take(address: string, bytes: number): boolean {
    const messages = this.#account(this.#messages, address)
    const byteAccount = this.#account(this.#bytes, address)
    if (messages.debt > 0 || byteAccount.debt > 0) {
      // Refused: ask the refill to pay the debt (one request at a time).
      this.#charge(this.#messages, address, messages)
      this.#charge(this.#bytes, address, byteAccount)
      return false
    }
    messages.uncharged += 1
    byteAccount.uncharged += bytes
    this.#charge(this.#messages, address, messages)
    this.#charge(this.#bytes, address, byteAccount)
    return true
  }

  #account(budget: Budget, address: string): Account {
    const key = `${budget.name}/${address}`
    const account = this.#accounts.get(key) ?? { uncharged: 0, debt: 0, charging: false }
    this.#accounts.delete(key) // re-inserted: most recently used last
    this.#accounts.set(key, account)
    if (this.#accounts.size > this.#maxEntries) this.#accounts.delete(this.#accounts.keys().next().value!)
    return account
  }

  /** Charges what was spent and what is owed, unless a charge is in flight (its answer charges the rest). */
  #charge(budget: Budget, address: string, account: Account): void {
    const want = account.uncharged + account.debt
    if (account.charging || want === 0) return
    account.charging = true
    account.uncharged = 0
    this.store.takeTokens(`${budget.name}:${address}`, budget.capacity, budget.perSecond, want).then(
      (granted) => {
        account.debt = want - granted
        account.charging = false
        if (account.uncharged > 0) this.#charge(budget, address, account)
      },
      () => {
        // Redis out of reach: forgiven; the instance's own per-address budgets (admission.ts) hold alone.
        account.debt = 0
        account.charging = false
      },
    )
  }
}
