#!/usr/bin/env node
/**
 * `npm run bench`: the mux and channels against a raw data channel, on the same links, for
 * wrtc↔wrtc (two Node processes) and Chromium tab↔tab (two tabs of the system Chromium), side by side.
 * See bench/README.md for what each figure means. Writes bench/results/latest.json.
 *
 * Environment: BENCH_ONLY=wrtc|chromium runs one platform; BENCH_QUICK=1 shortens every phase (for
 * trying the harness, not for figures).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measureClusters } from './clusters.mjs'
import { startChromium, startWrtc, tuning } from './drivers.mjs'
import { runFormationBench } from './formation.mjs'
import { runMirrorBench } from './mirror.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const quick = Boolean(process.env.BENCH_QUICK)
const only = process.env.BENCH_ONLY
/** BENCH_PARTS=rtt: only the cold and the interleaved round trips (issue 20's call figures), no mesh parts; `cold`: only the cold ones. */
const coldOnly = process.env.BENCH_PARTS === 'cold'
const rttOnly = coldOnly || process.env.BENCH_PARTS === 'rtt'

const MiB = 1024 * 1024
/**
 * Every phase's size. Rounds alternate raw and mux on the same link; figures are medians over rounds.
 * About 2 minutes per platform on a 2-core machine.
 */
const PLAN = {
  /** One raw and one mux transfer on each fresh link before anything is measured (SCTP ramps up). */
  warmupMs: 2000,
  throughputRounds: 3,
  throughputMs: 2500,
  /** A lazy blob of this size fetched with get() in each throughput round, beside the bytes channel (issue 15). */
  blobBytes: 16 * MiB,
  pingRounds: 3,
  /** Pings per series, one every `pingIntervalMs` (5 more are sent first and not counted). */
  pings: 200,
  pingIntervalMs: 15,
  /** The raw ping waits behind at least this much bulk data in the same channel. */
  rawQueuedBytes: 4 * MiB,
  idlePings: 100,
  idleIntervalMs: 5,
  smallRounds: 3,
  smallMs: 2000,
  smallBytes: 100,
  slowTotalBytes: 200 * MiB,
  slowReadMBps: 10,
  /** A second, shorter slow-receiver run with a full GC before each sample: retained memory only. */
  retainedTotalBytes: 50 * MiB,
  retainedGcEveryMs: 250,
  /** Round trips of calls and hops (sequential, 64-byte payload), next to the raw ping on the same link. */
  callRounds: 3,
  calls: 500,
  /** Round trips of each kind run once, uncounted, before the rounds. */
  callWarmup: 2000,
  /** Calls per second with 1 and with 64 calls in flight, each for this long. */
  callsMs: 2000,
  /** Cold round trips: a fresh link per round, then its first `coldCount` raw pings, mpsc pings and calls, interleaved. */
  coldRounds: 3,
  coldCount: 100,
  /** Observable-map updates mirrored by the peer, one at a time, each beside a raw ping (after a warm-up round). */
  mirrorRounds: 3,
  mirrorUpdates: 300,
}
if (quick)
  Object.assign(PLAN, {
    mirrorRounds: 1,
    mirrorUpdates: 200,
    callRounds: 1,
    calls: 200,
    callWarmup: 1000,
    callsMs: 500,
    coldRounds: 1,
    warmupMs: 500,
    throughputRounds: 1,
    throughputMs: 800,
    pingRounds: 1,
    pings: 40,
    idlePings: 30,
    smallRounds: 1,
    smallMs: 500,
    slowTotalBytes: 20 * MiB,
    retainedTotalBytes: 10 * MiB,
  })
// BENCH_COLD_ROUNDS=n: that many fresh links for the cold round trips (their spread is wide).
if (process.env.BENCH_COLD_ROUNDS) PLAN.coldRounds = Number(process.env.BENCH_COLD_ROUNDS)

