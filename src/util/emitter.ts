/**
 * A small typed event emitter. `on` returns an unsubscribe function and accepts an AbortSignal,
 * so listeners can be tied to a lifetime the platform way. A listener that throws does not stop
 * the others; the error is reported asynchronously so it surfaces as an uncaught error instead of
 * vanishing.
 */
export type EventMap = Record<string, unknown[]>
export type Listener<Args extends unknown[]> = (...args: Args) => void

export class Emitter<Events extends EventMap> {
  #listeners = new Map<keyof Events, Set<Listener<never[]>>>()

  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>, options?: { signal?: AbortSignal }): () => void {
    if (options?.signal?.aborted) return () => {}
    let set = this.#listeners.get(event)
    if (!set) this.#listeners.set(event, (set = new Set()))
    const stored = listener as unknown as Listener<never[]>
    set.add(stored)
    const off = () => {
      set.delete(stored)
      options?.signal?.removeEventListener('abort', off)
    }
    options?.signal?.addEventListener('abort', off, { once: true })
    return off
  }

  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>, options?: { signal?: AbortSignal }): () => void {
    const off = this.on(
      event,
      ((...args: Events[E]) => {
        off()
        listener(...args)
      }) as Listener<Events[E]>,
      options,
    )
    return off
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): void {
    this.#listeners.get(event)?.delete(listener as unknown as Listener<never[]>)
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0
  }

  /** Calls every listener of `event`; returns whether there was any. */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean {
    const set = this.#listeners.get(event)
    if (!set || set.size === 0) return false
    for (const listener of [...set]) {
      try {
        ;(listener as unknown as Listener<Events[E]>)(...args)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
    return true
  }

  removeAllListeners(): void {
    this.#listeners.clear()
  }
}
