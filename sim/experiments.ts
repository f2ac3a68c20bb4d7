/**
 * The simulator's experiments, run on real SCAMP nodes (sim/network.ts):
 * - static: n nodes join one after another through uniformly random contacts (each join settles
 *   before the next, as in the paper's analysis); then a fraction F of the nodes fail at once with
 *   no repair, and floods from random survivors measure reliability.
 * - churn: n nodes join as above but with heartbeats and leases on; then, over the given duration,
 *   a fraction of the nodes is replaced (each replacement: a random node leaves gracefully or
 *   crashes, and a new node joins through a random contact); samples show view-size drift and
 *   connectivity over time, and a last check after a quiet period shows whether any partition is permanent.
 */
import type { ScampConfig } from '../src/gossip/index.js'
import { floodReach, mirrorMismatches, stronglyConnectedComponents, viewStats } from './graph.js'
import { SimNetwork } from './network.js'

export function harmonic(n: number): number {
  let sum = 0
  for (let k = 1; k <= n; k++) sum += 1 / k
  return sum
}

/** SCAMP's expected mean partial view with random contacts: (c+1)(H_n − 1). */
export const expectedPartialView = (n: number, c: number): number => (c + 1) * (harmonic(n) - 1)

const sumMetric = (sim: SimNetwork, pick: (metrics: ReturnType<SimNetwork['nodes'][number]['node']['metrics']>) => number): number =>
  sim.nodes.reduce((total, { node }) => total + pick(node.metrics()), 0)

export interface StaticOptions {
  nodes: number
  c: number
  seed: number
  /** Fraction of nodes failed before the floods. */
  fail: number
  broadcasts: number
  /** Who new nodes send their subscription to: a uniformly random member (default), or always the first node. */
  entry?: 'random' | 'first'
  config?: Partial<ScampConfig>
}

export interface StaticResult {
  nodes: number
  c: number
  seed: number
  meanPartialView: number
  minPartialView: number
  maxPartialView: number
  emptyPartialViews: number
  meanInView: number
  expectedPartialView: number
  lnEstimate: number
  fail: number
  survivors: number
  reliability: number
  reliabilityMin: number
  /** Each flood's reach (fraction of survivors), in order. */
  reaches: number[]
  messagesPerJoin: number
  messagesPerBroadcast: number
  subscriptionsExpired: number
  mirrorMismatches: number
  elapsedMs: number
}

export function runStatic(options: StaticOptions): StaticResult {
  const started = performance.now()
  const { nodes: n, c, seed } = options
  const sim = new SimNetwork({ seed, config: { c, heartbeatIntervalMs: 0, leaseMs: 0, ...options.config }, detectionDelayMs: null, contactDelayMs: null })
  sim.join(sim.addNode())
  for (let i = 1; i < n; i++) {
    const index = sim.addNode()
    sim.join(index, options.entry === 'first' ? 0 : sim.randomAlive(index)!.index)
    sim.runUntilIdle()
  }
  const joinMessages = sim.messagesSent()
  const views = viewStats(sim)
  const mirror = mirrorMismatches(sim)
  const subscriptionsExpired = sumMetric(sim, (m) => m.subscriptionsExpired)

  // Failures: a random fraction stops at once; nobody repairs (no failure detection).
  const failing = Math.round(n * options.fail)
  for (let i = 0; i < failing; i++) sim.crash(sim.randomAlive()!.index)
  const survivors = sim.aliveCount
  const reaches: number[] = []
  let broadcastMessages = 0
  const payload = new Uint8Array([1, 2, 3])
  for (let b = 0; b < options.broadcasts; b++) {
    const source = sim.randomAlive()!
    const before = sim.stats.sent.gossip
    const id = sim.publish(source.index, payload)
    sim.runUntilIdle()
    broadcastMessages += sim.stats.sent.gossip - before
    reaches.push((sim.deliveries.get(id)! + 1) / survivors)
  }
  return {
    nodes: n,
    c,
    seed,
    meanPartialView: views.meanPartialView,
    minPartialView: views.minPartialView,
    maxPartialView: views.maxPartialView,
    emptyPartialViews: views.emptyPartialViews,
    meanInView: views.meanInView,
    expectedPartialView: expectedPartialView(n, c),
    lnEstimate: (c + 1) * Math.log(n),
    fail: options.fail,
    survivors,
    reliability: reaches.length > 0 ? reaches.reduce((a, b) => a + b, 0) / reaches.length : NaN,
    reliabilityMin: Math.min(...reaches),
    reaches,
    messagesPerJoin: joinMessages / Math.max(1, n - 1),
    messagesPerBroadcast: options.broadcasts > 0 ? broadcastMessages / options.broadcasts : NaN,
    subscriptionsExpired,
    mirrorMismatches: mirror.missingInView + mirror.missingPartialView,
    elapsedMs: performance.now() - started,
  }
}

export interface ChurnOptions {
  nodes: number
  c: number
  seed: number
  durationMs: number
  /** Fraction of the nodes replaced over the duration. */
  replaceFraction: number
  /** Share of the departures that are crashes (the rest leave gracefully). */
  crashShare: number
  sampleEveryMs: number
  /** Quiet time after the churn before the final partition check. */
  settleMs: number
  broadcasts: number
  /** Whether nodes get random contacts from outside their views (the signaling server). Default true. */
  outsideContacts?: boolean
  config?: Partial<ScampConfig>
}

export interface ChurnSample {
  minute: number
  alive: number
  meanPartialView: number
  minPartialView: number
  maxPartialView: number
  expectedPartialView: number
  meanInView: number
  emptyPartialViews: number
  arcsToDead: number
  /** Strongly connected components of the live partial-view graph; 1 = no partition. */
  components: number
  /** Live nodes a flood from a random node does not reach over the graph. */
  unreached: number
  messagesPerNodePerSecond: number
}