const log = (...parts) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s]`, ...parts)
const started = performance.now()
/** Other work on the machine skews every figure: the load average is recorded with the results. */
const loadAtStart = loadavg().map((v) => Math.round(v * 100) / 100)
const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const toMB = (bytes) => bytes / 1e6

// ── the measurements, the same for both platforms ────────────────────────────

const firstLine = (error) => String(error?.message ?? error).split('\n')[0]
const gap = (r) => (r.maxGapMs === undefined ? '' : `, longest gap ${r.maxGapMs.toFixed(0)} ms`) + drops(r)
const drops = (r) => (r.udpDrops ? `, ${r.udpDrops} UDP datagrams dropped` : '')

/**
 * UDP datagrams the kernel dropped because a socket's receive buffer was full (Linux: RcvbufErrors in
 * /proc/net/snmp and snmp6; undefined elsewhere). Both peers' WebRTC stacks receive on loopback, and
 * a drop there costs SCTP a retransmission — a 400 ms stall when it ends a burst — in every figure of
 * that phase. Counted machine-wide: other traffic on the machine shows up too.
 */
function udpReceiveDrops() {
  let total
  for (const [file, pattern] of [
    ['/proc/net/snmp', /^Udp: (?:\d+ ){4}(\d+)/m],
    ['/proc/net/snmp6', /^Udp6RcvbufErrors\s+(\d+)/m],
  ]) {
    try {
      const match = pattern.exec(readFileSync(file, 'utf8'))
      if (match) total = (total ?? 0) + Number(match[1])
    } catch {
      // not Linux
    }
  }
  return total
}

/**
 * `connect()` gives a connected pair of drivers: `a.run(op, args)` runs a measurement of bench/peer/operations.ts
 * on the initiating side (`b` answers through its responders); `memStart()` / `memStop()` sample one
 * side's memory. A link that dies under a measurement (wrtc on a loaded 2-core machine can stall for
 * seconds after UDP drops, and the mux session gives up after 5 s of silence) is replaced by a fresh,
 * warmed-up pair and the measurement is retried, at most twice; each incident is reported.
 */
async function suite(platform, connect) {
  const rounds = { throughput: [], pingLoaded: [], pingIdle: {}, small: [], slow: undefined }
  const incidents = []
  let udpDrops = 0
  // Cold round trips (issue 20): on fresh links, before anything else runs on them — users do not warm up.
  rounds.cold = []
  for (let i = 0; i < PLAN.coldRounds; i++) {
    const fresh = await connect()
    try {
      const cold = await fresh.a.run('coldRtt', { count: PLAN.coldCount })
      rounds.cold.push(cold)
      log(
        platform,
        `cold round trips ${i + 1}: raw ping p50 ${cold.raw.p50.toFixed(2)} ms; mpsc ping p50 ${cold.ping.p50.toFixed(2)} ms; call p50 ${cold.call.p50.toFixed(2)} ms`,
      )
    } finally {
      await fresh.close().catch(() => {})
    }
  }

  if (coldOnly) return { ...rttFigures({ ...rounds, calls: [] }), incidents, udp_receive_drops: null }

  let pair = await connect()
  const warmUp = async () => {
    log(platform, 'warm-up (one raw and one mux transfer on the fresh link)')
    await pair.a.run('rawThroughput', { durationMs: PLAN.warmupMs })
    await pair.a.run('muxBytesThroughput', { durationMs: PLAN.warmupMs })
  }
  const recordIncident = async (op, attempt, error) => {
    const sides = await Promise.all([pair.a, pair.b].map((side) => side.failure().catch(() => null)))
    const incident = { op, attempt, error: firstLine(error), linkFailure: sides.filter(Boolean).join('; ') || null }
    incidents.push(incident)
    log(platform, `${op} failed (attempt ${attempt}): ${incident.error}${incident.linkFailure ? ` — ${incident.linkFailure}` : ''}; reconnecting`)
  }
  const measure = async (op, args) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const dropsBefore = udpReceiveDrops()
        const result = await pair.a.run(op, args)
        const dropsAfter = udpReceiveDrops()
        if (dropsBefore !== undefined && dropsAfter !== undefined) {
          const dropped = dropsAfter - dropsBefore
          udpDrops += dropped
          // interleavedRtt returns three results; the drops are the round's, not one kind's.
          if (typeof result?.mbps === 'number' || typeof result?.p50 === 'number') result.udpDrops = dropped
        }
        return result
      } catch (error) {
        await recordIncident(op, attempt, error)
        if (attempt === 3) throw error
        await pair.close().catch(() => {})
        pair = await connect()
        await warmUp()
      }
    }
  }
  await warmUp()

  for (let i = 0; i < PLAN.throughputRounds; i++) {
    const raw = await measure('rawThroughput', { durationMs: PLAN.throughputMs })
    const mux = await measure('muxBytesThroughput', { durationMs: PLAN.throughputMs })
    const stream = await measure('muxStreamThroughput', { durationMs: PLAN.throughputMs })
    const blob = await measure('lazyBlobThroughput', { totalBytes: PLAN.blobBytes })
    rounds.throughput.push({ raw, mux, stream, blob })
    log(
      platform,
      `throughput ${i + 1}: raw ${raw.mbps.toFixed(1)} MB/s${gap(raw)}; bytes channel ${mux.mbps.toFixed(1)} MB/s${gap(mux)}; mux stream ${stream.mbps.toFixed(1)} MB/s${gap(stream)}; ` +
        `lazy blob of ${PLAN.blobBytes / MiB} MiB ${blob.mbps.toFixed(1)} MB/s${gap(blob)}`,
    )
  }

  rounds.pingIdle.raw = await measure('rawPing', { pings: PLAN.idlePings, intervalMs: PLAN.idleIntervalMs, queuedBytes: 0 })
  rounds.pingIdle.mux = await measure('muxPing', { pings: PLAN.idlePings, intervalMs: PLAN.idleIntervalMs, load: false })
  log(
    platform,
    `idle ping p50/p99: raw ${rounds.pingIdle.raw.p50.toFixed(2)}/${rounds.pingIdle.raw.p99.toFixed(2)} ms, mpsc ${rounds.pingIdle.mux.p50.toFixed(2)}/${rounds.pingIdle.mux.p99.toFixed(2)} ms`,
  )

  // Calls and hops on the same idle link, interleaved one by one with the raw ping they are compared
  // to: all three closed-loop (the next sent when the previous answer arrived), after a warm-up that
  // lets the JIT settle on each path (the first thousand calls run measurably slower than the steady state).
  await measure('interleavedRtt', { calls: PLAN.callWarmup })
  rounds.calls = []
  for (let i = 0; i < PLAN.callRounds; i++) {
    const { raw, call, hop: hopped } = await measure('interleavedRtt', { calls: PLAN.calls })
    rounds.calls.push({ raw, call, hop: hopped })
    log(
      platform,
      `round trips ${i + 1}: raw ping p50 ${raw.p50.toFixed(2)} ms; call p50/p99 ${call.p50.toFixed(2)}/${call.p99.toFixed(2)} ms; hop p50/p99 ${hopped.p50.toFixed(2)}/${hopped.p99.toFixed(2)} ms`,
    )
  }
  if (rttOnly) {
    await pair.close()
    return { ...rttFigures(rounds), incidents, udp_receive_drops: udpReceiveDrops() === undefined ? null : udpDrops }
  }
  await measure('mirrorUpdate', { updates: PLAN.mirrorUpdates })
  rounds.mirror = []
  for (let i = 0; i < PLAN.mirrorRounds; i++) {
    const { raw, update, forward } = await measure('mirrorUpdate', { updates: PLAN.mirrorUpdates })
    rounds.mirror.push({ raw, update, forward })
    log(
      platform,
      `mirror updates ${i + 1}: mutation → mirror p50/p99 ${forward.p50.toFixed(2)}/${forward.p99.toFixed(2)} ms; to the ack back p50 ${update.p50.toFixed(2)} ms; raw ping p50 ${raw.p50.toFixed(2)} ms`,
    )
  }
  rounds.callsPerSecond = {}
  for (const inFlight of [1, 64]) {
    rounds.callsPerSecond[inFlight] = await measure('callsPerSecond', { inFlight, durationMs: PLAN.callsMs })
    log(platform, `calls/s with ${inFlight} in flight: ${Math.round(rounds.callsPerSecond[inFlight].perSecond)}`)
  }
  rounds.sendsPerSecond = {}
  for (const inFlight of [1, 64]) {
    rounds.sendsPerSecond[inFlight] = await measure('sendsPerSecond', { inFlight, durationMs: PLAN.callsMs })
    log(platform, `sends/s with ${inFlight} in flight: ${Math.round(rounds.sendsPerSecond[inFlight].perSecond)}`)
  }

  for (let i = 0; i < PLAN.pingRounds; i++) {
    const raw = await measure('rawPing', { pings: PLAN.pings, intervalMs: PLAN.pingIntervalMs, queuedBytes: PLAN.rawQueuedBytes })
    const mux = await measure('muxPing', { pings: PLAN.pings, intervalMs: PLAN.pingIntervalMs, load: true })
    rounds.pingLoaded.push({ raw, mux })
    log(
      platform,
      `ping under load ${i + 1}: raw p50/p99 ${raw.p50.toFixed(1)}/${raw.p99.toFixed(1)} ms behind ${toMB(raw.queuedBytesMedian).toFixed(1)} MB (${raw.loadMBps.toFixed(1)} MB/s, longest gap ${raw.loadMaxGapMs.toFixed(0)} ms${drops(raw)}); ` +
        `mpsc ${mux.p50.toFixed(1)}/${mux.p99.toFixed(1)} ms beside a bytes channel (${mux.loadMBps.toFixed(1)} MB/s, longest gap ${mux.loadMaxGapMs.toFixed(0)} ms${drops(mux)})`,
    )
  }

  for (let i = 0; i < PLAN.smallRounds; i++) {
    const raw = await measure('rawSmall', { durationMs: PLAN.smallMs, messageBytes: PLAN.smallBytes })
    const mux = await measure('muxSmall', { durationMs: PLAN.smallMs, messageBytes: PLAN.smallBytes })
    rounds.small.push({ raw, mux })
    log(platform, `small messages ${i + 1}: raw ${Math.round(raw.perSecond)}/s, mpsc ${Math.round(mux.perSecond)}/s`)
  }

  const slowRun = async (totalBytes, gcEveryMs) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await Promise.all([pair.a.memStart({ gcEveryMs }), pair.b.memStart({ gcEveryMs })])
        const transfer = await pair.a.run('slowReceiver', { totalBytes, readMBps: PLAN.slowReadMBps })
        const [sender, receiver] = await Promise.all([pair.a.memStop(), pair.b.memStop()])
        return { transfer, sender, receiver }
      } catch (error) {
        await recordIncident('slowReceiver', attempt, error)
        if (attempt === 3) throw error
        await pair.close().catch(() => {})
        pair = await connect()
        await warmUp()
      }
    }
  }
  const above = (side) => toMB(side.peakBytes - side.idleBytes).toFixed(1)
  log(platform, `slow receiver: ${toMB(PLAN.slowTotalBytes).toFixed(0)} MB into a reader paced at ${PLAN.slowReadMBps} MB/s`)
  rounds.slow = await slowRun(PLAN.slowTotalBytes)
  log(
    platform,
    `slow receiver: ${rounds.slow.transfer.mbps.toFixed(1)} MB/s; peak above idle: sender ${above(rounds.slow.sender)} MB, receiver ${above(rounds.slow.receiver)} MB`,
  )
  rounds.retained = await slowRun(PLAN.retainedTotalBytes, PLAN.retainedGcEveryMs)
  log(
    platform,
    `slow receiver, ${toMB(PLAN.retainedTotalBytes).toFixed(0)} MB with a full GC before each sample: retained above idle: sender ${above(rounds.retained.sender)} MB, receiver ${above(rounds.retained.receiver)} MB`,
  )
  await pair.close()
  return { ...figures(rounds), incidents, udp_receive_drops: udpReceiveDrops() === undefined ? null : udpDrops }
}

/** The round-trip figures alone (BENCH_PARTS=rtt). */
function rttFigures(rounds) {
  return {
    call_vs_raw_rtt_p50: median(rounds.calls.map((r) => r.call.p50 / r.raw.p50)),
    call_rtt_p50_ms: median(rounds.calls.map((r) => r.call.p50)),
    call_rtt_p99_ms: median(rounds.calls.map((r) => r.call.p99)),
    call_raw_ping_p50_ms: median(rounds.calls.map((r) => r.raw.p50)),
    call_raw_ping_p99_ms: median(rounds.calls.map((r) => r.raw.p99)),
    hop_vs_call_rtt_p50: median(rounds.calls.map((r) => r.hop.p50 / r.call.p50)),
    hop_rtt_p50_ms: median(rounds.calls.map((r) => r.hop.p50)),
    hop_rtt_p99_ms: median(rounds.calls.map((r) => r.hop.p99)),
    cold_ping_vs_raw_p50: median(rounds.cold.map((r) => r.ping.p50 / r.raw.p50)),
    cold_call_vs_raw_p50: median(rounds.cold.map((r) => r.call.p50 / r.raw.p50)),
    cold_ping_p50_ms: median(rounds.cold.map((r) => r.ping.p50)),
    cold_call_p50_ms: median(rounds.cold.map((r) => r.call.p50)),
    cold_raw_ping_p50_ms: median(rounds.cold.map((r) => r.raw.p50)),
    rounds,
  }
}

function figures(rounds) {
  const t = rounds.throughput
  const p = rounds.pingLoaded
  const s = rounds.small
  const senderPeak = toMB(rounds.slow.sender.peakBytes - rounds.slow.sender.idleBytes)
  const receiverPeak = toMB(rounds.slow.receiver.peakBytes - rounds.slow.receiver.idleBytes)
  const senderRetained = toMB(rounds.retained.sender.peakBytes - rounds.retained.sender.idleBytes)
  const receiverRetained = toMB(rounds.retained.receiver.peakBytes - rounds.retained.receiver.idleBytes)
  return {
    mux_vs_raw_throughput: median(t.map((r) => r.mux.mbps / r.raw.mbps)),
    raw_throughput_mbps: median(t.map((r) => r.raw.mbps)),
    mux_bytes_throughput_mbps: median(t.map((r) => r.mux.mbps)),
    mux_stream_throughput_mbps: median(t.map((r) => r.stream.mbps)),
    mux_stream_vs_raw_throughput: median(t.map((r) => r.stream.mbps / r.raw.mbps)),
    lazy_blob_vs_bytes_throughput: median(t.map((r) => r.blob.mbps / r.mux.mbps)),
    lazy_blob_throughput_mbps: median(t.map((r) => r.blob.mbps)),
    ping_p50_under_load_ms: median(p.map((r) => r.mux.p50)),
    ping_p99_under_load_ms: median(p.map((r) => r.mux.p99)),
    raw_ping_p50_under_load_ms: median(p.map((r) => r.raw.p50)),
    raw_ping_p99_under_load_ms: median(p.map((r) => r.raw.p99)),
    raw_vs_mux_ping_p99: median(p.map((r) => r.raw.p99 / r.mux.p99)),
    ping_load_mbps: median(p.map((r) => r.mux.loadMBps)),
    raw_ping_load_mbps: median(p.map((r) => r.raw.loadMBps)),
    raw_ping_queued_mb: median(p.map((r) => toMB(r.raw.queuedBytesMedian))),
    call_vs_raw_rtt_p50: median(rounds.calls.map((r) => r.call.p50 / r.raw.p50)),
    call_rtt_p50_ms: median(rounds.calls.map((r) => r.call.p50)),
    call_rtt_p99_ms: median(rounds.calls.map((r) => r.call.p99)),
    call_raw_ping_p50_ms: median(rounds.calls.map((r) => r.raw.p50)),
    call_raw_ping_p99_ms: median(rounds.calls.map((r) => r.raw.p99)),
    calls_per_s: { in_flight_1: rounds.callsPerSecond[1].perSecond, in_flight_64: rounds.callsPerSecond[64].perSecond },
    sends_per_s: { in_flight_1: rounds.sendsPerSecond[1].perSecond, in_flight_64: rounds.sendsPerSecond[64].perSecond },
    hop_vs_call_rtt_p50: median(rounds.calls.map((r) => r.hop.p50 / r.call.p50)),
    hop_rtt_p50_ms: median(rounds.calls.map((r) => r.hop.p50)),
    hop_rtt_p99_ms: median(rounds.calls.map((r) => r.hop.p99)),
    mirror_update_p50_ms: median(rounds.mirror.map((r) => r.forward.p50)),
    mirror_update_p99_ms: median(rounds.mirror.map((r) => r.forward.p99)),
    mirror_update_rtt_p50_ms: median(rounds.mirror.map((r) => r.update.p50)),
    mirror_raw_ping_p50_ms: median(rounds.mirror.map((r) => r.raw.p50)),
    mirror_vs_raw_rtt_p50: median(rounds.mirror.map((r) => r.update.p50 / r.raw.p50)),
    cold_ping_vs_raw_p50: median(rounds.cold.map((r) => r.ping.p50 / r.raw.p50)),
    cold_call_vs_raw_p50: median(rounds.cold.map((r) => r.call.p50 / r.raw.p50)),
    cold_ping_p50_ms: median(rounds.cold.map((r) => r.ping.p50)),
    cold_call_p50_ms: median(rounds.cold.map((r) => r.call.p50)),
    cold_raw_ping_p50_ms: median(rounds.cold.map((r) => r.raw.p50)),
    ping_p50_idle_ms: rounds.pingIdle.mux.p50,
    ping_p99_idle_ms: rounds.pingIdle.mux.p99,
    raw_ping_p50_idle_ms: rounds.pingIdle.raw.p50,
    raw_ping_p99_idle_ms: rounds.pingIdle.raw.p99,
    small_msgs_vs_raw: median(s.map((r) => r.mux.perSecond / r.raw.perSecond)),
    raw_small_msgs_per_s: median(s.map((r) => r.raw.perSecond)),
    mux_small_msgs_per_s: median(s.map((r) => r.mux.perSecond)),
    slow_receiver_peak_mb: Math.max(senderPeak, receiverPeak),
    slow_receiver_sender_peak_mb: senderPeak,
    slow_receiver_receiver_peak_mb: receiverPeak,
    slow_receiver_sender_idle_mb: toMB(rounds.slow.sender.idleBytes),
    slow_receiver_receiver_idle_mb: toMB(rounds.slow.receiver.idleBytes),
    slow_receiver_retained_mb: Math.max(senderRetained, receiverRetained),
    slow_receiver_sender_retained_mb: senderRetained,
    slow_receiver_receiver_retained_mb: receiverRetained,
    slow_receiver_mbps: rounds.slow.transfer.mbps,
    slow_receiver_seconds: rounds.slow.transfer.ms / 1000,
    rounds,
  }
}

// ── the two platforms ────────────────────────────────────────────────────────

async function benchWrtc(cleanups) {
  log('wrtc: building the Node peer (Vite SSR build of bench/node-peer.ts)')
  const wrtc = await startWrtc(cleanups, log)
  return suite('wrtc', () => wrtc.connect())
}

async function benchChromium(cleanups) {
  const browser = await startChromium(cleanups, log)
  return { ...(await suite('chromium', () => browser.connect())), chromium_version: browser.version }
}

// ── report ───────────────────────────────────────────────────────────────────

const ROWS = [
  ['bulk: bytes channel ÷ raw channel', 'mux_vs_raw_throughput', (v) => v.toFixed(2), '≥ 0.90'],
  ['  raw channel, 16 KiB msgs (MB/s)', 'raw_throughput_mbps', (v) => v.toFixed(1), ''],
  ['  bytes channel, 64 KiB writes (MB/s)', 'mux_bytes_throughput_mbps', (v) => v.toFixed(1), ''],
  ['  mux stream, 64 KiB msgs (MB/s)', 'mux_stream_throughput_mbps', (v) => v.toFixed(1), ''],
  ['  mux stream ÷ raw channel', 'mux_stream_vs_raw_throughput', (v) => v.toFixed(2), ''],
  ['lazy blob (16 MiB, get()) ÷ bytes channel', 'lazy_blob_vs_bytes_throughput', (v) => v.toFixed(2), '≥ 0.90'],
  ['  lazy blob (MB/s)', 'lazy_blob_throughput_mbps', (v) => v.toFixed(1), ''],
  ['ping p99 under load, mpsc (ms)', 'ping_p99_under_load_ms', (v) => v.toFixed(1), '≤ 25'],
  ['  ping p50 under load, mpsc (ms)', 'ping_p50_under_load_ms', (v) => v.toFixed(1), ''],
  ['  bulk beside the pings (MB/s)', 'ping_load_mbps', (v) => v.toFixed(1), ''],
  ['raw ping p99 behind queued bulk (ms)', 'raw_ping_p99_under_load_ms', (v) => v.toFixed(1), ''],
  ['  raw ping p50 behind queued bulk (ms)', 'raw_ping_p50_under_load_ms', (v) => v.toFixed(1), ''],
  ['  raw bulk queued at each ping (MB)', 'raw_ping_queued_mb', (v) => v.toFixed(1), ''],
  ['raw p99 ÷ mpsc p99 under load', 'raw_vs_mux_ping_p99', (v) => v.toFixed(1), '≥ 5'],
  ['idle ping p50: mpsc / raw (ms)', ['ping_p50_idle_ms', 'raw_ping_p50_idle_ms'], (m, r) => `${m.toFixed(2)} / ${r.toFixed(2)}`, ''],
  ['call round trip p50 ÷ raw ping p50', 'call_vs_raw_rtt_p50', (v) => v.toFixed(2), '≤ 1.3'],
  ['  call p50 / p99 (ms)', ['call_rtt_p50_ms', 'call_rtt_p99_ms'], (a, b) => `${a.toFixed(2)} / ${b.toFixed(2)}`, ''],
  ['  raw ping p50 / p99, same link (ms)', ['call_raw_ping_p50_ms', 'call_raw_ping_p99_ms'], (a, b) => `${a.toFixed(2)} / ${b.toFixed(2)}`, ''],
  [
    'calls/s, 1 / 64 in flight',
    'calls_per_s',
    (v) => `${Math.round(v.in_flight_1).toLocaleString('en-US')} / ${Math.round(v.in_flight_64).toLocaleString('en-US')}`,
    '',
  ],
  [
    'sends/s, awaited / 64 pipelined',
    'sends_per_s',
    (v) => `${Math.round(v.in_flight_1).toLocaleString('en-US')} / ${Math.round(v.in_flight_64).toLocaleString('en-US')}`,
    '',
  ],
  ['cold: first 100 mpsc pings p50 ÷ raw', 'cold_ping_vs_raw_p50', (v) => v.toFixed(2), '≤ 1.2'],
  ['cold: first 100 calls p50 ÷ raw ping', 'cold_call_vs_raw_p50', (v) => v.toFixed(2), '≤ 1.2'],
  [
    '  cold p50: mpsc / call / raw (ms)',
    ['cold_ping_p50_ms', 'cold_call_p50_ms', 'cold_raw_ping_p50_ms'],
    (p, c, r) => `${p.toFixed(2)} / ${c.toFixed(2)} / ${r.toFixed(2)}`,
    '',
  ],
  ['hop round trip p50 ÷ call p50', 'hop_vs_call_rtt_p50', (v) => v.toFixed(2), '≤ 1.1'],
  ['  hop p50 / p99 (ms)', ['hop_rtt_p50_ms', 'hop_rtt_p99_ms'], (a, b) => `${a.toFixed(2)} / ${b.toFixed(2)}`, ''],
  ['mirror update: to the ack ÷ raw ping p50', 'mirror_vs_raw_rtt_p50', (v) => v.toFixed(2), ''],
  ['  mutation → mirror p50 / p99 (ms)', ['mirror_update_p50_ms', 'mirror_update_p99_ms'], (a, b) => `${a.toFixed(2)} / ${b.toFixed(2)}`, ''],
  ['  to the ack / raw ping p50 (ms)', ['mirror_update_rtt_p50_ms', 'mirror_raw_ping_p50_ms'], (a, b) => `${a.toFixed(2)} / ${b.toFixed(2)}`, ''],
  ['small msgs: mpsc ÷ raw (100 B)', 'small_msgs_vs_raw', (v) => v.toFixed(2), ''],
  ['  raw channel (msgs/s)', 'raw_small_msgs_per_s', (v) => Math.round(v).toLocaleString('en-US'), ''],
  ['  mpsc channel (msgs/s)', 'mux_small_msgs_per_s', (v) => Math.round(v).toLocaleString('en-US'), ''],
  ['slow receiver peak above idle (MB)', 'slow_receiver_peak_mb', (v) => v.toFixed(1), '< 32'],
  ['  sender / receiver (MB)', ['slow_receiver_sender_peak_mb', 'slow_receiver_receiver_peak_mb'], (s, r) => `${s.toFixed(1)} / ${r.toFixed(1)}`, ''],
  ['  transfer rate (MB/s)', 'slow_receiver_mbps', (v) => v.toFixed(1), ''],
  [
    '  retained, GC before each sample (MB)',
    ['slow_receiver_sender_retained_mb', 'slow_receiver_receiver_retained_mb'],
    (s, r) => `${s.toFixed(1)} / ${r.toFixed(1)}`,
    '',
  ],
  ['links that died and were replaced', 'incidents', (v) => String(v.length), ''],
  ['UDP datagrams dropped by the kernel', 'udp_receive_drops', (v) => (v === null ? 'n/a' : v.toLocaleString('en-US')), ''],
]

function table(results) {
  const cell = (platform, key, format) => {
    const r = results[platform]
    if (!r) return '—'
    if (r.error) return 'failed'
    const keys = Array.isArray(key) ? key : [key]
    const values = keys.map((k) => r[k])
    return values.some((v) => v === undefined) ? '—' : format(...values)
  }
  const rows = ROWS.map(([label, key, format, goal]) => [label, cell('wrtc', key, format), cell('chromium', key, format), goal])
  const header = ['metric', 'wrtc', 'chromium', 'goal']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (row) => `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`
  return [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n')
}

const HEADLINE_KEYS = [
  'mux_vs_raw_throughput',
  'ping_p99_under_load_ms',
  'raw_ping_p99_under_load_ms',
  'small_msgs_vs_raw',
  'slow_receiver_peak_mb',
  'raw_throughput_mbps',
  'mux_bytes_throughput_mbps',
  'mux_stream_throughput_mbps',
  'mux_stream_vs_raw_throughput',
  'lazy_blob_vs_bytes_throughput',
  'lazy_blob_throughput_mbps',
  'ping_p50_under_load_ms',
  'raw_ping_p50_under_load_ms',
  'raw_vs_mux_ping_p99',
  'ping_load_mbps',
  'raw_ping_load_mbps',
  'raw_ping_queued_mb',
  'ping_p50_idle_ms',
  'ping_p99_idle_ms',
  'raw_ping_p50_idle_ms',
  'raw_ping_p99_idle_ms',
  'raw_small_msgs_per_s',
  'mux_small_msgs_per_s',
  'slow_receiver_sender_peak_mb',
  'slow_receiver_receiver_peak_mb',
  'slow_receiver_sender_idle_mb',
  'slow_receiver_receiver_idle_mb',
  'slow_receiver_retained_mb',
  'slow_receiver_sender_retained_mb',
  'slow_receiver_receiver_retained_mb',
  'slow_receiver_mbps',
  'slow_receiver_seconds',
  'call_vs_raw_rtt_p50',
  'call_rtt_p50_ms',
  'call_rtt_p99_ms',
  'call_raw_ping_p50_ms',
  'call_raw_ping_p99_ms',
  'calls_per_s',
  'sends_per_s',
  'hop_vs_call_rtt_p50',
  'hop_rtt_p50_ms',
  'hop_rtt_p99_ms',
  'udp_receive_drops',
  'cold_ping_vs_raw_p50',
  'cold_call_vs_raw_p50',
  'cold_ping_p50_ms',
  'cold_call_p50_ms',
  'cold_raw_ping_p50_ms',
  'mirror_update_p50_ms',
  'mirror_update_p99_ms',
  'mirror_update_rtt_p50_ms',
  'mirror_raw_ping_p50_ms',
  'mirror_vs_raw_rtt_p50',
]

/** Numbers to three decimals; objects of numbers (`calls_per_s`) member by member. */
const round3 = (v) => {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.round(v * 1000) / 1000
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, round3(inner)]))
  return v ?? null
}

function report(results) {
  const json = {}
  for (const key of HEADLINE_KEYS) json[key] = { wrtc: round3(results.wrtc?.[key]), chromium: round3(results.chromium?.[key]) }
  let commit = 'unknown'
  let uncommittedSrcFiles = null
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
    // The benchmark runs the working tree's src/: say whether it differs from the commit.
    uncommittedSrcFiles = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean).length
  } catch {
    // not a git checkout
  }
  json.meta = {
    date: new Date().toISOString(),
    commit,
    uncommitted_src_files: uncommittedSrcFiles,
    quick,
    node: process.version,
    chromium: results.chromium?.chromium_version ?? null,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memory_gb: Math.round(totalmem() / 1e9),
    wrtc_setup: 'two Node processes (one RTCPeerConnection each, @roamhq/wrtc), signals relayed by the runner over IPC',
    chromium_setup: 'two tabs of one headless Chromium context, signals over a BroadcastChannel',
    link: 'one RTCPeerConnection per side, no STUN (iceServers: []); data channel id 0 = WebRtcLink + MuxSession + Connection, id 1 = raw baseline',
    plan: PLAN,
    load_average_at_start: loadAtStart,
    load_average_at_end: loadavg().map((v) => Math.round(v * 100) / 100),
    errors: Object.fromEntries(
      Object.entries(results)
        .filter(([, r]) => r?.error)
        .map(([k, r]) => [k, r.error]),
    ),
  }
  json.incidents = { wrtc: results.wrtc?.incidents ?? null, chromium: results.chromium?.incidents ?? null }
  json.rounds = { wrtc: results.wrtc?.rounds ?? null, chromium: results.chromium?.rounds ?? null }
  return json
}

/** The whole-mesh figures as latest.json keys (null where a part did not run or failed). */
function meshFigures({ formation, clusters, mirror }) {
  return {
    formation_ms: formation?.formation_ms ?? null,
    join_first_message_ms: formation?.join_first_message_ms ?? null,
    raw_join_first_message_ms: formation?.raw_join_first_message_ms ?? null,
    formation_refusals: formation?.refusals ?? null,
    formation_rounds: formation?.rounds ?? null,
    request_vs_call_rtt_p50: clusters?.request_vs_call_rtt_p50 ?? null,
    request_rtt_p50_ms: clusters?.request_rtt_p50_ms ?? null,
    request_call_rtt_p50_ms: clusters?.call_rtt_p50_ms ?? null,
    requests_per_s: clusters?.requests_per_s ?? null,
    event_to_all_subscribers_ms: clusters?.event_to_all_subscribers_ms ?? null,
    events_not_reaching_all: clusters?.events_not_reaching_all ?? null,
    mirror_update_tab_node_p50_ms: mirror?.mirror_update_tab_node_p50_ms ?? null,
    mirror_update_tab_node_p99_ms: mirror?.mirror_update_tab_node_p99_ms ?? null,
    mirror_call_forward_tab_node_p50_ms: mirror?.mirror_call_forward_tab_node_p50_ms ?? null,
    mirror_update_rtt_tab_node_p50_ms: mirror?.mirror_update_rtt_tab_node_p50_ms ?? null,
    mirror_call_rtt_tab_node_p50_ms: mirror?.mirror_call_rtt_tab_node_p50_ms ?? null,
  }
}

function meshTable(mesh) {
  const f = meshFigures(mesh)
  const ms = (v) => (typeof v === 'number' ? `${Math.round(v)} ms` : '—')
  const ms2 = (v) => (typeof v === 'number' ? `${v.toFixed(2)} ms` : '—')
  const rows = [
    ['form the full mesh: 6 / 12 Node peers', `${ms(f.formation_ms?.node_6)} / ${ms(f.formation_ms?.node_12)}`, '12: ≤ 1 500 ms'],
    ['form the full mesh: 4 tabs + 2 Node peers', ms(f.formation_ms?.tabs_4_node_2), '≤ 1 000 ms'],
    [
      'join → first message, Node / Chromium',
      `${ms(f.join_first_message_ms?.node)} / ${ms(f.join_first_message_ms?.chromium)}`,
      `raw floor ${ms(f.raw_join_first_message_ms?.node)} / ${ms(f.raw_join_first_message_ms?.chromium)}`,
    ],
    ['cluster request p50 ÷ call p50', f.request_vs_call_rtt_p50?.toFixed(2) ?? '—', '≤ 1.1'],
    ['requests/s, 64 in flight, 1 / 3 members', f.requests_per_s ? `${f.requests_per_s.members_1} / ${f.requests_per_s.members_3}` : '—', ''],
    [
      'event to all 24 subscribers (scamp), p50 / p99',
      f.event_to_all_subscribers_ms ? `${ms(f.event_to_all_subscribers_ms.p50)} / ${ms(f.event_to_all_subscribers_ms.p99)}` : '—',
      `${f.events_not_reaching_all ?? '—'} events missed someone`,
    ],
    ...['node_to_tab', 'tab_to_node'].map((direction) => [
      `mutation → mirror, ${direction === 'node_to_tab' ? 'Node owns, tab mirrors' : 'tab owns, Node mirrors'}, p50 / p99`,
      `${ms2(f.mirror_update_tab_node_p50_ms?.[direction])} / ${ms2(f.mirror_update_tab_node_p99_ms?.[direction])}`,
      `call one way ${ms2(f.mirror_call_forward_tab_node_p50_ms?.[direction])}, round trip ${ms2(f.mirror_call_rtt_tab_node_p50_ms?.[direction])}`,
    ]),
  ]
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length)))
  return rows.map((row) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`).join('\n')
}

