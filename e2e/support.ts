/**
 * E2E plumbing: a signaling server as a real child process (so it can be killed), the harness page
 * served by Vite from source, Chromium from the system, and Node peers as child processes over IPC.
 * Everything binds to 127.0.0.1 and is stopped by pid.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { createServer as createNetServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { createServer, type ViteDevServer } from 'vite'
import { meshscope } from '../src/plugin/vite.js'
// @ts-expect-error plain ESM helper shared with scripts/
import { CHROMIUM_ARGS, findChromium } from '../scripts/chromium-path.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The signaling server as a child process: `meshscope signal` from the built package. */
export class SignalingProcess {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  static async start(port: number): Promise<SignalingProcess> {
    const child = spawn(process.execPath, [`${root}bin/meshscope.js`, 'signal', '--port', String(port), '--host', '127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    await new Promise<void>((resolve, reject) => {
      let output = ''
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('listening on')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`signaling server exited with ${code} before listening: ${output}`)))
    })
    return new SignalingProcess(port, child)
  }

  /** SIGKILL: the server vanishes without closing anything, as a crash would. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGKILL')
    await exited
  }
}

/** Vite serving e2e/harness with `meshscope` aliased to the library's source. */
export async function startHarnessServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: ViteDevServer = await createServer({
    configFile: false,
    root: `${root}e2e/harness`,
    logLevel: 'warn',
    resolve: { alias: { meshscope: `${root}src/index.ts` } },
    plugins: [meshscope()],
    server: { host: '127.0.0.1', port: await freePort(), strictPort: true, hmr: false, fs: { allow: [root] } },
    optimizeDeps: { noDiscovery: true },
  })
  await server.listen()
  return { url: server.resolvedUrls!.local[0]!, close: () => server.close() }
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium() as string | undefined
  if (!executablePath) throw new Error('no Chromium: run `node scripts/ensure-chromium.mjs` or set CHROMIUM_PATH')
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true })
}

/** A tab with the harness page loaded (not joined). */
export async function openHarnessPage(browser: Browser | BrowserContext, harnessUrl: string): Promise<Page> {
  const page = await browser.newPage()
  page.on('pageerror', (error) => console.error(`[tab] page error: ${error.message}`))
  await page.goto(harnessUrl)
  await page.waitForFunction(() => 'harness' in globalThis)
  return page
}

/** In a harness page: the id stored in IndexedDB under `name`. */
export function storedIdentityId(page: Page, name: string): Promise<string> {
  return page.evaluate((identityName) => (globalThis as unknown as HarnessGlobal).harness.storedIdentityId(identityName), name)
}

/** A tab running the harness, joined to `room`. */
export class Tab {
  private constructor(
    readonly page: Page,
    readonly id: string,
  ) {}

  static async open(browser: Browser | BrowserContext, harnessUrl: string, signalingUrl: string, room: string, identityName?: string): Promise<Tab> {
    const page = await openHarnessPage(browser, harnessUrl)
    const id = await page.evaluate(
      ([signaling, joinRoom, name]) => (globalThis as unknown as HarnessGlobal).harness.join(signaling!, joinRoom!, name || undefined),
      [signalingUrl, room, identityName ?? ''],
    )
    return new Tab(page, id)
  }

