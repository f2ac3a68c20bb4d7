/**
 * A subscription: what an observable collection's `subscribe()` gives, to send to the peer that will
 * mirror it (inside any value, like a channel half) or to mirror here. It travels as port kind
 * `observable` (./ports.ts): the feed's mpsc receiver, with the collection's kind and the size of its
 * initial contents, so the mirroring side can refuse contents over its `maxSize` before reading any.
 * Sending it moves it, as sending a channel half does; it can be sent on to a third peer unmirrored.
 */
import type { Connection } from '../../channels/connection.js'
import { movedError } from '../../channels/errors.js'
import type { Receiver } from '../../channels/mpsc.js'
import { ENCODE_PORT, type PortPlan } from '../../channels/port.js'
import { MeshscopeError } from '../../errors.js'
import type { SubscriptionParts } from './collection.js'
import type { CollectionKind } from './protocol.js'

export const SUBSCRIPTION_PORT_KIND = 'observable'

export abstract class CollectionSubscription {
  #receiver: Receiver<unknown> | undefined
  #sent = false
  /** Which collection this mirrors. */
  readonly kind: CollectionKind
  /** Items (entries, elements) of the initial contents. */
  readonly size: number

  /** @internal use the collection's `subscribe()` */
  constructor(parts: SubscriptionParts) {
    this.#receiver = parts.receiver
    this.kind = parts.kind
    this.size = parts.size
  }

  /** Gives up the subscription without mirroring it: the owner forgets this subscriber. */
  close(): void {
    this.#receiver?.close()
    this.#receiver = undefined
  }

  /** @internal the receiver, once: for `mirror()` */
  protected takeReceiver(): Receiver<unknown> {
    if (this.#sent) throw movedError('subscription')
    const receiver = this.#receiver
    if (!receiver) throw new MeshscopeError('INVALID_ARGUMENT', 'this subscription was already mirrored or closed')
    this.#receiver = undefined
    return receiver
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    if (this.#sent) throw movedError('subscription')
    const receiver = this.#receiver
    if (!receiver) throw new MeshscopeError('INVALID_ARGUMENT', 'this subscription was already mirrored or closed')
    const plan = receiver[ENCODE_PORT](connection)
    return {
      payload: { k: SUBSCRIPTION_PORT_KIND, s: plan.payload.s, o: { ...plan.payload.o, t: this.kind, n: this.size } },
      activate: () => {
        plan.activate()
        this.#sent = true
        this.#receiver = undefined
      },
      rollback: () => plan.rollback(),
    }
  }
}
