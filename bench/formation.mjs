#!/usr/bin/env node
/**
 * `npm run bench:formation`: how fast a mesh forms. Every figure is a median over ROUNDS rounds, each
 * with a fresh room and fresh processes / tabs (see bench/README.md):
 *
 * - formation_ms.{node_6,node_12,tabs_4_node_2}: from the moment every peer is told to join (Node
 *   processes started and waiting, pages loaded) until every peer has every other linked, its session
 *   ready for messages;
 * - join_first_message_ms.{node,chromium}: one peer waits in a room; from the second peer's `Mesh.join`
 *   call until the first has received a message from it;
 * - raw_join_first_message_ms.{node,chromium}: the floor — two bare RTCPeerConnections with one
 *   pre-negotiated data channel, signals relayed over IPC (Node) or a BroadcastChannel (tabs), from
 *   creating the connection until a first message has crossed.
 *
 * `runFormationBench()` is what bench/run.mjs calls; run alone, this file prints the figures as JSON.
 * Environment: BENCH_ONLY=wrtc|chromium, FORMATION_ROUNDS (default 3), FORMATION_KEYS (diagnosis: a
 * comma-separated list of figures to measure, e.g. `formation_ms.node_12`; the others are null),
 * FORMATION_NODE_ARGS (diagnosis: flags for the Node processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`),
 * FORMATION_TRACE=1 (diagnosis: log each join → first message round's stages on both sides, stage-trace.ts).
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { build, createServer } from 'vite'
import { CHROMIUM_ARGS, findChromium } from '../scripts/chromium-path.mjs'
import { IpcProcess, nodeArgsFrom } from './ipc-process.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const bundleDir = join(root, 'node_modules/.cache/meshscope-bench-formation')
/** No single measurement may take longer: a mesh that has not formed by then is reported as a failure. */
const STEP_TIMEOUT_MS = 60_000

const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const round1 = (v) => (v === null ? null : Math.round(v * 10) / 10)
const withTimeout = (promise, what) => {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer))
}

export async function buildNodeBundle() {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    build: {
      ssr: join(root, 'bench/formation/node.ts'),
      outDir: bundleDir,
      emptyOutDir: true,
      minify: false,
      target: 'node20',
      rolldownOptions: { output: { entryFileNames: 'formation-node.mjs', format: 'es' } },
    },
  })
  return join(bundleDir, 'formation-node.mjs')
}

/** One process of bench/formation/node.ts (a peer or the signaling server), driven over IPC; raw signals go to `other`. */
export function startFormationProcess(bundle) {
  // FORMATION_NODE_ARGS adds flags for diagnosis.
  return IpcProcess.start(bundle, { name: 'formation peer', relay: 'rawSignal', execArgv: nodeArgsFrom('FORMATION_NODE_ARGS') })
}

/** A fresh signaling server process; every measurement gets its own, so no limit carries over between them. */
export async function startServer(bundle) {
  const server = await startFormationProcess(bundle)
  const url = await server.call('serve')
  return { server, url }
}

let roomCounter = 0
const freshRoom = () => `formation-${process.pid}-${roomCounter++}`

/** Node peers and tabs join one room together; resolves with the time until all formed, and what the server refused. */
async function formOnce({ bundle, nodes, tabs = 0, browser, pageUrl, log }) {
  const { server, url } = await startServer(bundle)
  const peers = []
  let context
  try {
    for (let i = 0; i < nodes; i++) peers.push(await startFormationProcess(bundle))
    const pages = []
    if (tabs > 0) {
      context = await browser.newContext()
      for (let i = 0; i < tabs; i++) {
        const page = await context.newPage()
        page.on('pageerror', (error) => log(`tab ${i}: page error: ${error.message}`))
        await page.goto(pageUrl)
        await page.waitForFunction(() => 'formation' in globalThis)
        pages.push(page)
      }
    }
    const room = freshRoom()
    const members = nodes + tabs
    const startedAt = performance.now()
    const startedAtAbsolute = performance.timeOrigin + startedAt
    const reports = await withTimeout(
      Promise.all([
        ...peers.map((peer) => peer.call('form', { url, room, members })),
        ...pages.map((page) => page.evaluate(([u, r, m]) => globalThis.formation.form(u, r, m), [url, room, members])),
      ]),
      `${members} peers forming`,
    )
    const ms = performance.now() - startedAt
    const refusals = {}
    let reconnects = 0
    for (const report of reports) {
      reconnects += report.reconnects
      for (const [code, count] of Object.entries(report.refusals)) refusals[code] = (refusals[code] ?? 0) + count
      for (const [reason, count] of Object.entries(report.leaves)) refusals[`leave:${reason}`] = (refusals[`leave:${reason}`] ?? 0) + count
    }
    // Diagnosis: how the time splits between being welcomed by the server and forming the links.
    const since = (at) => (at - startedAtAbsolute).toFixed(0)
    const welcomed = reports.map((report) => report.welcomedAt).sort((a, b) => a - b)
    const formed = reports.map((report) => report.formedAt).sort((a, b) => a - b)
    const cpuMs = reports.reduce((sum, report) => sum + (report.cpuMs ?? 0), 0)
    log(
      `  ${members} peers: welcomed at +${welcomed.map(since).join(', ')} ms; formed at +${formed.map(since).join(', ')} ms; CPU of the Node peers ${cpuMs.toFixed(0)} ms`,
    )
    return { ms, refusals, reconnects }
  } finally {
    await Promise.all(peers.map((peer) => peer.stop()))
    await context?.close().catch(() => {})
    await server.stop()
  }
}