  peers(): Promise<string[]> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.peers())
  }
  signalingState(): Promise<string> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.signalingState())
  }
  sendText(to: string, text: string): Promise<void> {
    return this.page.evaluate(([peer, message]) => (globalThis as unknown as HarnessGlobal).harness.sendText(peer!, message!), [to, text])
  }
  received(): Promise<Array<{ from: string; text: string }>> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.received())
  }
  leaves(): Promise<Array<{ id: string; reason: string }>> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.leaves())
  }
  hopIds(): Promise<string[]> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.hopIds())
  }
  threeStep(peerId: string): Promise<[number[], number]> {
    return this.page.evaluate((peer) => (globalThis as unknown as HarnessGlobal).harness.threeStep(peer), peerId)
  }
  search(peerId: string, query: string): Promise<{ count: number; rendered: { query: string; rows: string[] } | undefined }> {
    return this.page.evaluate(([peer, text]) => (globalThis as unknown as HarnessGlobal).harness.search(peer!, text!), [peerId, query])
  }
  askThroughReference(peerId: string, text: string): Promise<{ text: string; askedBy: string; from: string }> {
    return this.page.evaluate(([peer, question]) => (globalThis as unknown as HarnessGlobal).harness.askThroughReference(peer!, question!), [peerId, text])
  }
  callRemoteObject(peerId: string): Promise<{ sum: number; cancelled: string; abortedOnPeer: number }> {
    return this.page.evaluate((peer) => (globalThis as unknown as HarnessGlobal).harness.callRemoteObject(peer), peerId)
  }
  transfer(peerId: string, totalBytes: number): Promise<{ received: number; intact: boolean; inOrder: boolean; peerInOrder: boolean; ms: number }> {
    return this.page.evaluate(([peer, total]) => (globalThis as unknown as HarnessGlobal).harness.transfer(peer as string, total as number), [
      peerId,
      totalBytes,
    ] as const)
  }
}

/** A Chromium tab in a scamp room, driven through the harness. */
export class ScampTab {
  private constructor(
    readonly page: Page,
    readonly id: string,
  ) {}

  static async open(
    browser: Browser | BrowserContext,
    harnessUrl: string,
    signalingUrl: string,
    room: string,
    gossip: Record<string, number> = {},
  ): Promise<ScampTab> {
    const page = await openHarnessPage(browser, harnessUrl)
    const id = await page.evaluate(
      ([signaling, joinRoom, config]) =>
        (globalThis as unknown as HarnessGlobal).harness.joinScamp(signaling as string, joinRoom as string, config as Record<string, number>),
      [signalingUrl, room, gossip] as const,
    )
    return new ScampTab(page, id)
  }

  publish(text: string): Promise<string> {
    return this.page.evaluate((message) => (globalThis as unknown as HarnessGlobal).harness.publish(message), text)
  }
  received(): Promise<unknown[]> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.gossipTexts())
  }
  views(): Promise<ScampViews> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.views())
  }
  errors(): Promise<string[]> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.errors())
  }
}

/**
 * A child process driven over IPC ({ id, cmd, args } → { id, result } or { id, error }; see
 * e2e/fixtures/ipc.mjs), killable without a goodbye.
 */
class IpcChild {
  #nextRequest = 0
  #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()

  protected constructor(readonly child: ChildProcess) {
    child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      if (message.id === undefined) return
      const pending = this.#pending.get(message.id)
      this.#pending.delete(message.id)
      if (message.error !== undefined) pending?.reject(new Error(message.error))
      else pending?.resolve(message.result)
    })
    child.once('exit', () => {
      for (const pending of this.#pending.values()) pending.reject(new Error('the child process exited'))
      this.#pending.clear()
    })
  }

  call<T>(cmd: string, ...args: unknown[]): Promise<T> {
    const id = this.#nextRequest++
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.child.send({ id, cmd, args })
    })
  }

  /** SIGKILL: no goodbye, no closed connections — the others must notice through the links. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGKILL')
    await exited
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    await this.call('close').catch(() => {})
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))])
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }
}

/** Resolves with the id in the child's first message, { event: 'joined', id }. */
function joined(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    child.once('message', (message: { event?: string; id?: string }) =>
      message.event === 'joined' ? resolve(message.id!) : reject(new Error('unexpected first message')),
    )
    child.once('exit', (code) => reject(new Error(`the child process exited with ${code} before joining`)))
  })
}

