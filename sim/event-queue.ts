/** A min-heap of timed events for the simulator: earliest time first, then insertion order. */
export interface TimedEvent {
  time: number
  seq: number
}

export class EventQueue<E extends TimedEvent> {
  readonly #heap: E[] = []
  #seq = 0

  get size(): number {
    return this.#heap.length
  }

  /** The next sequence number (events with equal times run in push order). */
  nextSeq(): number {
    return this.#seq++
  }

  peekTime(): number {
    return this.#heap.length === 0 ? Infinity : this.#heap[0]!.time
  }

  push(event: E): void {
    const heap = this.#heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(event, heap[parent]!)) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = event
  }

  pop(): E | undefined {
    const heap = this.#heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    let i = 0
    const n = heap.length
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left
      if (!before(heap[child]!, last)) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
    return top
  }
}

function before(a: TimedEvent, b: TimedEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
