/** Helpers for driving one SCAMP node by hand: a settable clock, a steerable RNG, effect filters. */
import { createRng, createScampNode, type GossipEffect, type GossipMessage, type ScampConfig, type ScampNode } from '../../src/gossip/index.js'
import { messageToWire } from '../../src/gossip/protocol.js'

export interface Clock {
  now: number
}

/** A seeded RNG whose output can be pinned: `rng.pin(0)` makes every draw 0 (so every coin says "keep"). */
export class SteerableRng {
  readonly #seeded
  #pinned: number | undefined

  constructor(seed: number) {
    this.#seeded = createRng(seed)
  }

  pin(value: number | undefined): void {
    this.#pinned = value
  }

  next(): number {
    return this.#pinned ?? this.#seeded.next()
  }
}

export interface TestNode {
  node: ScampNode
  clock: Clock
  rng: SteerableRng
  /** Delivers a typed message from `from` through the wire form and the parser. */
  receive(from: string, message: GossipMessage): GossipEffect[]
}

/** A node with timers off unless `config` turns them on. */
export function makeNode(self = 'me', config: Partial<ScampConfig> = {}, seed = 1): TestNode {
  const clock: Clock = { now: 0 }
  const rng = new SteerableRng(seed)
  const node = createScampNode({ self, now: () => clock.now, rng, config: { heartbeatIntervalMs: 0, leaseMs: 0, ...config }, initialEpoch: 0 })
  return { node, clock, rng, receive: (from, message) => node.receive(from, messageToWire(message)) }
}

export type SendEffect = Extract<GossipEffect, { type: 'send' }>

export function sends(effects: GossipEffect[], type?: GossipMessage['type']): SendEffect[] {
  return effects.filter((e): e is SendEffect => e.type === 'send' && (type === undefined || e.message.type === type))
}

export function effectsOf<T extends GossipEffect['type']>(effects: GossipEffect[], type: T): Extract<GossipEffect, { type: T }>[] {
  return effects.filter((e): e is Extract<GossipEffect, { type: T }> => e.type === type)
}

/** Makes `t.node` hold the subscriptions of `peers` (each of epoch `epoch`), by forwarded subscriptions with the coin pinned to "keep". */
export function holdPeers(t: TestNode, peers: string[], epoch = 1): void {
  t.rng.pin(0)
  for (const peer of peers) t.receive('someone', { type: 'forward-subscription', subscriber: peer, epoch, hops: 0 })
  t.rng.pin(undefined)
}

/** Makes `peers` holders of `t.node`'s current subscription (its in-view), by keep notices. */
export function heldBy(t: TestNode, peers: string[]): void {
  for (const peer of peers) t.receive(peer, { type: 'kept', epoch: t.node.epoch })
}

/** Joins `t.node` through `contact`, answering as the contact would (the contact's epoch is `contactEpoch`). */
export function joinThrough(t: TestNode, contact: string, contactEpoch = 1): GossipEffect[] {
  const effects = t.node.join(contact)
  return [...effects, ...t.receive(contact, { type: 'contact', subscriberEpoch: t.node.epoch, contactEpoch, renewal: false })]
}

export const peers = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`)
