#!/usr/bin/env node
/**
 * A focused A/B probe for the ping beside bulk data (issue 20): for each platform, each round, each
 * variant (a BENCH_TUNING object) on a fresh link: a warm-up transfer, then mpsc pings beside a bytes
 * channel, then the bytes channel's and the raw channel's throughput. Variants alternate within a
 * round, so they sample the same machine load. Diagnosis only: it writes no results file.
 *
 *   PROBE_VARIANTS='[{"name":"default"},{"name":"w64","muxConfig":{"initialWindowBytes":65536}}]' \
 *   PROBE_ROUNDS=2 BENCH_ONLY=wrtc flock /tmp/meshscope-bench.lock node bench/lane-probe.mjs
 */
process.env.BENCH_TUNING ??= '{}'
const { startChromium, startWrtc, tuning } = await import('./drivers.mjs')
const { readFileSync } = await import('node:fs')
const { execFileSync } = await import('node:child_process')

/** UDP datagrams dropped at one process's sockets (`ss -uanmp`'s per-socket `d` counter), or NaN without `ss`. */
function socketDrops(pid) {
  if (!pid) return Number.NaN
  try {
    const lines = execFileSync('ss', ['-uanmp'], { encoding: 'utf8' }).split('\n')
    let total = 0
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].includes(`pid=${pid},`)) continue
      total += Number(/\bd(\d+)\)/.exec(lines[i + 1] ?? '')?.[1] ?? 0)
    }
    return total
  } catch {
    return Number.NaN
  }
}

/** Machine-wide UDP receive-buffer drops (Linux), as bench/run.mjs counts them. */
function udpReceiveDrops() {
  let total = 0
  for (const [file, pattern] of [
    ['/proc/net/snmp', /^Udp: (?:\d+ ){4}(\d+)/m],
    ['/proc/net/snmp6', /^Udp6RcvbufErrors\s+(\d+)/m],
  ]) {
    try {
      total += Number(pattern.exec(readFileSync(file, 'utf8'))?.[1] ?? 0)
    } catch {
      // not Linux
    }
  }
  return total
}

const only = process.env.BENCH_ONLY
const rounds = Number(process.env.PROBE_ROUNDS ?? 2)
const pings = Number(process.env.PROBE_PINGS ?? 200)
const variants = JSON.parse(process.env.PROBE_VARIANTS ?? '[{"name":"default"}]')
const log = (...parts) => console.error(`[probe ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s]`, ...parts)
const started = performance.now()
const cleanups = []
const table = []

for (const [platform, start] of [
  ['wrtc', startWrtc],
  ['chromium', startChromium],
]) {
  if (only && only !== platform) continue
  try {
    const driver = await start(cleanups, log)
    for (let round = 1; round <= rounds; round++) {
      for (const { name, ...variant } of variants) {
        for (const key of Object.keys(tuning)) delete tuning[key]
        Object.assign(tuning, variant)
        const pair = await driver.connect()
        if (process.env.PROBE_RAW_LANE) {
          // Pings on the raw channel behind its own queued bulk, then on a second raw channel beside it.
          try {
            await pair.a.run('rawThroughput', { durationMs: 1500 })
            for (const op of ['rawPing', 'rawLanePing', 'rawPing', 'rawLanePing']) {
              const r = await pair.a.run(op, { pings: 100, intervalMs: 15, queuedBytes: 1024 * 1024 })
              log(
                `${platform} r${round} ${op}: p50/p99 ${r.p50.toFixed(1)}/${r.p99.toFixed(1)} ms behind ${(r.queuedBytesMedian / 1024).toFixed(0)} KiB at ${r.loadMBps.toFixed(1)} MB/s`,
              )
            }
          } finally {
            await pair.close().catch(() => {})
          }
          continue
        }
        try {
          await pair.a.run('muxBytesThroughput', { durationMs: 1500 })
          const dropsBefore = udpReceiveDrops()
          const pids = [pair.a.child?.pid, pair.b.child?.pid]
          const sideDropsBefore = pids.map(socketDrops)
          const ping = await pair.a.run('muxPing', { pings, intervalMs: 15, load: true })
          const pingDrops = udpReceiveDrops() - dropsBefore
          const sideDrops = pids.map((pid, i) => socketDrops(pid) - sideDropsBefore[i])
          const mux = await pair.a.run('muxBytesThroughput', { durationMs: 2500 })
          const muxDrops = udpReceiveDrops() - dropsBefore - pingDrops
          const raw = await pair.a.run('rawThroughput', { durationMs: 2500 })
          const rawDrops = udpReceiveDrops() - dropsBefore - pingDrops - muxDrops
          const row = {
            platform,
            round,
            name,
            p50: ping.p50,
            p99: ping.p99,
            max: ping.max,
            loadMBps: ping.loadMBps,
            linkKiB: (ping.queuedBytesMedian ?? 0) / 1024,
            muxMBps: mux.mbps,
            rawMBps: raw.mbps,
            gapMs: ping.loadMaxGapMs,
            forwardP50: ping.forward?.p50,
            forwardP99: ping.forward?.p99,
            drops: [pingDrops, muxDrops, rawDrops],
            pingSideDrops: sideDrops,
          }
          table.push(row)
          log(
            `${platform} r${round} ${name}: ping p50/p99/max ${row.p50.toFixed(1)}/${row.p99.toFixed(1)}/${row.max.toFixed(1)} ms beside ${row.loadMBps.toFixed(1)} MB/s ` +
              `(a→b p50/p99 ${row.forwardP50?.toFixed(1)}/${row.forwardP99?.toFixed(1)} ms, link buffered ${row.linkKiB.toFixed(0)} KiB, gap ${row.gapMs?.toFixed(0)} ms); bytes ${row.muxMBps.toFixed(1)} raw ${row.rawMBps.toFixed(1)} MB/s = ${(row.muxMBps / row.rawMBps).toFixed(2)}; UDP drops ping/bytes/raw ${row.drops.join('/')} (ping at a/b sockets ${row.pingSideDrops.join('/')})`,
          )
        } catch (error) {
          log(`${platform} r${round} ${name}: failed: ${String(error?.message ?? error).split('\n')[0]}`)
        } finally {
          await pair.close().catch(() => {})
        }
      }
    }
  } finally {
    for (const fn of cleanups.splice(0).reverse())
      await Promise.resolve()
        .then(fn)
        .catch(() => {})
  }
}
console.log(JSON.stringify(table))
