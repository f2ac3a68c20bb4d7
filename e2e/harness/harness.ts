/**
 * The page the e2e tests open in Chromium tabs: a thin remote control over the real library, imported
 * from source through Vite. Tests call `window.harness.*` with page.evaluate.
 */
import { Mesh, bytes, indexedDbIdentityStore, loadOrCreateIdentity, mpsc, oneshot } from 'meshscope'

interface Received {
  from: string
  text: string
}

let mesh: Mesh | undefined
const received: Received[] = []
const leaves: Array<{ id: string; reason: string }> = []
const errors: string[] = []

const harness = {
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
  async close(): Promise<void> {
    await mesh?.close()
  },
}

;(globalThis as unknown as { harness: typeof harness }).harness = harness
