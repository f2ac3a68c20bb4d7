/**
 * Starting and driving the two sides of a benchmark link. A driver has `run(op, args)` (a measurement
 * of bench/peer/operations.ts, on that side), `memStart()` / `memStop()` (that side's memory), and is stopped by
 * the cleanup functions pushed onto `cleanups` (child processes by pid, the browser, the Vite server).
 */
import { IpcProcess, nodeArgsFrom } from './ipc-process.mjs'
import { createServer as createNetServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { build, createServer } from 'vite'
import { CHROMIUM_ARGS, findChromium } from '../scripts/chromium-path.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
/**
 * BENCH_TUNING (JSON, diagnosis only): `{"muxConfig": {...}, "linkHighWaterMarkBytes": n}` overrides the
 * library's defaults on both sides. The runner does not write results/latest.json when it is set.
 */
export const tuning = process.env.BENCH_TUNING ? JSON.parse(process.env.BENCH_TUNING) : undefined
const bundleDir = join(root, 'node_modules/.cache/meshscope-bench')

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

// ── wrtc ↔ wrtc: two Node processes ──────────────────────────────────────────

/** The Node peer as one ES module (bench/ and src/ compiled by Vite's SSR build), so peer processes run plain JS. */
export async function buildNodePeer() {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    build: {
      ssr: join(root, 'bench/node-peer.ts'),
      outDir: bundleDir,
      emptyOutDir: true,
      minify: false,
      target: 'node20',
      rolldownOptions: { output: { entryFileNames: 'node-peer.mjs', format: 'es' } },
    },
  })
  return join(bundleDir, 'node-peer.mjs')
}

/** One wrtc Node peer process (bench/node-peer.ts) driven over IPC; signals go to `other`. */
export class NodePeerProcess extends IpcProcess {
  static launch(bundle) {
    // BENCH_NODE_ARGS adds flags for diagnosis.
    return NodePeerProcess.start(bundle, { name: 'node peer', relay: 'signal', execArgv: ['--expose-gc', ...nodeArgsFrom('BENCH_NODE_ARGS')] })
  }

  run(op, args) {
    return this.call('run', { op, args })
  }
  memStart(options = {}) {
    return this.call('memStart', options)
  }
  memStop() {
    return this.call('memStop')
  }
  /** Why this side's link died, if it did. */
  failure() {
    return this.call('failure')
  }
}

/** Builds the Node peer once; `connect()` starts two peer processes and connects them (a is the initiator). */
export async function startWrtc(cleanups, log) {
  const bundle = await buildNodePeer()
  return {
    async connect() {
      const a = await NodePeerProcess.launch(bundle)
      cleanups.push(() => a.stop())
      const b = await NodePeerProcess.launch(bundle)
      cleanups.push(() => b.stop())
      a.other = b
      b.other = a
      const connectStarted = performance.now()
      await Promise.all([b.call('connect', { initiator: false, tuning }), a.call('connect', { initiator: true, tuning })])
      log(`wrtc: peer processes ${a.child.pid} (initiator) and ${b.child.pid} connected in ${(performance.now() - connectStarted).toFixed(0)} ms`)
      return { a, b, close: () => Promise.all([a.stop(), b.stop()]) }
    },
  }
}

// ── Chromium tab ↔ tab ───────────────────────────────────────────────────────

/** One tab; memory through CDP: JS heap used + ArrayBuffer backing stores, idle after a forced GC. */
export class TabPeer {
  #timer
  #idle = 0
  #peak = 0
  #samples = 0
  #sampling = Promise.resolve()

  constructor(page, cdp) {
    this.page = page
    this.cdp = cdp
  }

