/**
 * The work a member takes on for one service's requests, its broadcasts or one subscription's
 * events: at most `requestConcurrency` handlers run at once, the rest wait in order; at most
 * `requestMemory` bytes of work (queued and running) are held. Work past the memory allowance is
 * refused at once (SERVICE_OVERLOADED). Work whose deadline passed before it could start is dropped,
 * never run (TIMEOUT). Closing settles everything with SERVICE_CLOSED and aborts the running handlers.
 */
import { MeshscopeError } from '../../errors.js'

/** One piece of work offered to the queue. */
export interface Work<T> {
  /** What it holds while accepted (`payloadBytes` of its value). */
  bytes: number
  /** `clock()` time after which it must not start (Infinity: none). */
  deadline: number
  /**
   * The caller's signal: aborting it drops queued work and aborts a running handler. Read only when
   * the work has to wait or its handler reads its own signal (it may be a getter that makes it).
   */
  readonly signal?: AbortSignal | undefined
  /** Runs the handler; `abort.signal` is its signal (made when first read). */
  run(abort: HandlerAbort): T | Promise<T>
}

/**
 * A running handler's abort signal, made only when the handler reads it: most handlers never do, and
 * an AbortController per request was the largest cost a member adds to a request
 * (`createAbortSignal`, in a CPU profile of `npm run bench:clusters`). The caller's signal is only
 * listened to then too: a handler that never reads its signal cannot tell an abort from none.
 */
export class HandlerAbort {
  #controller?: AbortController
  #aborted = false
  #reason: unknown
  #caller: { readonly signal?: AbortSignal | undefined } | undefined
  #stopListening?: () => void

  constructor(caller?: { readonly signal?: AbortSignal | undefined }) {
    this.#caller = caller
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort(this.#reason)
      else this.#followCaller()
    }
    return this.#controller.signal
  }

  abort(reason: unknown): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#reason = reason
    this.#controller?.abort(reason)
  }

  /** The work settled: the caller's signal is not listened to any more. */
  release(): void {
    this.#stopListening?.()
    this.#caller = undefined
  }

  #followCaller(): void {
    const signal = this.#caller?.signal
    if (!signal) return
    const onAbort = () => this.abort(callerGaveUp(signal))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    this.#stopListening = () => signal.removeEventListener('abort', onAbort)
  }
}

function callerGaveUp(signal: AbortSignal | undefined): MeshscopeError {
  return new MeshscopeError('ABORTED', 'the caller gave up', { cause: signal?.reason })
}

/** What a queue has done since it was made. */
export interface WorkQueueStats {
  /** Handlers running now. */
  running: number
  /** Work waiting for a handler slot. */
  queued: number
  /** Bytes held by running and queued work. */
  heldBytes: number
  /** Work whose handler finished (returned or threw). */
  completed: number
  /** Work refused (requests) or dropped (broadcasts, events) because it would pass `requestMemory`. */
  overMemory: number
  /** Work dropped unrun because its deadline passed while it waited. */
  expired: number
}

interface Entry {
  work: Work<unknown>
  abort: HandlerAbort
  resolve(value: unknown): void
  reject(error: unknown): void
  detach(): void
}

export class WorkQueue {
  #queue: Entry[] = []
  #running = new Set<Entry>()
  #heldBytes = 0
  #closedWith?: MeshscopeError
  #stats = { completed: 0, overMemory: 0, expired: 0 }

  constructor(
    private readonly limits: { requestConcurrency: number; requestMemory: number },
    private readonly clock: () => number = Date.now,
  ) {}

  /** Free handler slots minus waiting work: what this queue reports as its spare capacity. */
  get spare(): number {
    return this.limits.requestConcurrency - this.#running.size - this.#queue.length
  }