// ── main ─────────────────────────────────────────────────────────────────────

const cleanups = []
async function cleanup() {
  for (const fn of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(fn)
      .catch(() => {})
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)))

// The Chromium half needs the system Chromium: find (or, as root with apt-get, install) it before the
// wrtc half runs, the way `npm test` does, rather than failing three minutes in.
if (only !== 'wrtc') {
  const ensured = spawnSync(process.execPath, [join(root, 'scripts/ensure-chromium.mjs')], { stdio: 'inherit' })
  if (ensured.status !== 0) {
    console.error('bench: no Chromium for the tab ↔ tab half (see above); BENCH_ONLY=wrtc runs the Node half alone.')
    process.exit(1)
  }
}

const results = {}
for (const [platform, run] of [
  ['wrtc', benchWrtc],
  ['chromium', benchChromium],
]) {
  if (only && only !== platform) continue
  try {
    results[platform] = await run(cleanups)
  } catch (error) {
    log(`${platform} failed:`, error)
    results[platform] = { error: String(error?.stack ?? error) }
  } finally {
    await cleanup()
  }
}

// Whole meshes, after the link measurements (their own processes, servers and rooms; bench/README.md
// "Forming a mesh" and "Service clusters"). A part that fails leaves its figures null and says why.
const mesh = { formation: null, clusters: null, mirror: null, errors: {} }
if (!tuning && !rttOnly) {
  try {
    const { rounds: formationRounds, ...formation } = await runFormationBench({ rounds: quick ? 1 : 3, only, log: (...parts) => log('formation:', ...parts) })
    mesh.formation = { ...formation, rounds: formationRounds }
  } catch (error) {
    log('formation failed:', error)
    mesh.errors.formation = String(error?.stack ?? error)
  }
  if (only !== 'chromium') {
    try {
      mesh.clusters = await measureClusters({ quick })
    } catch (error) {
      log('clusters failed:', error)
      mesh.errors.clusters = String(error?.stack ?? error)
    }
  }
  // Mirror updates between a Node peer and a tab (issue 15 §5): both platforms at once.
  if (!only) {
    try {
      const { failures, ...mirror } = await runMirrorBench({ count: quick ? 100 : 300, log: (...parts) => log('mirror:', ...parts) })
      mesh.mirror = mirror
      if (Object.keys(failures).length > 0) mesh.errors.mirror = JSON.stringify(failures)
    } catch (error) {
      log('mirror failed:', error)
      mesh.errors.mirror = String(error?.stack ?? error)
    }
  }
}

console.log(
  `\nmeshscope benchmark (${((performance.now() - started) / 1000).toFixed(0)} s${quick ? ', QUICK: not for figures' : ''}${tuning ? `, TUNED: ${JSON.stringify(tuning)}` : ''})\n`,
)
console.log(table(results))
console.log(`\n${meshTable(mesh)}`)
const json = report(results)
Object.assign(json, meshFigures(mesh))
json.meta.errors = { ...json.meta.errors, ...mesh.errors }
if (!quick && !only && !tuning && !rttOnly) {
  mkdirSync(join(root, 'bench/results'), { recursive: true })
  writeFileSync(join(root, 'bench/results/latest.json'), `${JSON.stringify(json, null, 2)}\n`)
  console.log('\nwrote bench/results/latest.json')
} else {
  console.log('\n(quick, partial or tuned run: bench/results/latest.json not written)')
}
process.exitCode = Object.values(results).some((r) => r?.error) || Object.keys(mesh.errors).length > 0 ? 1 : 0
