/**
 * The budget of the whole mesh: one pool that every peer's session budget (inbound-budget.ts) also
 * counts against, so the per-peer bound times the number of peers is not what this side may be made
 * to hold. A session admits a stream, grows a window, grants credit past a window or starts a read
 * above the mux only when both its own budget and the pool have room.
 *
 * Head of line across the mesh: when a budget is full, the oldest message under assembly may still
 * complete (it is a message someone is reading right now, handed over as soon as it is whole). With
 * a pool, that exception holds for the oldest such message among all the peers, not one per peer:
 * otherwise every peer could add one item past the pool. Each is handed on at once, so the next
 * follows in turn.
 * Bound: committed across the mesh ≤ limit + one item + one window.
 */
import type { BudgetedStream } from './inbound-budget.js'

/** What the pool asks of a session budget that has waiters. */
export interface PooledBudget {
  /** The pool has room again: retry what waited. */
  retryWaiters(): void
  /** Whether `stream`, the oldest assembling stream of this budget, may lead the assembly past the limit. */
  mayLead(stream: BudgetedStream): boolean
}

export interface SharedBudgetStats {
  /** What every peer's budget has committed (held, granted, delivered above the mux). */
  committedBytes: number
  limitBytes: number
}

export class SharedInboundBudget {
  #committed = 0
  /** The part of `#committed` granted on streams this side opened (see InboundBudget.mayOpen). */
  #localGranted = 0
  /** Windows reserved by reads above the mux that started and have not ended (they gate reads). */
  #reading = 0
  /** Streams with a message under assembly across the mesh, oldest first, with their budget. */
  readonly #assembling = new Map<BudgetedStream, PooledBudget>()
  /** Budgets with something waiting for room. */
  readonly #waiting = new Set<PooledBudget>()
  #retryScheduled = false

  constructor(readonly limit: number) {}

  get committed(): number {
    return this.#committed
  }

  stats(): SharedBudgetStats {
    return { committedBytes: this.#committed, limitBytes: this.limit }
  }

  /** A session's committed bytes changed by `bytes` (`localGranted`: the part granted on its own streams). */
  add(bytes: number, localGranted = 0): void {
    this.#committed += bytes
    this.#localGranted += localGranted
    if (bytes < 0 && this.#waiting.size > 0) this.#scheduleRetry()
  }

  /** A session's reads above the mux reserved `bytes` more (or fewer, if negative). */
  reserve(bytes: number): void {
    this.#reading += bytes
    if (bytes < 0 && this.#waiting.size > 0) this.#scheduleRetry()
  }

  fits(bytes: number): boolean {
    return this.#committed + bytes <= this.limit
  }

  /** Whether a read reserving `bytes` fits beside what is committed and what reads reserved. */
  fitsRead(bytes: number): boolean {
    return this.#committed + this.#reading + bytes <= this.limit
  }

  /** Whether a new remote stream's window fits (this side's own streams' unused windows aside). */
  fitsOpen(bytes: number): boolean {
    return this.#committed - this.#localGranted + bytes <= this.limit
  }

  /** `budget` has waiters that room in the pool could let in. */
  wait(budget: PooledBudget): void {
    this.#waiting.add(budget)
  }

  startAssembly(stream: BudgetedStream, budget: PooledBudget): void {
    this.#assembling.set(stream, budget)
  }

  endAssembly(stream: BudgetedStream): void {
    if (!this.#assembling.delete(stream)) return
    // A new head of line may be waiting.
    if (this.#waiting.size > 0) this.#scheduleRetry()
  }

  /** Whether `stream` is the mesh's head of line: the oldest assembling stream that may lead. */
  isHead(stream: BudgetedStream): boolean {
    for (const [first, budget] of this.#assembling) if (budget.mayLead(first)) return first === stream
    return false
  }

  #scheduleRetry(): void {
    if (this.#retryScheduled) return
    this.#retryScheduled = true
    queueMicrotask(() => {
      this.#retryScheduled = false
      const budgets = [...this.#waiting]
      this.#waiting.clear()
      for (const budget of budgets) budget.retryWaiters()
    })
  }
}
