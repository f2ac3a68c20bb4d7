/**
 * The page the e2e tests open in Chromium tabs: a thin remote control over the real library, imported
 * from source through Vite. Tests call `window.harness.*` with page.evaluate.
 */
import { Mesh, bytes, indexedDbIdentityStore, loadOrCreateIdentity, mpsc, oneshot } from 'meshscope'
import { provideRenderer, searchAndDisplay } from '../../demo/hops/search.js'
import { threeStep } from '../../demo/hops/three-step.js'
import { objectsHarness } from './objects.js'
import { registeredHopIds } from '../../src/scope/registry.js'

let rendered: { query: string; rows: string[] } | undefined
provideRenderer((rows, query) => (rendered = { query, rows: rows.map((city) => `${city.name} (${city.country})`) }))

interface Received {
  from: string
  text: string
}

let mesh: Mesh | undefined
const received: Received[] = []
const leaves: Array<{ id: string; reason: string }> = []
const errors: string[] = []
const gossip: Array<{ origin: string; text: unknown }> = []
const topicEvents: Array<{ topic: string; value: unknown; from: string }> = []

/** One request of a burst: answered by `member`, or failed with `code`. */
interface RequestOutcome {
  requestId: string
  member?: string
  code?: string
}

const harness = {
  /** Remote objects and observable collections (e2e/objects.test.ts). */
  ...objectsHarness(() => mesh!),
  /** Joins with a fresh identity, or with the one stored in IndexedDB under `identityName`. */
  async join(signaling: string, room: string, identityName?: string): Promise<string> {
    const identity = identityName ? await loadOrCreateIdentity(indexedDbIdentityStore(identityName)) : undefined
    mesh = await Mesh.join({ signaling, room, identity })
    mesh.register<string>('e2e', (text, { from }) => void received.push({ from, text }))
    mesh.on('peer:leave', (id, reason) => leaves.push({ id, reason }))
    mesh.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
    return mesh.id
  },
  /** The id of the identity stored in IndexedDB under `name` (created on first use). */
  async storedIdentityId(name: string): Promise<string> {
    return (await loadOrCreateIdentity(indexedDbIdentityStore(name))).id
  },
  peers: (): string[] => mesh?.peers ?? [],
  signalingState: (): string => mesh?.signalingState ?? 'none',
  async sendText(to: string, text: string): Promise<void> {
    await mesh!.send(to, 'e2e', text)
  },
  received: (): Received[] => received,
  leaves: () => leaves,
  errors: () => errors,
  /**
   * Channels end to end: asks `peerId` (a Node peer) to write `totalBytes` of patterned data into a
   * bytes channel while 200 small messages flow each way on two mpsc channels.
   */
  async transfer(peerId: string, totalBytes: number): Promise<{ received: number; intact: boolean; inOrder: boolean; peerInOrder: boolean; ms: number }> {
    const started = performance.now()
    const [dataTx, dataRx] = bytes.channel()
    const [toTabTx, toTabRx] = mpsc.channel<number>()
    const [fromTabTx, fromTabRx] = mpsc.channel<number>()
    const [resultTx, resultRx] = oneshot.channel<boolean>()
    await mesh!.send(peerId, 'e2e.transfer', { totalBytes, data: dataTx, toTab: toTabTx, fromTab: fromTabRx, result: resultTx })
    const sending = (async () => {
      for (let i = 0; i < 200; i++) await fromTabTx.send(i)
      fromTabTx.close()
    })()
    const receivingSmall = (async () => {
      let expected = 0
      let inOrder = true
      for await (const value of toTabRx) if (value !== expected++) inOrder = false
      return inOrder && expected === 200
    })()
    let received = 0
    let intact = true
    for await (const chunk of dataRx) {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== ((received + i) * 7) % 251) intact = false
      received += chunk.length
    }
    await sending
    const inOrder = await receivingSmall
    const peerInOrder = await resultRx.recv()
    return { received, intact, inOrder, peerInOrder, ms: performance.now() - started }
  },
  /** RPC: sends the Node peer a reference to a mailbox here; the Node peer answers through it. */
  async askThroughReference(peerId: string, text: string): Promise<{ text: string; askedBy: string; from: string }> {
    const answers = mesh!.mailbox<{ text: string; askedBy: string }>('e2e.answers')
    try {
      await mesh!.send(peerId, 'e2e.question', { replyTo: mesh!.ref('e2e.answers'), text })
      const envelope = await answers.receive({ timeout: 10_000 })
      return { ...envelope.value, from: envelope.from }
    } finally {
      answers.close()
    }
  },
  /** RPC: a remote object on the Node peer; a slow call cancelled after 100 ms. */
  async callRemoteObject(peerId: string): Promise<{ sum: number; cancelled: string; abortedOnPeer: number }> {
    type Calc = { add(a: number, b: number): number; slow(n: number): Promise<number>; abortedCalls(): number }
    const calc = mesh!.remote<Calc>(peerId, 'e2e.calc')
    const sum = await calc.add(2, 3)
    const controller = new AbortController()
    const slow = mesh!.remote<Calc>(peerId, 'e2e.calc', { signal: controller.signal }).slow(7)
    setTimeout(() => controller.abort(), 100)
    const cancelled = await slow.then(
      () => 'resolved',
      (error: { code?: string }) => error.code ?? 'unknown',
    )
    let abortedOnPeer = 0
    for (let i = 0; i < 100 && abortedOnPeer === 0; i++) {
      abortedOnPeer = await calc.abortedCalls()
      if (abortedOnPeer === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return { sum, cancelled, abortedOnPeer }
  },
  /** Scope hops: the ids of the blocks this tab registered (built by Vite with the meshscope plugin). */
  hopIds: (): string[] => registeredHopIds(),
  /** The seed's three-step demo, this tab as the client and `peerId` as the server. */
  threeStep: (peerId: string) => threeStep(mesh!, peerId),
  /** The search-and-display hop: the count of matches, and what the hop back rendered here. */
  async search(peerId: string, query: string): Promise<{ count: number; rendered: { query: string; rows: string[] } | undefined }> {
    rendered = undefined
    const count = await searchAndDisplay(mesh!, peerId, query)
    return { count, rendered }
  },
  /** Joins a scamp room (links to the SCAMP views only) and records the gossip that arrives. */
  async joinScamp(signaling: string, room: string, scampConfig: Record<string, number> = {}): Promise<string> {
    mesh = await Mesh.join({ signaling, room, topology: 'scamp', gossip: scampConfig })
    mesh.on('gossip', (message) => gossip.push({ origin: message.origin, text: message.value }))
    mesh.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
    return mesh.id
  },
  /** Joins with any join options (`topology`, `gossip`…): for the service-cluster tests. */
  async joinWith(signaling: string, room: string, options: Record<string, unknown>): Promise<string> {
    mesh = await Mesh.join({ signaling, room, ...options })
    mesh.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
    return mesh.id
  },
  directory: () => mesh!.directory(),
  async subscribeTopic(topic: string): Promise<void> {
    await mesh!.subscribe(topic, (value, { from }) => void topicEvents.push({ topic, value, from }))
  },
  topicEvents: () => topicEvents,
  publishTopic: (topic: string, value: unknown): Promise<void> => mesh!.publish(topic, value),
  /**
   * Sends `count` requests to `cluster`, `concurrency` in flight at a time, each `{ requestId, workMs }`
   * (the member answers `{ requestId, member }`): every outcome, answered or failed with its code.
   */
  async requestBurst(
    cluster: string,
    burst: { prefix: string; count: number; concurrency: number; timeoutMs: number; workMs: number },
  ): Promise<RequestOutcome[]> {
    const outcomes: RequestOutcome[] = []
    let next = 0
    const worker = async () => {
      while (next < burst.count) {
        const requestId = `${burst.prefix}-${next++}`
        try {
          const reply = await mesh!.request<{ member: string }>(cluster, { requestId, workMs: burst.workMs }, { timeout: burst.timeoutMs })
          outcomes.push({ requestId, member: reply.member })
        } catch (error) {
          outcomes.push({ requestId, code: (error as { code?: string }).code ?? `not a MeshscopeError: ${String(error)}` })
        }
      }
    }
    await Promise.all(Array.from({ length: burst.concurrency }, worker))
    return outcomes
  },
  publish: (text: string): string => mesh!.gossip.publish(text),
  gossipTexts: (): unknown[] => gossip.map((message) => message.text),
  views: () => ({ id: mesh!.id, links: mesh!.peers, partialView: mesh!.gossip.partialView(), inView: mesh!.gossip.inView() }),
  async close(): Promise<void> {
    await mesh?.close()
  },
}

;(globalThis as unknown as { harness: typeof harness }).harness = harness
