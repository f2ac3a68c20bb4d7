/**
 * `npm run sim -- [options]`: runs the SCAMP experiments (sim/experiments.ts) on the real
 * src/gossip code and prints a table, or JSON with --json. Progress goes to stderr.
 */
import type { ScampConfig } from '../src/gossip/index.js'
import { runChurn, runStatic, type ChurnResult, type StaticResult } from './experiments.js'

const HELP = `usage: npm run sim -- [options]

static experiment (default): nodes join through random contacts, then --fail of them fail and
floods from survivors measure reliability.
  --nodes N[,N…]     group sizes (default 1000)
  --c C[,C…]         SCAMP's c (default 1)
  --seeds S          seeds per configuration, --seed, --seed+1, … (default 1)
  --seed K           first seed (default 1)
  --fail F           fraction of nodes failed before the floods (default 0.5)
  --broadcasts B     floods per seed (default 10)
  --indirection H    indirection walk length (default: the protocol default)
  --entry first      every node subscribes through the first node (default: a random member)
churn experiment (--churn): heartbeats and leases on, nodes replaced over simulated time.
  --duration-min M   churn duration (default 60)
  --replace R        fraction of nodes replaced over the duration (default 0.1)
  --crash-share X    share of departures that are crashes, the rest leave (default 0.5)
  --sample-min M     sampling period (default 5)
  --settle-min M     quiet time before the final partition check (default 2)
  --lease-min M      lease (default: the protocol default, 10)
  --heartbeat-s S    heartbeat interval (default: the protocol default, 10)
  --outside-contacts off   no contacts from outside the views (no signaling server): SCAMP alone
output
  --json             JSON: one object per configuration (an array when there are several)
`

type Args = Map<string, string | true>

const OPTIONS = new Set([
  'nodes',
  'c',
  'seeds',
  'seed',
  'fail',
  'broadcasts',
  'indirection',
  'entry',
  'churn',
  'duration-min',
  'replace',
  'crash-share',
  'sample-min',
  'settle-min',
  'lease-min',
  'heartbeat-s',
  'outside-contacts',
  'json',
  'help',
])

