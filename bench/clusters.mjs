#!/usr/bin/env node
/**
 * `npm run bench:clusters`: service clusters' costs (see bench/README.md, "Service clusters"), with Node
 * peers (wrtc) in separate processes on this machine:
 * - `request_vs_call_rtt_p50`: a request to a one-member cluster ÷ a `mesh.call` to the same peer,
 *   interleaved one by one after a warm-up, p50 (median of the rounds' ratios);
 * - `requests_per_s`: 64 requests in flight at all times for 2 s, to a cluster of 1 and of 3 members;
 * - `event_to_all_subscribers_ms`: p50/p99 of the time for a published event to reach every
 *   subscriber of a topic in a 24-peer scamp room (3 processes × 8 peers).
 * `measureClusters()` returns them (bench/run.mjs adds them to latest.json); run alone, this prints them.
 * Ends only the processes it started, by their handles. BENCH_QUICK=1 shortens every phase.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import { IpcProcess, nodeArgsFrom } from './ipc-process.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const bundleDir = join(root, 'node_modules/.cache/meshscope-bench-clusters')

const PLAN = {
  rttRounds: 3,
  rttWarmupPairs: 1000,
  rttPairs: 300,
  rateInFlight: 64,
  rateMs: 2000,
  scampProcesses: 3,
  scampPeersPerProcess: 8,
  warmupEvents: 10,
  events: 100,
  eventIntervalMs: 50,
  /** Warm-up events go out this far apart: the links opened on demand need the time. */
  warmupIntervalMs: 1000,
}
const QUICK = { rttRounds: 1, rttWarmupPairs: 200, rttPairs: 100, rateMs: 500, events: 20 }

const log = (...parts) => console.error(`[bench clusters ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s]`, ...parts)
const started = performance.now()

/** bench/clusters-peer.ts and the src/ it imports as one ES module (wrtc left external). */
async function buildPeer() {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    build: {
      ssr: join(root, 'bench/clusters-peer.ts'),
      outDir: bundleDir,
      emptyOutDir: true,
      minify: false,
      target: 'node20',
      rolldownOptions: { output: { entryFileNames: 'clusters-peer.mjs', format: 'es' } },
    },
  })
  return join(bundleDir, 'clusters-peer.mjs')
}

/** One peer process (bench/clusters-peer.ts), driven over IPC. */
function startPeerProcess(bundle) {
  return IpcProcess.start(bundle, { name: 'clusters peer', execArgv: nodeArgsFrom('BENCH_NODE_ARGS') })
}

async function waitFor(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}
const round = (value, digits) => Math.round(value * 10 ** digits) / 10 ** digits

/**
 * Measures the service-cluster figures; resolves with
 * `{ request_vs_call_rtt_p50, request_rtt_p50_ms, call_rtt_p50_ms, requests_per_s: { members_1, members_3 }, event_to_all_subscribers_ms: { p50, p99 } }`.
 */