/** A child process hosting several Node peers of a scamp room (killed together), driven over IPC. */
export class ScampNodeGroup extends IpcChild {
  static async start(signalingUrl: string, room: string, count: number, gossip: Record<string, number> = {}): Promise<ScampNodeGroup> {
    const child = fork(`${root}e2e/fixtures/scamp-peers.mjs`, [signalingUrl, room, String(count), JSON.stringify(gossip)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    await joined(child)
    return new ScampNodeGroup(child)
  }

  ids(): Promise<string[]> {
    return this.call('ids')
  }
  views(): Promise<ScampViews[]> {
    return this.call('views')
  }
  publish(index: number, text: string): Promise<string> {
    return this.call('publish', index, text)
  }
  received(): Promise<Array<{ id: string; texts: unknown[] }>> {
    return this.call('received')
  }
  errors(): Promise<Array<{ id: string; errors: string[] }>> {
    return this.call('errors')
  }
}

/** One request of a burst (e2e/harness requestBurst): answered by `member`, or failed with `code`. */
export interface RequestOutcome {
  requestId: string
  member?: string
  code?: string
}

/** A tab for the service-cluster tests: joined with any join options, driving requests and topics. */
export class ClusterTab {
  private constructor(
    readonly page: Page,
    readonly id: string,
  ) {}

  static async open(
    browser: Browser | BrowserContext,
    harnessUrl: string,
    signalingUrl: string,
    room: string,
    options: Record<string, unknown>,
  ): Promise<ClusterTab> {
    const page = await openHarnessPage(browser, harnessUrl)
    const id = await page.evaluate(
      ([signaling, joinRoom, joinOptions]) =>
        (globalThis as unknown as HarnessGlobal).harness.joinWith(signaling as string, joinRoom as string, joinOptions as Record<string, unknown>),
      [signalingUrl, room, options] as const,
    )
    return new ClusterTab(page, id)
  }

  directory(): Promise<{ clusters: Record<string, string[]>; topics: Record<string, string[]> }> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.directory())
  }
  subscribe(topic: string): Promise<void> {
    return this.page.evaluate((name) => (globalThis as unknown as HarnessGlobal).harness.subscribeTopic(name), topic)
  }
  events(): Promise<Array<{ topic: string; value: unknown; from: string }>> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.topicEvents())
  }
  publish(topic: string, value: unknown): Promise<void> {
    return this.page.evaluate(([name, event]) => (globalThis as unknown as HarnessGlobal).harness.publishTopic(name as string, event), [topic, value] as const)
  }
  requestBurst(cluster: string, burst: { prefix: string; count: number; concurrency: number; timeoutMs: number; workMs: number }): Promise<RequestOutcome[]> {
    return this.page.evaluate(([name, shape]) => (globalThis as unknown as HarnessGlobal).harness.requestBurst(name as string, shape as typeof burst), [
      cluster,
      burst,
    ] as const)
  }
}

/**
 * A Node peer serving the cluster `e2e.work` and subscribing to `e2e.news` (e2e/fixtures/cluster-peer.mjs),
 * in a child process (killable). `executions` lists every request it started, by request id, as
 * reported before the handler ran: it survives the process.
 */
export class ClusterNodePeer extends IpcChild {
  readonly executions: string[] = []

  private constructor(
    child: ChildProcess,
    readonly id: string,
  ) {
    super(child)
    child.on('message', (message: { event?: string; requestId?: string }) => {
      if (message.event === 'executed') this.executions.push(message.requestId!)
    })
  }