function parseArgs(argv: string[]): Args {
  const args: Args = new Map()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`)
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    if (!OPTIONS.has(name)) throw new Error(`unknown option --${name}`)
    if (inline !== undefined) args.set(name, inline)
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) args.set(name, argv[++i]!)
    else args.set(name, true)
  }
  return args
}

function numbers(args: Args, name: string, fallback: number[]): number[] {
  const value = args.get(name)
  if (value === undefined) return fallback
  if (value === true) throw new Error(`--${name} needs a value`)
  const list = value.split(',').map(Number)
  if (list.some((x) => !Number.isFinite(x))) throw new Error(`--${name}: not a number: ${value}`)
  return list
}

const one = (args: Args, name: string, fallback: number): number => numbers(args, name, [fallback])[0]!

const fixed = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '-')
const percent = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const sd = (xs: number[]): number => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)))

function summarizeStatic(results: StaticResult[]) {
  const first = results[0]!
  const means = results.map((r) => r.meanPartialView)
  const meanPartialView = mean(means)
  return {
    nodes: first.nodes,
    c: first.c,
    seeds: results.length,
    meanPartialView,
    meanPartialViewSd: sd(means),
    expectedPartialView: first.expectedPartialView,
    lnEstimate: first.lnEstimate,
    deviation: meanPartialView / first.expectedPartialView - 1,
    minPartialView: Math.min(...results.map((r) => r.minPartialView)),
    maxPartialView: Math.max(...results.map((r) => r.maxPartialView)),
    emptyPartialViews: results.reduce((a, r) => a + r.emptyPartialViews, 0),
    meanInView: mean(results.map((r) => r.meanInView)),
    fail: first.fail,
    reliability: mean(results.map((r) => r.reliability)),
    reliabilityMin: Math.min(...results.map((r) => r.reliabilityMin)),
    reliabilityMedian: median(results.flatMap((r) => r.reaches)),
    messagesPerJoin: mean(results.map((r) => r.messagesPerJoin)),
    messagesPerBroadcast: mean(results.map((r) => r.messagesPerBroadcast)),
    subscriptionsExpired: results.reduce((a, r) => a + r.subscriptionsExpired, 0),
    mirrorMismatches: results.reduce((a, r) => a + r.mirrorMismatches, 0),
    elapsedSeconds: results.reduce((a, r) => a + r.elapsedMs, 0) / 1000,
    perSeed: results.map(({ seed, meanPartialView, minPartialView, maxPartialView, reliability, messagesPerJoin, messagesPerBroadcast }) => ({
      seed,
      meanPartialView,
      minPartialView,
      maxPartialView,
      reliability,
      messagesPerJoin,
      messagesPerBroadcast,
    })),
  }
}

export async function main(argv: string[]): Promise<number> {
  let args: Args
  try {
    args = parseArgs(argv)
    if (args.has('help')) {
      process.stdout.write(HELP)
      return 0
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${HELP}`)
    return 2
  }
  const json = args.has('json')
  const nodesList = numbers(args, 'nodes', [1000])
  const cList = numbers(args, 'c', [1])
  const seeds = one(args, 'seeds', 1)
  const firstSeed = one(args, 'seed', 1)
  const broadcasts = one(args, 'broadcasts', 10)
  const config: Partial<ScampConfig> = {}
  if (args.has('indirection')) config.indirectionHops = one(args, 'indirection', 3)
  if (args.has('lease-min')) config.leaseMs = Math.round(one(args, 'lease-min', 10) * 60_000)
  if (args.has('heartbeat-s')) config.heartbeatIntervalMs = Math.round(one(args, 'heartbeat-s', 10) * 1000)
  const progress = (text: string) => process.stderr.write(`${text}\n`)

  if (args.has('churn')) {
    const outputs: ChurnResult[] = []
    for (const nodes of nodesList) {
      for (const c of cList) {
        for (let s = 0; s < seeds; s++) {
          const seed = firstSeed + s
          const result = runChurn({
            nodes,
            c,
            seed,
            durationMs: one(args, 'duration-min', 60) * 60_000,
            replaceFraction: one(args, 'replace', 0.1),
            crashShare: one(args, 'crash-share', 0.5),
            sampleEveryMs: one(args, 'sample-min', 5) * 60_000,
            settleMs: one(args, 'settle-min', 2) * 60_000,
            broadcasts,
            outsideContacts: args.get('outside-contacts') !== 'off',
            config,
          })
          progress(`churn n=${nodes} c=${c} seed=${seed}: ${(result.elapsedMs / 1000).toFixed(1)} s`)
          outputs.push(result)
          if (!json) {
            process.stdout.write(
              `\nchurn: n=${nodes} c=${c} seed=${seed}, ${result.leaves} leaves + ${result.crashes} crashes replaced by ${result.joins} joins over ${result.durationMs / 60_000} min (minute 0 = after the initial joins)\n`,
            )
            const rows = result.samples.map((s, i) => [
              i === result.samples.length - 1 ? `${s.minute} (settled)` : String(s.minute),
              String(s.alive),
              fixed(s.meanPartialView),
              String(s.minPartialView),
              String(s.maxPartialView),
              fixed(s.expectedPartialView),
              percent(s.meanPartialView / s.expectedPartialView - 1),
              fixed(s.meanInView),
              String(s.emptyPartialViews),
              String(s.arcsToDead),
              String(s.components),
              String(s.unreached),
              fixed(s.messagesPerNodePerSecond),
            ])
            process.stdout.write(
              `${table(['minute', 'alive', 'mean pv', 'min', 'max', '(c+1)(H_n-1)', 'drift', 'mean in-view', 'empty pv', 'arcs to dead', 'SCCs', 'unreached', 'msgs/node/s'], rows)}\n`,
            )
            process.stdout.write(
              `at the end: mean pv ${fixed(result.meanPartialView)} vs ${fixed(result.expectedPartialView)} (${percent(result.deviation)}); most SCCs during the churn ${result.worstPartitions + 1}; after ${one(args, 'settle-min', 2)} quiet min: permanent partitions ${result.partitions}, flood reliability ${fixed(result.reliability, 4)}, unmirrored arcs ${result.mirrorMismatches}\n`,
            )
            process.stdout.write(
              `metrics: ${Object.entries(result.metrics)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}\n`,
            )
          }
        }
      }
    }
    if (json) process.stdout.write(`${JSON.stringify(outputs.length === 1 ? outputs[0] : outputs, null, 2)}\n`)
    return 0
  }

  const fail = one(args, 'fail', 0.5)
  const summaries = []
  for (const nodes of nodesList) {
    for (const c of cList) {
      const results: StaticResult[] = []
      for (let s = 0; s < seeds; s++) {
        const result = runStatic({ nodes, c, seed: firstSeed + s, fail, broadcasts, config, entry: args.get('entry') === 'first' ? 'first' : 'random' })
        progress(
          `n=${nodes} c=${c} seed=${firstSeed + s}: mean pv ${fixed(result.meanPartialView)}, reliability ${fixed(result.reliability, 4)}, ${(result.elapsedMs / 1000).toFixed(1)} s`,
        )
        results.push(result)
      }
      summaries.push(summarizeStatic(results))
    }
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2)}\n`)
    return 0
  }
  const rows = summaries.map((s) => [
    String(s.nodes),
    String(s.c),
    String(s.seeds),
    `${fixed(s.meanPartialView)} ±${fixed(s.meanPartialViewSd)}`,
    String(s.minPartialView),
    String(s.maxPartialView),
    fixed(s.lnEstimate),
    fixed(s.expectedPartialView),
    percent(s.deviation),
    String(s.emptyPartialViews),
    `${fixed(s.reliability, 4)} (median ${fixed(s.reliabilityMedian, 4)}, min ${fixed(s.reliabilityMin, 4)})`,
    fixed(s.messagesPerJoin, 1),
    fixed(s.messagesPerBroadcast, 0),
    String(s.subscriptionsExpired),
  ])
  process.stdout.write(
    `${table(['nodes', 'c', 'seeds', 'mean pv ±sd', 'min', 'max', '(c+1)ln n', '(c+1)(H_n-1)', 'vs H_n', 'empty pv', `reliability F=${fail}: mean of floods`, 'msgs/join', 'msgs/bcast', 'expired subs'], rows)}\n`,
  )
  return 0
}