/** `count` tabs of the formation page in `context`, each loaded and its `formation` API ready. */
async function openFormationPages(context, pageUrl, count) {
  const pages = []
  for (let i = 0; i < count; i++) {
    const page = await context.newPage()
    await page.goto(pageUrl)
    await page.waitForFunction(() => 'formation' in globalThis)
    pages.push(page)
  }
  return pages
}

/** The stages of join → first message, logged per round on both sides (FORMATION_TRACE=1; stage-trace.ts). */
const trace = process.env.FORMATION_TRACE === '1'
const formatStages = (stamps, origin) =>
  Object.entries(stamps)
    .filter(([, at]) => Number.isFinite(at))
    .sort((a, b) => a[1] - b[1])
    .map(([stage, at]) => `${stage} +${(at - origin).toFixed(1)}`)
    .join(', ')

/** One peer waits, a second joins and sends; the time from its join call until the first received it. */
async function firstMessageOnce({ bundle, browser, pageUrl, log }) {
  const { server, url } = await startServer(bundle)
  const room = freshRoom()
  let context
  const stops = []
  try {
    let waiter
    let joiner
    if (browser) {
      context = await browser.newContext()
      const [a, b] = await openFormationPages(context, pageUrl, 2)
      waiter = {
        wait: () => a.evaluate(([u, r, t]) => globalThis.formation.waitFirst(u, r, t), [url, room, trace]),
        receivedAt: () => a.evaluate(() => globalThis.formation.firstReceivedAt()),
        stages: () => a.evaluate(() => globalThis.formation.stages()),
      }
      joiner = {
        send: () => b.evaluate(([u, r, t]) => globalThis.formation.sendFirst(u, r, t), [url, room, trace]),
        trace: () => b.evaluate(() => globalThis.formation.firstMessageTrace()),
        stages: () => b.evaluate(() => globalThis.formation.stages()),
      }
      stops.push(() => Promise.all([a, b].map((page) => page.evaluate(() => globalThis.formation.close()).catch(() => {}))))
    } else {
      const [a, b] = [await startFormationProcess(bundle), await startFormationProcess(bundle)]
      stops.push(() => Promise.all([a.stop(), b.stop()]))
      waiter = { wait: () => a.call('waitFirst', { url, room, trace }), receivedAt: () => a.call('firstReceivedAt'), stages: () => a.call('stages') }
      joiner = { send: () => b.call('sendFirst', { url, room, trace }), trace: () => b.call('firstMessageTrace'), stages: () => b.call('stages') }
    }
    await waiter.wait()
    const sentAt = await joiner.send()
    const receivedAt = await withTimeout(waiter.receivedAt(), 'first message')
    const joined = await joiner.trace()
    const since = (at) => (at === undefined ? '?' : (at - sentAt).toFixed(1))
    log(`  joiner welcomed at +${since(joined.welcomedAt)} ms, linked at +${since(joined.linkedAt)} ms, message received at +${since(receivedAt)} ms`)
    if (trace) {
      log(`    joiner: ${formatStages({ ...(await joiner.stages()), welcomed: joined.welcomedAt }, sentAt)}`)
      log(`    waiter: ${formatStages({ ...(await waiter.stages()), 'message in': receivedAt }, sentAt)}`)
    }
    return receivedAt - sentAt
  } finally {
    for (const stop of stops) await stop()
    await context?.close().catch(() => {})
    await server.stop()
  }
}