  static async start(signalingUrl: string, room: string, options: Record<string, unknown>): Promise<ClusterNodePeer> {
    const child = fork(`${root}e2e/fixtures/cluster-peer.mjs`, [signalingUrl, room, JSON.stringify(options)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    return new ClusterNodePeer(child, await joined(child))
  }

  directory(): Promise<{ clusters: Record<string, string[]>; topics: Record<string, string[]> }> {
    return this.call('directory')
  }
  publish(topic: string, value: unknown): Promise<void> {
    return this.call('publish', topic, value)
  }
  events(): Promise<Array<{ value: unknown; from: string }>> {
    return this.call('events')
  }
}

/** A Node peer in a child process (killable), driven over IPC. */
export class NodePeer extends IpcChild {
  private constructor(
    child: ChildProcess,
    readonly id: string,
  ) {
    super(child)
  }

  /** `modules`: TypeScript files the peer imports through the meshscope loader before joining (hop blocks…). */
  static async start(signalingUrl: string, room: string, modules: string[] = []): Promise<NodePeer> {
    const execArgv = modules.length > 0 ? ['--import', `${root}dist/src/plugin/register.js`] : []
    const child = fork(`${root}e2e/fixtures/node-peer.mjs`, [signalingUrl, room, ...modules.map((module) => `${root}${module}`)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv,
    })
    return new NodePeer(child, await joined(child))
  }

  peers(): Promise<string[]> {
    return this.call('peers')
  }
  signalingState(): Promise<string> {
    return this.call('signalingState')
  }
  sendText(to: string, text: string): Promise<void> {
    return this.call('sendText', to, text)
  }
  received(): Promise<Array<{ from: string; text: string }>> {
    return this.call('received')
  }
  leaves(): Promise<Array<{ id: string; reason: string }>> {
    return this.call('leaves')
  }
}

/**
 * A Node peer owning an ObservableMap of scores and a 10 MB lazy blob (e2e/fixtures/objects-peer.mjs),
 * in a child process, driven over IPC.
 */
export class ObjectsNodePeer extends IpcChild {
  private constructor(
    child: ChildProcess,
    readonly id: string,
  ) {
    super(child)
  }

  static async start(signalingUrl: string, room: string): Promise<ObjectsNodePeer> {
    const child = fork(`${root}e2e/fixtures/objects-peer.mjs`, [signalingUrl, room], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    return new ObjectsNodePeer(child, await joined(child))
  }
}

export type Participant = Tab | NodePeer

type HarnessApi = {
  join(signaling: string, room: string, identityName?: string): Promise<string>
  storedIdentityId(name: string): Promise<string>
  hopIds(): string[]
  threeStep(peerId: string): Promise<[number[], number]>
  search(peerId: string, query: string): Promise<{ count: number; rendered: { query: string; rows: string[] } | undefined }>
  askThroughReference(peerId: string, text: string): Promise<{ text: string; askedBy: string; from: string }>
  callRemoteObject(peerId: string): Promise<{ sum: number; cancelled: string; abortedOnPeer: number }>
  transfer(peerId: string, totalBytes: number): Promise<{ received: number; intact: boolean; inOrder: boolean; peerInOrder: boolean; ms: number }>
  peers(): string[]
  signalingState(): string
  sendText(to: string, text: string): Promise<void>
  received(): Array<{ from: string; text: string }>
  leaves(): Array<{ id: string; reason: string }>
  joinScamp(signaling: string, room: string, gossip: Record<string, number>): Promise<string>
  publish(text: string): string
  joinWith(signaling: string, room: string, options: Record<string, unknown>): Promise<string>
  directory(): { clusters: Record<string, string[]>; topics: Record<string, string[]> }
  subscribeTopic(topic: string): Promise<void>
  topicEvents(): Array<{ topic: string; value: unknown; from: string }>
  publishTopic(topic: string, value: unknown): Promise<void>
  requestBurst(cluster: string, burst: { prefix: string; count: number; concurrency: number; timeoutMs: number; workMs: number }): Promise<RequestOutcome[]>
  gossipTexts(): unknown[]
  views(): ScampViews
  errors(): string[]
}

/** One peer's WebRTC links and SCAMP views (scamp topology). */
export interface ScampViews {
  id: string
  links: string[]
  partialView: string[]
  inView: string[]
}

/** Inside page.evaluate (which runs in the tab): the harness the page installed on globalThis. */
type HarnessGlobal = { harness: HarnessApi }

/** One Chromium tab and one Node peer linked in `room`, with their own signaling server and harness. */
export interface TabAndNodePeer {
  tab: Tab
  node: NodePeer
  stop(): Promise<void>
}

export async function startTabAndNodePeer(room: string, modules: string[] = []): Promise<TabAndNodePeer> {
  const signaling = await SignalingProcess.start(await freePort())
  const harness = await startHarnessServer()
  const browser = await launchChromium()
  const tab = await Tab.open(browser, harness.url, signaling.url, room)
  const node = await NodePeer.start(signaling.url, room, modules)
  await waitFor('the tab and the Node peer to connect', async () => (await tab.peers()).includes(node.id))
  return {
    tab,
    node,
    async stop() {
      await node.stop()
      await browser.close()
      await harness.close()
      await signaling.kill()
    },
  }
}