export async function measureClusters({ quick = Boolean(process.env.BENCH_QUICK) } = {}) {
  const plan = quick ? { ...PLAN, ...QUICK } : PLAN
  const bundle = await buildPeer()
  const processes = []
  const start = async () => {
    const peer = await startPeerProcess(bundle)
    processes.push(peer)
    return peer
  }
  try {
    // ── a full-mesh room: one client process, three member processes ──
    const client = await start()
    const signaling = await client.call('signaling')
    const members = [await start(), await start(), await start()]
    const room = `bench-clusters-${process.pid}`
    await client.call('join', { signaling, room, count: 1 })
    const memberIds = []
    for (const member of members) memberIds.push(...(await member.call('join', { signaling, room, count: 1 })))
    await members[0].call('serve', { index: 0, cluster: 'bench.one' })
    for (const member of members) await member.call('serve', { index: 0, cluster: 'bench.three' })
    await waitFor('the client to list the members', async () => {
      const one = await client.call('directoryHas', { cluster: 'bench.one', count: 1 })
      return one && (await client.call('directoryHas', { cluster: 'bench.three', count: 3 }))
    })
    log('full room joined; request vs call round trips')

    const rounds = []
    for (let i = 0; i < plan.rttRounds; i++) {
      const result = await client.call('requestVsCall', {
        cluster: 'bench.one',
        member: memberIds[0],
        warmup: i === 0 ? plan.rttWarmupPairs : 0,
        pairs: plan.rttPairs,
      })
      rounds.push({ ...result, ratio: result.requestP50Ms / result.callP50Ms })
      log(`round ${i + 1}: request p50 ${result.requestP50Ms.toFixed(3)} ms, call p50 ${result.callP50Ms.toFixed(3)} ms`)
    }
    const rate = {}
    for (const [key, cluster] of [
      ['members_1', 'bench.one'],
      ['members_3', 'bench.three'],
    ]) {
      rate[key] = Math.round(await client.call('requestRate', { cluster, inFlight: plan.rateInFlight, durationMs: plan.rateMs }))
      log(`${rate[key]} requests/s with ${plan.rateInFlight} in flight to ${cluster}`)
    }
    await Promise.all([client, ...members].map((peer) => peer.call('leave')))

    // ── a scamp room: 3 processes × 8 peers, every one subscribed ──
    const scampRoom = `bench-clusters-scamp-${process.pid}`
    const groups = [client, members[1], members[2]].slice(0, plan.scampProcesses)
    const total = plan.scampProcesses * plan.scampPeersPerProcess
    for (const group of groups)
      await group.call('join', {
        signaling,
        room: scampRoom,
        count: plan.scampPeersPerProcess,
        options: { topology: 'scamp', gossip: { heartbeatIntervalMs: 1_000 } },
      })
    for (const group of groups) await group.call('subscribe', { topic: 'bench.topic' })
    await waitFor(`every peer to list ${total} subscribers`, async () =>
      (await Promise.all(groups.map((group) => group.call('directoryHas', { topic: 'bench.topic', count: total })))).every(Boolean),
    )
    log(`scamp room of ${total} joined, every directory complete`)
    // The first events open the publisher's links to the subscribers it has none to (on demand,
    // through the signaling server, which rate-limits each socket): a few are lost on the way
    // (best effort). They are warm-up, not counted; the figure is the time once links are up.
    const reachedBy = async (ids) => {
      const logs = await Promise.all(groups.map((group) => group.call('arrivals', { topic: 'bench.topic' })))
      return ids.map((id) => logs.flatMap((byEvent) => byEvent[id] ?? []))
    }
    const warmupIds = Array.from({ length: plan.warmupEvents }, (_, i) => -1 - i)
    for (const id of warmupIds) {
      await groups[0].call('publish', { topic: 'bench.topic', id })
      await new Promise((resolve) => setTimeout(resolve, plan.warmupIntervalMs))
    }
    await waitFor('the warm-up events', async () => (await reachedBy(warmupIds.slice(-2))).every((times) => times.length === total), 20_000).catch(() => {})
    const warmupReached = (await reachedBy(warmupIds)).map((times) => times.length)
    log(`warm-up: subscribers reached by each of ${plan.warmupEvents} events ${warmupReached.join(' ')} of ${total}; publishing ${plan.events}`)
    const publishedAt = []
    for (let id = 0; id < plan.events; id++) {
      publishedAt.push(await groups[0].call('publish', { topic: 'bench.topic', id }))
      await new Promise((resolve) => setTimeout(resolve, plan.eventIntervalMs))
    }
    const eventIds = publishedAt.map((_, id) => id)
    await waitFor('every event at every subscriber', async () => (await reachedBy(eventIds)).every((times) => times.length === total), 10_000).catch(() => {})
    const arrivals = await reachedBy(eventIds)
    const toAll = arrivals.flatMap((times, id) => (times.length === total ? [Math.max(...times) - publishedAt[id]] : []))
    const missed = arrivals.filter((times) => times.length < total).length
    log(`${plan.events - missed} of ${plan.events} events reached all ${total} subscribers`)
    return {
      request_vs_call_rtt_p50: round(median(rounds.map((r) => r.ratio)), 3),
      request_rtt_p50_ms: round(median(rounds.map((r) => r.requestP50Ms)), 3),
      call_rtt_p50_ms: round(median(rounds.map((r) => r.callP50Ms)), 3),
      requests_per_s: rate,
      event_to_all_subscribers_ms: { p50: round(percentile(toAll, 50), 2), p99: round(percentile(toAll, 99), 2) },
      events_not_reaching_all: missed,
      warmup_events_reached: warmupReached,
      rounds,
    }
  } finally {
    await Promise.allSettled(processes.map((peer) => peer.stop()))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await measureClusters()
  const { rounds: _rounds, ...headline } = figures
  console.log(JSON.stringify(headline, null, 2))
  log('done')
}