/** Two bare connections: from creating the initiator's connection until its first message arrived. */
async function rawFirstMessageOnce({ bundle, browser, pageUrl }) {
  let context
  const stops = []
  try {
    let answerer
    let initiator
    if (browser) {
      context = await browser.newContext()
      const [a, b] = await openFormationPages(context, pageUrl, 2)
      answerer = {
        start: () => b.evaluate(() => globalThis.formation.rawStart(false)),
        receivedAt: () => b.evaluate(() => globalThis.formation.rawReceivedAt()),
      }
      initiator = { start: () => a.evaluate(() => globalThis.formation.rawStart(true)) }
      stops.push(() => Promise.all([a, b].map((page) => page.evaluate(() => globalThis.formation.close()).catch(() => {}))))
    } else {
      const [a, b] = [await startFormationProcess(bundle), await startFormationProcess(bundle)]
      a.other = b
      b.other = a
      stops.push(() => Promise.all([a.stop(), b.stop()]))
      answerer = { start: () => b.call('rawStart', { initiator: false }), receivedAt: () => b.call('rawReceivedAt') }
      initiator = { start: () => a.call('rawStart', { initiator: true }) }
    }
    await answerer.start()
    const startedAt = await initiator.start()
    const receivedAt = await withTimeout(answerer.receivedAt(), 'raw first message')
    return receivedAt - startedAt
  } finally {
    for (const stop of stops) await stop()
    await context?.close().catch(() => {})
  }
}

export async function startPages(cleanups) {
  const server = await createServer({
    configFile: false,
    root: join(root, 'bench/formation'),
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, hmr: false, fs: { allow: [root] } },
    optimizeDeps: { noDiscovery: true },
  })
  await server.listen()
  cleanups.push(() => server.close())
  const executablePath = findChromium()
  if (!executablePath) throw new Error('no Chromium: run `node scripts/ensure-chromium.mjs` or set CHROMIUM_PATH')
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true })
  cleanups.push(() => browser.close())
  return { browser, pageUrl: `${server.resolvedUrls.local[0]}page.html` }
}

/**
 * Runs every formation measurement (`only`: 'wrtc' or 'chromium' for one side) and returns
 * `{ formation_ms, join_first_message_ms, raw_join_first_message_ms, rounds, refusals }`; a figure
 * that could not be measured is null, with the reason in `failures`.
 */
export async function runFormationBench({ rounds = 3, only, keys, log = (...parts) => console.error('[formation]', ...parts) } = {}) {
  const cleanups = []
  const result = {
    formation_ms: { node_6: null, node_12: null, tabs_4_node_2: null },
    join_first_message_ms: { node: null, chromium: null },
    raw_join_first_message_ms: { node: null, chromium: null },
    rounds: {},
    refusals: {},
    failures: {},
  }
  const measure = async (key, once) => {
    if (keys && !keys.includes(key)) return null
    const samples = []
    try {
      for (let round = 0; round < rounds; round++) {
        const sample = await once()
        const ms = typeof sample === 'number' ? sample : sample.ms
        if (typeof sample === 'object') {
          for (const [code, count] of Object.entries(sample.refusals)) result.refusals[key] = `${result.refusals[key] ?? ''}${code}×${count} `
          if (sample.reconnects) result.refusals[key] = `${result.refusals[key] ?? ''}reconnects×${sample.reconnects} `
        }
        samples.push(round1(ms))
        log(
          `${key} round ${round + 1}: ${ms.toFixed(1)} ms${typeof sample === 'object' && Object.keys(sample.refusals).length ? ` refusals ${JSON.stringify(sample.refusals)}` : ''}`,
        )
      }
    } catch (error) {
      result.failures[key] = String(error?.message ?? error)
      log(`${key} failed: ${result.failures[key]}`)
    }
    result.rounds[key] = samples
    return round1(median(samples))
  }
  try {
    const bundle = await buildNodeBundle()
    if (only !== 'chromium') {
      result.raw_join_first_message_ms.node = await measure('raw_join_first_message_ms.node', () => rawFirstMessageOnce({ bundle }))
      result.join_first_message_ms.node = await measure('join_first_message_ms.node', () => firstMessageOnce({ bundle, log }))
      result.formation_ms.node_6 = await measure('formation_ms.node_6', () => formOnce({ bundle, nodes: 6, log }))
      result.formation_ms.node_12 = await measure('formation_ms.node_12', () => formOnce({ bundle, nodes: 12, log }))
    }
    if (only !== 'wrtc' && (!keys || keys.some((key) => key.endsWith('chromium') || key.includes('tabs')))) {
      const { browser, pageUrl } = await startPages(cleanups)
      result.raw_join_first_message_ms.chromium = await measure('raw_join_first_message_ms.chromium', () => rawFirstMessageOnce({ bundle, browser, pageUrl }))
      result.join_first_message_ms.chromium = await measure('join_first_message_ms.chromium', () => firstMessageOnce({ bundle, browser, pageUrl, log }))
      result.formation_ms.tabs_4_node_2 = await measure('formation_ms.tabs_4_node_2', () => formOnce({ bundle, nodes: 2, tabs: 4, browser, pageUrl, log }))
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  }
  return result
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rounds = Number(process.env.FORMATION_ROUNDS ?? 3)
  const keys = process.env.FORMATION_KEYS?.split(',').filter(Boolean)
  const result = await runFormationBench({ rounds, only: process.env.BENCH_ONLY, keys })
  console.log(JSON.stringify(result, null, 2))
  process.exit(0)
}
