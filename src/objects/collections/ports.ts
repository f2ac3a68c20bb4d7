/**
 * The `observable` port kind: a subscription arriving from a peer. Its options are the mpsc
 * receiver's (`c`, `m`) plus the collection's kind (`t`) and the size of its initial contents (`n`);
 * anything else is refused with BAD_PORT. The mesh's port table (src/mesh/ports.ts) includes it.
 */
import type { Connection } from '../../channels/connection.js'
import { decodeReceiverPort } from '../../channels/mpsc.js'
import { numberOption, type PortPayload, type PortTable } from '../../channels/port.js'
import { MeshscopeError } from '../../errors.js'
import { ArraySubscription } from './array.js'
import type { SubscriptionParts } from './collection.js'
import { ListSubscription } from './list.js'
import { MapSubscription } from './map.js'
import { COLLECTION_KINDS, type CollectionKind } from './protocol.js'
import { SetSubscription } from './set.js'
import { SUBSCRIPTION_PORT_KIND, type CollectionSubscription } from './subscription.js'

const SUBSCRIPTIONS: Record<CollectionKind, (parts: SubscriptionParts) => CollectionSubscription> = {
  map: (parts) => new MapSubscription(parts),
  set: (parts) => new SetSubscription(parts),
  array: (parts) => new ArraySubscription(parts),
  list: (parts) => new ListSubscription(parts),
}

/** Rebuilds a subscription a peer sent. Throws BAD_PORT. */
export function decodeSubscriptionPort(connection: Connection, payload: PortPayload): CollectionSubscription {
  const kind = payload.o?.t
  if (typeof kind !== 'string' || !(COLLECTION_KINDS as readonly string[]).includes(kind))
    throw new MeshscopeError('BAD_PORT', 'an observable port needs a collection kind')
  const size = numberOption(payload, 'n', -1, 0, 0xffffffff)
  if (size < 0) throw new MeshscopeError('BAD_PORT', 'an observable port needs the size of its initial contents')
  const { c, m } = payload.o ?? {}
  const options: PortPayload['o'] = {}
  if (c !== undefined) options.c = c
  if (m !== undefined) options.m = m
  const receiver = decodeReceiverPort(connection, { k: 'mpsc.rx', s: payload.s, o: options })
  return SUBSCRIPTIONS[kind as CollectionKind]({ kind: kind as CollectionKind, receiver, size })
}

/** The observable collections' port kind, for a connection's port table. */
export const collectionPorts: PortTable = { kinds: { [SUBSCRIPTION_PORT_KIND]: decodeSubscriptionPort } }
