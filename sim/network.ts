/**
 * An in-memory network of real SCAMP nodes (src/gossip) on a virtual clock: messages travel as
 * wire values (`messageToWire`, then the node's own parser) with a fixed latency per ordered pair
 * (so each direction of a pair is FIFO, like a data channel), timers run when `nextTimerAt` says,
 * and a link to a dead peer is reported with `peerUnreachable` after `detectionDelayMs`, like the
 * mesh's idle timeout. Used by the simulator (sim/cli.ts) and the property tests (test/gossip).
 */
import {
  createRng,
  createScampNode,
  messageToWire,
  type GossipEffect,
  type GossipMessageType,
  type PeerId,
  type Rng,
  type ScampConfig,
  type ScampNode,
} from '../src/gossip/index.js'
import { EventQueue } from './event-queue.js'

export interface SimNetworkOptions {
  seed: number
  config?: Partial<ScampConfig>
  /** Latency of a message, fixed per ordered pair, drawn in [min, max]. Default 5..50 ms. */
  minLatencyMs?: number
  maxLatencyMs?: number
  /** Delay before a dead link is reported to the peers that want it; null: never (no failure detection). Default 5 s. */
  detectionDelayMs?: number | null
  /** Delay before a `need-contact` is answered with a random live contact (the signaling server); null: never. Default 1 s. */
  contactDelayMs?: number | null
  /** Whether nodes get `randomContact` (a random live node, like the signaling server's contact). Default true. */
  outsideContacts?: boolean
}

type SimEvent =
  | { time: number; seq: number; kind: 'message'; from: number; to: number; wire: unknown; subscriber: number }
  | { time: number; seq: number; kind: 'tick'; node: number }
  | { time: number; seq: number; kind: 'unreachable'; node: number; peer: number }
  | { time: number; seq: number; kind: 'action'; run: () => void }

export interface SimNode {
  readonly index: number
  readonly id: PeerId
  readonly node: ScampNode
  alive: boolean
  /** Peers this node wants links to (its partial view ∪ in-view, from neighbour effects). */
  readonly wants: Set<number>
  /** Peers that want a link to this node. */
  readonly wantedBy: Set<number>
  tickAt: number
}

export interface SimStats {
  sent: Record<GossipMessageType, number>
  delivered: number
  subscribed: number
  needContact: number
  refused: number
  misbehaving: number
  unreachableReported: number
}

export const nodeId = (index: number): PeerId => `n${index}`
const nodeIndex = (id: PeerId): number => Number(id.slice(1))

export class SimNetwork {
  now = 0
  readonly nodes: SimNode[] = []
  readonly rng: Rng
  readonly stats: SimStats
  /** How many nodes delivered each gossip message id. */
  readonly deliveries = new Map<string, number>()
  readonly #queue = new EventQueue<SimEvent>()
  readonly #options: Required<SimNetworkOptions>
  readonly #latencySalt: number
  /** Subscription messages (subscribe, forwarded subscription, contact, kept) in flight, by subscriber. */
  readonly #subscriptionInFlight = new Map<number, number>()
  // Live node indexes, with each one's position, for O(1) random choice and removal.
  readonly #aliveList: number[] = []
  readonly #alivePosition = new Map<number, number>()

  constructor(options: SimNetworkOptions) {
    this.#options = { minLatencyMs: 5, maxLatencyMs: 50, detectionDelayMs: 5_000, contactDelayMs: 1_000, outsideContacts: true, config: {}, ...options }
    this.rng = createRng(options.seed)
    this.#latencySalt = Math.floor(this.rng.next() * 0x7fffffff)
    this.stats = {
      sent: { subscribe: 0, 'forward-subscription': 0, contact: 0, kept: 0, unsubscribe: 0, forget: 0, heartbeat: 0, gossip: 0 },
      delivered: 0,
      subscribed: 0,
      needContact: 0,
      refused: 0,
      misbehaving: 0,
      unreachableReported: 0,
    }
  }

  get pendingEvents(): number {
    return this.#queue.size
  }

  /** Total messages sent so far (every type). */
  messagesSent(): number {
    let total = 0
    for (const count of Object.values(this.stats.sent)) total += count
    return total
  }