export interface ChurnResult {
  nodes: number
  c: number
  seed: number
  durationMs: number
  leaves: number
  crashes: number
  joins: number
  samples: ChurnSample[]
  /** At the end of the churn. */
  meanPartialView: number
  expectedPartialView: number
  deviation: number
  /**
   * After the quiet period: components − 1 of the partial-view graph at its best over six checks
   * 10 s apart (a partition that never heals), flood reliability, view mirroring.
   */
  partitions: number
  /** The most components seen at any sample during the churn, minus 1 (transient splits included). */
  worstPartitions: number
  reliability: number
  mirrorMismatches: number
  metrics: Record<string, number>
  elapsedMs: number
}

export function runChurn(options: ChurnOptions): ChurnResult {
  const started = performance.now()
  const { nodes: n, c, seed } = options
  const outsideContacts = options.outsideContacts ?? true
  const sim = new SimNetwork({ seed, config: { c, ...options.config }, outsideContacts, contactDelayMs: outsideContacts ? 1_000 : null })
  // The initial group: joins one after another through random contacts, each settling before the
  // next (the paper's model; timers run meanwhile), then a minute of quiet.
  sim.join(sim.addNode())
  for (let i = 1; i < n; i++) {
    const index = sim.addNode()
    sim.join(index, sim.randomAlive(index)!.index)
    sim.runUntilSettled(index)
  }
  const start = sim.now + 60_000
  sim.runUntil(start)

  let lastMessages = sim.messagesSent()
  let lastTime = sim.now
  const samples: ChurnSample[] = []
  const sample = (): ChurnSample => {
    const views = viewStats(sim)
    const source = sim.randomAlive()
    const messages = sim.messagesSent()
    const seconds = (sim.now - lastTime) / 1000
    const result: ChurnSample = {
      minute: Math.round((sim.now - start) / 60_000),
      alive: views.alive,
      meanPartialView: views.meanPartialView,
      minPartialView: views.minPartialView,
      maxPartialView: views.maxPartialView,
      expectedPartialView: expectedPartialView(views.alive, c),
      meanInView: views.meanInView,
      emptyPartialViews: views.emptyPartialViews,
      arcsToDead: views.arcsToDead,
      components: stronglyConnectedComponents(sim),
      unreached: source ? views.alive - floodReach(sim, source.index) : 0,
      messagesPerNodePerSecond: seconds > 0 ? (messages - lastMessages) / seconds / views.alive : 0,
    }
    lastMessages = messages
    lastTime = sim.now
    samples.push(result)
    return result
  }
  sample()

  let leaves = 0
  let crashes = 0
  let joins = 0
  const replacements = Math.round(n * options.replaceFraction)
  for (let r = 0; r < replacements; r++) {
    sim.at(start + sim.rng.next() * options.durationMs, () => {
      const victim = sim.randomAlive()
      if (victim) {
        if (sim.rng.next() < options.crashShare) {
          sim.crash(victim.index)
          crashes++
        } else {
          sim.leave(victim.index)
          leaves++
        }
      }
      const index = sim.addNode()
      const contact = sim.randomAlive(index)
      if (contact) {
        sim.join(index, contact.index)
        joins++
      }
    })
  }
  for (let t = options.sampleEveryMs; t <= options.durationMs; t += options.sampleEveryMs) {
    sim.runUntil(start + t)
    sample()
  }
  if (sim.now < start + options.durationMs) {
    sim.runUntil(start + options.durationMs)
    sample()
  }
  const end = samples[samples.length - 1]!

  // Quiet period, then the permanent-partition check and floods.
  sim.runUntil(start + options.durationMs + options.settleMs)
  const settled = sample()
  let fewestComponents = settled.components
  for (let i = 0; i < 5; i++) {
    sim.runUntil(sim.now + 10_000)
    fewestComponents = Math.min(fewestComponents, stronglyConnectedComponents(sim))
  }
  let reliabilitySum = 0
  for (let b = 0; b < options.broadcasts; b++) {
    const source = sim.randomAlive()!
    const id = sim.publish(source.index, new Uint8Array([b]))
    sim.runUntil(sim.now + 10_000)
    reliabilitySum += (sim.deliveries.get(id)! + 1) / sim.aliveCount
  }
  const mirror = mirrorMismatches(sim)
  const metricNames = [
    'subscriptionsExpired',
    'isolationRecoveries',
    'leaseRenewals',
    'lostArcsReplaced',
    'leasesExpired',
    'subscribeRetries',
    'inViewRepaired',
    'inViewExpired',
    'replacementsKept',
    'contactsRateLimited',
    'partialViewFull',
    'inViewFull',
  ] as const
  const metrics: Record<string, number> = {}
  for (const name of metricNames) metrics[name] = sumMetric(sim, (m) => m[name])
  metrics.needContact = sim.stats.needContact
  metrics.refused = sim.stats.refused
  return {
    nodes: n,
    c,
    seed,
    durationMs: options.durationMs,
    leaves,
    crashes,
    joins,
    samples,
    meanPartialView: end.meanPartialView,
    expectedPartialView: end.expectedPartialView,
    deviation: end.meanPartialView / end.expectedPartialView - 1,
    partitions: fewestComponents - 1,
    worstPartitions: Math.max(...samples.map((s) => s.components)) - 1,
    reliability: options.broadcasts > 0 ? reliabilitySum / options.broadcasts : NaN,
    mirrorMismatches: mirror.missingInView + mirror.missingPartialView,
    metrics,
    elapsedMs: performance.now() - started,
  }
}
