#!/usr/bin/env node
/**
 * `npm run bench:mirror`: observable-map updates between a Node peer and a Chromium tab (issue 15 §5),
 * in both directions, through a real signaling server (the processes and page of bench/formation/).
 * One Node peer and one tab join a fresh room; the owner applies WARMUP + COUNT `set`s one at a time,
 * each after a `mesh.call` to the mirror's peer on the same link (the baseline, interleaved), and waits
 * until the mirror acknowledged it. See bench/README.md, "Mirror updates, tab ↔ Node":
 *
 * - mirror_update_tab_node_{p50,p99}_ms: owner's `set` → the mirror's value changed, by the shared
 *   clock (`performance.timeOrigin + performance.now()`, comparable across processes and tabs);
 * - mirror_call_forward_tab_node_p50_ms: `mesh.call` → the handler ran on the other side (one way);
 * - mirror_update_rtt_tab_node_p50_ms / mirror_call_rtt_tab_node_p50_ms: `set` → acknowledgement back,
 *   and the `mesh.call` round trip.
 *
 * Each is `{ node_to_tab, tab_to_node }`: the Node peer owns the map and the tab mirrors it, and the reverse.
 * `runMirrorBench()` is what bench/run.mjs calls; run alone, this file prints the figures as JSON.
 * Environment: MIRROR_COUNT (default 300), MIRROR_WARMUP (default 50).
 */
import { fileURLToPath } from 'node:url'
import { buildNodeBundle, startFormationProcess, startPages, startServer } from './formation.mjs'

/** No direction may take longer: a mirror that stalls is reported as a failure. */
const RUN_TIMEOUT_MS = 60_000

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]
const round2 = (v) => Math.round(v * 100) / 100
const withTimeout = (promise, what) => {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer))
}

/** p50 and p99 of each sample list. */
function summarize(samples) {
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => {
      const sorted = [...values].sort((a, b) => a - b)
      return [name, { p50: round2(percentile(sorted, 50)), p99: round2(percentile(sorted, 99)) }]
    }),
  )
}

let roomCounter = 0

/** One direction: `ownerIsNode` — the Node peer owns the map and the tab mirrors it, else the reverse. */
async function measureDirection({ bundle, browser, pageUrl, ownerIsNode, count, warmup, log }) {
  const { server, url } = await startServer(bundle)
  const room = `mirror-${process.pid}-${roomCounter++}`
  const node = await startFormationProcess(bundle)
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    page.on('pageerror', (error) => log(`tab: page error: ${error.message}`))
    await page.goto(pageUrl)
    await page.waitForFunction(() => 'formation' in globalThis)
    const tab = {
      ownerJoin: () => page.evaluate(([u, r]) => globalThis.formation.mirrorOwnerJoin(u, r), [url, room]),
      ownerRun: () => page.evaluate(([c, w]) => globalThis.formation.mirrorOwnerRun(c, w), [count, warmup]),
      mirrorJoin: () => page.evaluate(([u, r]) => globalThis.formation.mirrorJoin(u, r), [url, room]),
      close: () => page.evaluate(() => globalThis.formation.close()).catch(() => {}),
    }
    const nodePeer = {
      ownerJoin: () => node.call('mirrorOwnerJoin', { url, room }),
      ownerRun: () => node.call('mirrorOwnerRun', { count, warmup }),
      mirrorJoin: () => node.call('mirrorJoin', { url, room }),
    }
    const [owner, mirror] = ownerIsNode ? [nodePeer, tab] : [tab, nodePeer]
    // The owner is in the room and offering subscriptions before the mirror joins and subscribes.
    await withTimeout(owner.ownerJoin(), 'owner joining')
    await withTimeout(mirror.mirrorJoin(), 'mirror joining and completing')
    const startedAt = performance.now()
    const samples = await withTimeout(owner.ownerRun(), `${warmup + count} updates`)
    log(`  ${ownerIsNode ? 'Node → tab' : 'tab → Node'}: ${warmup + count} steps in ${(performance.now() - startedAt).toFixed(0)} ms`)
    await tab.close()
    return summarize(samples)
  } finally {
    await node.stop()
    await context.close().catch(() => {})
    await server.stop()
  }
}

/**
 * Measures both directions and returns the latest.json keys (see the file comment); a direction that
 * could not be measured leaves its figures null, with the reason in `failures`.
 */
export async function runMirrorBench({ count = 300, warmup = 50, log = (...parts) => console.error('[mirror]', ...parts) } = {}) {
  const figures = {
    mirror_update_tab_node_p50_ms: { node_to_tab: null, tab_to_node: null },
    mirror_update_tab_node_p99_ms: { node_to_tab: null, tab_to_node: null },
    mirror_call_forward_tab_node_p50_ms: { node_to_tab: null, tab_to_node: null },
    mirror_update_rtt_tab_node_p50_ms: { node_to_tab: null, tab_to_node: null },
    mirror_call_rtt_tab_node_p50_ms: { node_to_tab: null, tab_to_node: null },
  }
  const failures = {}
  const cleanups = []
  try {
    const bundle = await buildNodeBundle()
    const { browser, pageUrl } = await startPages(cleanups)
    for (const [direction, ownerIsNode] of [
      ['node_to_tab', true],
      ['tab_to_node', false],
    ]) {
      try {
        const s = await measureDirection({ bundle, browser, pageUrl, ownerIsNode, count, warmup, log })
        figures.mirror_update_tab_node_p50_ms[direction] = s.forward.p50
        figures.mirror_update_tab_node_p99_ms[direction] = s.forward.p99
        figures.mirror_call_forward_tab_node_p50_ms[direction] = s.callForward.p50
        figures.mirror_update_rtt_tab_node_p50_ms[direction] = s.update.p50
        figures.mirror_call_rtt_tab_node_p50_ms[direction] = s.callRtt.p50
        log(
          `${direction}: mutation → mirror p50 ${s.forward.p50} / p99 ${s.forward.p99} ms; call one way p50 ${s.callForward.p50} ms; ` +
            `to the ack p50 ${s.update.p50} ms; call round trip p50 ${s.callRtt.p50} / p99 ${s.callRtt.p99} ms`,
        )
      } catch (error) {
        failures[direction] = String(error?.message ?? error)
        log(`${direction} failed: ${failures[direction]}`)
      }
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  }
  return { ...figures, failures }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runMirrorBench({ count: Number(process.env.MIRROR_COUNT ?? 300), warmup: Number(process.env.MIRROR_WARMUP ?? 50) })
  console.log(JSON.stringify(result, null, 2))
  process.exit(Object.keys(result.failures).length > 0 ? 1 : 0)
}