  async #usage() {
    const usage = await this.cdp.send('Runtime.getHeapUsage')
    return usage.usedSize + (usage.backingStorageSize ?? 0)
  }

  run(op, args) {
    return this.page.evaluate(([name, values]) => globalThis.bench.run(name, values), [op, args])
  }

  failure() {
    return this.page.evaluate(() => globalThis.bench.failure())
  }

  /** A sample every 50 ms; with `gcEveryMs`, a forced GC before each sample instead (what is retained). */
  async memStart({ gcEveryMs } = {}) {
    await this.cdp.send('HeapProfiler.collectGarbage')
    await new Promise((resolve) => setTimeout(resolve, 100))
    await this.cdp.send('HeapProfiler.collectGarbage')
    this.#idle = await this.#usage()
    this.#peak = this.#idle
    this.#samples = 0
    let busy = false
    this.#timer = setInterval(() => {
      if (busy) return
      busy = true
      this.#sampling = (async () => {
        if (gcEveryMs) {
          await this.cdp.send('HeapProfiler.collectGarbage')
          await new Promise((resolve) => setTimeout(resolve, 20)) // backing stores are freed just after the GC
        }
        this.#peak = Math.max(this.#peak, await this.#usage())
        this.#samples++
      })()
        .catch(() => {})
        .finally(() => (busy = false))
    }, gcEveryMs ?? 50)
    return this.#idle
  }

  async memStop() {
    clearInterval(this.#timer)
    await this.#sampling
    this.#peak = Math.max(this.#peak, await this.#usage())
    return { idleBytes: this.#idle, peakBytes: this.#peak, samples: this.#samples }
  }
}

/**
 * Vite serving bench/page from source and the system Chromium; `connect()` opens two tabs in a fresh
 * browser context and connects them (a is the initiator).
 */
export async function startChromium(cleanups, log) {
  const server = await createServer({
    configFile: false,
    root: join(root, 'bench/page'),
    logLevel: 'warn',
    server: {
      host: '127.0.0.1',
      port: await freePort(),
      strictPort: true,
      hmr: false,
      fs: { allow: [root] },
      // Cross-origin isolation gives the tabs a 5 µs performance.now() instead of 100 µs: without it a
      // round trip of about half a millisecond is measured in steps of a fifth of itself.
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    },
    optimizeDeps: { noDiscovery: true },
  })
  await server.listen()
  cleanups.push(() => server.close())
  const url = server.resolvedUrls.local[0]

  const executablePath = findChromium()
  if (!executablePath) throw new Error('no Chromium: run `node scripts/ensure-chromium.mjs` or set CHROMIUM_PATH')
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true })
  cleanups.push(() => browser.close())
  return {
    version: browser.version(),
    async connect() {
      const context = await browser.newContext()
      const tabs = []
      for (const role of ['a', 'b']) {
        const page = await context.newPage()
        page.on('pageerror', (error) => log(`tab ${role}: page error: ${error.message}`))
        page.on('console', (message) => message.type() === 'error' && log(`tab ${role}: ${message.text()}`))
        await page.goto(url)
        await page.waitForFunction(() => 'bench' in globalThis)
        tabs.push(new TabPeer(page, await context.newCDPSession(page)))
      }
      const [a, b] = tabs
      const visibility = await Promise.all(
        tabs.map((tab) => tab.page.evaluate(() => `${document.visibilityState}${globalThis.crossOriginIsolated ? ', cross-origin isolated' : ''}`)),
      )
      const connectStarted = performance.now()
      await b.page.evaluate((options) => globalThis.bench.start(false, options), tuning)
      await a.page.evaluate((options) => globalThis.bench.start(true, options), tuning)
      await Promise.all(tabs.map((tab) => tab.page.evaluate(() => globalThis.bench.ready())))
      log(`chromium ${browser.version()}: two tabs (${visibility.join(', ')}) at ${url} connected in ${(performance.now() - connectStarted).toFixed(0)} ms`)
      return {
        a,
        b,
        async close() {
          await Promise.all(tabs.map((tab) => tab.page.evaluate(() => globalThis.bench.close()).catch(() => {})))
          await context.close()
        },
      }
    },
  }
}