  /** Creates a node (not yet joined) and returns its index. */
  addNode(): number {
    const index = this.nodes.length
    const node = createScampNode({
      self: nodeId(index),
      now: () => this.now,
      rng: createRng((this.#options.seed * 1_000_003 + index * 7919 + 1) >>> 0),
      config: this.#options.config,
      initialEpoch: 0,
      randomContact: this.#options.outsideContacts ? () => this.randomAlive(index)?.id : undefined,
    })
    this.nodes.push({ index, id: nodeId(index), node, alive: true, wants: new Set(), wantedBy: new Set(), tickAt: Infinity })
    this.#alivePosition.set(index, this.#aliveList.length)
    this.#aliveList.push(index)
    return index
  }

  get aliveCount(): number {
    return this.#aliveList.length
  }

  alive(): SimNode[] {
    return this.#aliveList.map((index) => this.nodes[index]!)
  }

  /** A uniformly random live node other than `except`, or undefined. */
  randomAlive(except?: number): SimNode | undefined {
    const list = this.#aliveList
    const size = list.length - (except !== undefined && this.#alivePosition.has(except) ? 1 : 0)
    if (size <= 0) return undefined
    let index = list[Math.floor(this.rng.next() * list.length)]!
    while (index === except) index = list[Math.floor(this.rng.next() * list.length)]!
    return this.nodes[index]
  }

  #markDead(sim: SimNode): void {
    sim.alive = false
    const position = this.#alivePosition.get(sim.index)
    if (position === undefined) return
    const last = this.#aliveList.pop()!
    if (last !== sim.index) {
      this.#aliveList[position] = last
      this.#alivePosition.set(last, position)
    }
    this.#alivePosition.delete(sim.index)
  }

  join(index: number, contact?: number): void {
    const sim = this.nodes[index]!
    this.#apply(sim, sim.node.join(contact === undefined ? undefined : nodeId(contact)))
  }

  publish(index: number, payload: Uint8Array): string {
    const sim = this.nodes[index]!
    const { id, effects } = sim.node.publish(payload)
    this.deliveries.set(id, 0)
    this.#apply(sim, effects)
    return id
  }

  /** Graceful leave: the node unsubscribes, then its links close (reported once its last messages have arrived). */
  leave(index: number): void {
    const sim = this.nodes[index]!
    if (!sim.alive) return
    this.#apply(sim, sim.node.leave())
    this.#markDead(sim)
    this.#reportDeath(sim, 2 * this.#options.maxLatencyMs + 1)
  }

  /** Crash: the node stops; the peers linked to it notice after `detectionDelayMs` (if detection is on). */
  crash(index: number): void {
    const sim = this.nodes[index]!
    if (!sim.alive) return
    this.#markDead(sim)
    if (this.#options.detectionDelayMs !== null) this.#reportDeath(sim, this.#options.detectionDelayMs)
  }

  /** Schedules `run` at virtual time `time`. */
  at(time: number, run: () => void): void {
    this.#queue.push({ time: Math.max(time, this.now), seq: this.#queue.nextSeq(), kind: 'action', run })
  }

  /** Processes events up to and including `time`, then sets the clock to it. */
  runUntil(time: number): void {
    while (this.#queue.peekTime() <= time) this.#step()
    this.now = Math.max(this.now, time)
  }

  /** Processes events until no message about `index`'s subscription is in flight (everything else runs meanwhile). */
  runUntilSettled(index: number): void {
    while ((this.#subscriptionInFlight.get(index) ?? 0) > 0 && this.#queue.size > 0) this.#step()
  }

  /** Processes events until none is left (or `maxTime` is passed); returns false if events remain. */
  runUntilIdle(maxTime = Infinity): boolean {
    while (this.#queue.size > 0) {
      if (this.#queue.peekTime() > maxTime) return false
      this.#step()
    }
    return true
  }

  #step(): void {
    const event = this.#queue.pop()!
    this.now = event.time
    switch (event.kind) {
      case 'message': {
        if (event.subscriber >= 0) {
          const left = this.#subscriptionInFlight.get(event.subscriber)! - 1
          if (left === 0) this.#subscriptionInFlight.delete(event.subscriber)
          else this.#subscriptionInFlight.set(event.subscriber, left)
        }
        const target = this.nodes[event.to]!
        if (target.alive) this.#apply(target, target.node.receive(nodeId(event.from), event.wire))
        return
      }
      case 'tick': {
        const sim = this.nodes[event.node]!
        if (!sim.alive || sim.tickAt !== event.time) return
        sim.tickAt = Infinity
        this.#apply(sim, sim.node.tick())
        return
      }
      case 'unreachable': {
        const sim = this.nodes[event.node]!
        if (!sim.alive) return
        this.stats.unreachableReported++
        this.#apply(sim, sim.node.peerUnreachable(nodeId(event.peer)))
        return
      }
      case 'action':
        event.run()
        return
    }
  }

  #reportDeath(dead: SimNode, delayMs: number): void {
    this.at(this.now + delayMs, () => {
      for (const index of [...dead.wantedBy])
        this.#queue.push({ time: this.now, seq: this.#queue.nextSeq(), kind: 'unreachable', node: index, peer: dead.index })
    })
  }

  #latency(from: number, to: number): number {
    const { minLatencyMs, maxLatencyMs } = this.#options
    const hash = (Math.imul(from + 1, 0x9e3779b1) ^ Math.imul(to + 1, 0x85ebca77) ^ this.#latencySalt) >>> 0
    return minLatencyMs + ((Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 0) % (maxLatencyMs - minLatencyMs + 1))
  }

  #apply(sim: SimNode, effects: GossipEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send': {
          this.stats.sent[effect.message.type]++
          const to = nodeIndex(effect.to)
          const target = this.nodes[to]
          if (target === undefined || !target.alive) {
            const delay = this.#options.detectionDelayMs
            if (delay !== null) this.#queue.push({ time: this.now + delay, seq: this.#queue.nextSeq(), kind: 'unreachable', node: sim.index, peer: to })
            break
          }
          const message = effect.message
          const subscriber =
            message.type === 'subscribe' || message.type === 'forward-subscription'
              ? nodeIndex(message.subscriber)
              : message.type === 'contact' || message.type === 'kept'
                ? to
                : -1
          if (subscriber >= 0) this.#subscriptionInFlight.set(subscriber, (this.#subscriptionInFlight.get(subscriber) ?? 0) + 1)
          this.#queue.push({
            time: this.now + this.#latency(sim.index, to),
            seq: this.#queue.nextSeq(),
            kind: 'message',
            from: sim.index,
            to,
            wire: messageToWire(message),
            subscriber,
          })
          break
        }
        case 'deliver':
          this.stats.delivered++
          this.deliveries.set(effect.id, (this.deliveries.get(effect.id) ?? 0) + 1)
          break
        case 'neighbour-up': {
          const peer = nodeIndex(effect.peer)
          sim.wants.add(peer)
          this.nodes[peer]?.wantedBy.add(sim.index)
          break
        }
        case 'neighbour-down': {
          const peer = nodeIndex(effect.peer)
          sim.wants.delete(peer)
          this.nodes[peer]?.wantedBy.delete(sim.index)
          break
        }
        case 'subscribed':
          this.stats.subscribed++
          break
        case 'need-contact': {
          this.stats.needContact++
          const delay = this.#options.contactDelayMs
          if (delay !== null) {
            this.at(this.now + delay, () => {
              const contact = this.randomAlive(sim.index)
              if (sim.alive && contact) this.join(sim.index, contact.index)
            })
          }
          break
        }
        case 'refused':
          this.stats.refused++
          break
        case 'misbehaving':
          this.stats.misbehaving++
          break
      }
    }
    this.#scheduleTick(sim)
  }

  #scheduleTick(sim: SimNode): void {
    if (!sim.alive) return
    const at = sim.node.nextTimerAt()
    if (at === null) return
    const time = Math.max(at, this.now + 1)
    if (time >= sim.tickAt) return
    sim.tickAt = time
    this.#queue.push({ time, seq: this.#queue.nextSeq(), kind: 'tick', node: sim.index })
  }
}
