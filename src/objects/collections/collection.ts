/**
 * What every observable collection shares on its owner's side: its subscribers (one Feed each),
 * sending each change to all of them, and the end — `done()` (the contents are final: mirrors
 * keep them and report `done`) or `close()` (the owner goes away: mirrors fail with CHANNEL_CLOSED).
 */
import { MeshscopeError } from '../../errors.js'
import { Feed, type InitialContents } from './feed.js'
import { encodeChange, type CollectionChange, type CollectionKind } from './protocol.js'
import type { Receiver } from '../../channels/mpsc.js'

/** How a subscriber is fed. */
export interface SubscribeOptions {
  /**
   * Changes the owner holds for this subscriber while it is behind (its link is slow, or it reads
   * slowly). One more sheds it: its mirror fails with CHANNEL_LAGGED and it may subscribe again.
   * The subscriber's choice, within 1..65536 — what the owner's memory per subscriber is bounded by.
   * @default 1024
   */
  buffer?: number
}

export const DEFAULT_SUBSCRIBER_BUFFER = 1024
export const MAX_SUBSCRIBER_BUFFER = 65536

/** @internal what a subscription class is built from */
export interface SubscriptionParts {
  kind: CollectionKind
  receiver: Receiver<unknown>
  /** Items of the initial contents (entries, elements). */
  size: number
}

const ownerDrops = new FinalizationRegistry<Set<Feed>>((feeds) => {
  for (const feed of [...feeds]) feed.end()
})

export abstract class ObservableCollection {
  readonly #feeds = new Set<Feed>()
  #state: 'open' | 'done' | 'closed' = 'open'

  constructor(readonly kind: CollectionKind) {
    ownerDrops.register(this, this.#feeds, this)
  }

  /** True once `done()` was called: the contents are final and every mutation throws COLLECTION_DONE. */
  get isDone(): boolean {
    return this.#state === 'done'
  }

  /** Subscribers being fed now (shed and departed ones are not counted). */
  get subscriberCount(): number {
    return this.#feeds.size
  }

  /**
   * Freezes the collection: every mirror gets what is queued for it, then `done`, and keeps the final
   * contents. Later mutations throw COLLECTION_DONE; later subscriptions get the contents and `done`.
   * Idempotent.
   */
  done(): void {
    if (this.#state !== 'open') return
    this.#state = 'done'
    this.#endFeeds(['done'])
  }

  /**
   * The owner goes away without `done()`: mirrors get what is queued for them and then fail with
   * CHANNEL_CLOSED. The collection is frozen as by `done()`. (A collection garbage-collected while
   * it has subscribers does the same.)
   */
  close(): void {
    if (this.#state !== 'open') return
    this.#state = 'closed'
    this.#endFeeds()
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /** @internal a new subscriber's feed, starting with `initial` */
  protected subscribeParts(initial: InitialContents, options: SubscribeOptions = {}): SubscriptionParts {
    const { buffer = DEFAULT_SUBSCRIBER_BUFFER } = options
    if (!Number.isInteger(buffer) || buffer < 1 || buffer > MAX_SUBSCRIBER_BUFFER)
      throw new MeshscopeError('INVALID_ARGUMENT', `a subscriber's buffer must be an integer in 1..${MAX_SUBSCRIBER_BUFFER}`)
    if (this.#state === 'closed') throw new MeshscopeError('COLLECTION_DONE', 'this collection was closed; there is nothing to subscribe to')
    // The feed must not hold the collection: an owner dropped without close() is found by the registry above.
    const feeds = this.#feeds
    const feed = new Feed(initial, buffer, (gone) => feeds.delete(gone))
    if (this.#state === 'done') feed.end(['done'])
    else this.#feeds.add(feed)
    return { kind: this.kind, receiver: feed.receiver as Receiver<unknown>, size: initial.count }
  }

  /** Throws COLLECTION_DONE once the collection is frozen; call before changing anything. */
  protected assertMutable(): void {
    if (this.#state !== 'open') throw new MeshscopeError('COLLECTION_DONE', `this observable ${this.kind} is frozen (done() or close() was called)`)
  }

  /** Sends a change to every subscriber. */
  protected emit(change: CollectionChange): void {
    if (this.#feeds.size === 0) return
    const event = encodeChange(change)
    for (const feed of this.#feeds) feed.push(event)
  }

  #endFeeds(last?: unknown[]): void {
    ownerDrops.unregister(this)
    for (const feed of [...this.#feeds]) feed.end(last)
    this.#feeds.clear()
  }
}