  stats(): WorkQueueStats {
    return { running: this.#running.size, queued: this.#queue.length, heldBytes: this.#heldBytes, ...this.#stats }
  }

  /**
   * Accepts `work` and resolves with its handler's result; throws SERVICE_OVERLOADED synchronously
   * when its bytes would pass `requestMemory`, SERVICE_CLOSED once closed. Rejects with TIMEOUT when
   * it expired unrun, with ABORTED when the caller's signal aborted it while queued.
   */
  offer<T>(work: Work<T>): Promise<T> {
    if (this.#closedWith) throw this.#closedWith
    if (this.#heldBytes + work.bytes > this.limits.requestMemory) {
      this.#stats.overMemory++
      throw new MeshscopeError(
        'SERVICE_OVERLOADED',
        `the work of ${work.bytes} bytes would pass the allowance: ${this.#heldBytes} of ${this.limits.requestMemory} bytes are held`,
      )
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = { work: work as Work<unknown>, abort: new HandlerAbort(work), resolve: resolve as (value: unknown) => void, reject, detach: noop }
      this.#heldBytes += work.bytes
      if (this.#queue.length === 0 && this.#running.size < this.limits.requestConcurrency) {
        // A free slot: the work starts now, and the caller's signal is not read (reading a served
        // call's signal makes its AbortController) — its handler listens when it reads its own.
        this.#startOrExpire(entry)
        return
      }
      const signal = work.signal
      if (signal?.aborted) {
        this.#heldBytes -= work.bytes
        return reject(callerGaveUp(signal))
      }
      if (signal) {
        const onAbort = () => this.#abandon(entry, callerGaveUp(signal))
        signal.addEventListener('abort', onAbort, { once: true })
        entry.detach = () => signal.removeEventListener('abort', onAbort)
      }
      this.#queue.push(entry)
      this.#pump()
    })
  }

  /** Settles all work with `error` (SERVICE_CLOSED) and aborts the running handlers' signals. Idempotent. */
  close(error: MeshscopeError): void {
    if (this.#closedWith) return
    this.#closedWith = error
    for (const entry of [...this.#queue.splice(0), ...this.#running]) {
      entry.abort.abort(error)
      this.#settle(entry, () => entry.reject(error))
    }
    this.#running.clear()
  }

  #pump(): void {
    while (this.#running.size < this.limits.requestConcurrency && this.#queue.length > 0) this.#startOrExpire(this.#queue.shift()!)
  }

  /** Starts `entry`'s handler, or drops it unrun when its deadline passed. */
  #startOrExpire(entry: Entry): void {
    if (this.clock() > entry.work.deadline) {
      this.#stats.expired++
      this.#settle(entry, () => entry.reject(new MeshscopeError('TIMEOUT', 'the caller’s deadline passed before a handler was free')))
      return
    }
    this.#running.add(entry)
    let result: unknown
    try {
      result = entry.work.run(entry.abort)
    } catch (error) {
      this.#finish(entry, () => entry.reject(error))
      return
    }
    if (isPromiseLike(result)) {
      result.then(
        (value) => this.#finish(entry, () => entry.resolve(value)),
        (error) => this.#finish(entry, () => entry.reject(error)),
      )
    } else {
      this.#finish(entry, () => entry.resolve(result)) // a synchronous handler: no promise hop
    }
  }

  #finish(entry: Entry, settle: () => void): void {
    if (!this.#running.delete(entry)) return // closed or abandoned meanwhile: already settled
    this.#stats.completed++
    this.#settle(entry, settle)
    this.#pump()
  }

  /** The caller gave up: queued work goes unrun; a running handler's signal aborts and its slot stays taken until it returns. */
  #abandon(entry: Entry, error: MeshscopeError): void {
    const at = this.#queue.indexOf(entry)
    if (at >= 0) {
      this.#queue.splice(at, 1)
      this.#settle(entry, () => entry.reject(error))
    } else if (this.#running.has(entry)) {
      entry.abort.abort(error)
    }
  }

  #settle(entry: Entry, settle: () => void): void {
    entry.detach()
    entry.abort.release()
    this.#heldBytes -= entry.work.bytes
    settle()
  }
}

const noop = () => {}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
