/**
 * One subscriber of an observable collection, on the owner's side: the contents at subscription
 * time, then the changes, sent in order on an mpsc channel whose receiver is the subscription.
 *
 * The owner never waits for a subscriber. Changes queue here while the channel is full; when more
 * than `buffer` wait, the queue is dropped and the subscriber shed (its mirror fails with
 * CHANNEL_LAGGED), so what the owner holds per subscriber is bounded: `buffer` changes here, the
 * channel's few, and what its stream has in flight. The initial contents are a copy of the
 * collection's entries (a list, append-only, needs none: see `InitialContents`).
 */
import * as mpsc from '../../channels/mpsc.js'
import type { WireEvent } from './protocol.js'

/** Items of the initial contents per `init` event: small enough to share a link message with others. */
export const INIT_CHUNK_ITEMS = 128

/** The channel's own queue: a few events, so the subscriber's `buffer` is what bounds the owner's memory. */
const CHANNEL_CAPACITY = 16

/** The initial contents, read a chunk at a time: `count` items, `chunk(from, to)` gives some. */
export interface InitialContents {
  readonly count: number
  chunk(from: number, to: number): unknown[]
}

type FeedState = 'open' | 'ending' | 'shed' | 'gone'

export class Feed {
  readonly #tx: mpsc.Sender<WireEvent>
  readonly #buffer: number
  #initial: InitialContents | undefined
  #initialSent = 0
  #queue: WireEvent[] = []
  #head = 0
  #state: FeedState = 'open'
  #draining = false

  /**
   * `onGone` is called once the subscriber is gone (it closed its mirror, or its peer went away) or
   * was shed: the owner forgets this feed.
   */
  constructor(
    initial: InitialContents,
    buffer: number,
    readonly onGone: (feed: Feed) => void,
  ) {
    const [tx, rx] = mpsc.channel<WireEvent>(CHANNEL_CAPACITY)
    this.#tx = tx
    this.receiver = rx
    this.#buffer = buffer
    this.#initial = initial
    void tx.closed().then(() => this.#forget())
    this.#drain()
  }

  /** The receiving half, which the subscription carries. */
  readonly receiver: mpsc.Receiver<WireEvent>

  /** Queues a change; more than `buffer` waiting sheds the subscriber. */
  push(event: WireEvent): void {
    if (this.#state !== 'open') return
    if (this.#queue.length - this.#head >= this.#buffer) {
      // The subscriber fell behind: drop what waits for it and tell it so, instead of holding the owner back.
      this.#queue = [['lagged']]
      this.#head = 0
      this.#initial = undefined
      this.#state = 'shed'
      this.onGone(this)
    } else this.#queue.push(event)
    this.#drain()
  }

  /** The owner is finished: `done` (if given) goes last, then the channel closes. Nothing queued is lost. */
  end(last?: WireEvent): void {
    if (this.#state !== 'open') return
    if (last) this.#queue.push(last)
    this.#state = 'ending'
    this.#drain()
  }

  #drain(): void {
    if (this.#draining) return
    this.#draining = true
    void this.#run().then(() => {
      this.#draining = false
      // Pushed after the loop looked for the last time, before it let go.
      if (this.#state !== 'gone' && this.#head < this.#queue.length) this.#drain()
    })
  }

  async #run(): Promise<void> {
    try {
      while (this.#initial) {
        const initial = this.#initial
        const to = Math.min(initial.count, this.#initialSent + INIT_CHUNK_ITEMS)
        if (to > this.#initialSent) await this.#tx.send(['init', initial.chunk(this.#initialSent, to)])
        if (this.#initial !== initial) break // shed meanwhile: the rest is not sent
        this.#initialSent = to
        if (to === initial.count) {
          this.#initial = undefined
          await this.#tx.send(['complete'])
        }
      }
      while (this.#head < this.#queue.length) {
        const event = this.#queue[this.#head]!
        this.#queue[this.#head++] = undefined as unknown as WireEvent
        if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head)
          this.#head = 0
        }
        await this.#tx.send(event)
      }
      if (this.#state === 'ending' || this.#state === 'shed') this.#tx.close()
    } catch {
      // The receiver is gone (`closed()` above forgets this feed); an event that could not be
      // encoded failed on the subscriber's side, in its place, and ended its mirror.
      this.#forget()
    }
  }

  #forget(): void {
    if (this.#state === 'gone') return
    const wasShed = this.#state === 'shed'
    this.#state = 'gone'
    this.#queue = []
    this.#head = 0
    this.#initial = undefined
    this.#tx.close()
    if (!wasShed) this.onGone(this)
  }
}
