/**
 * The page the e2e tests open in Chromium tabs: a thin remote control over the real library, imported
 * from source through Vite. Tests call `window.harness.*` with page.evaluate.
 */
import { Mesh } from 'meshscope'

interface Received {
  from: string
  text: string
}

let mesh: Mesh | undefined
const received: Received[] = []
const leaves: Array<{ id: string; reason: string }> = []
const errors: string[] = []

const harness = {
  async join(signaling: string, room: string): Promise<string> {
    mesh = await Mesh.join({ signaling, room })
    mesh.on('message', (from, data) => received.push({ from, text: new TextDecoder().decode(data) }))
    mesh.on('peer:leave', (id, reason) => leaves.push({ id, reason }))
    mesh.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
    return mesh.id
  },
  peers: (): string[] => mesh?.peers ?? [],
  signalingState: (): string => mesh?.signalingState ?? 'none',
  async sendText(to: string, text: string): Promise<void> {
    await mesh!.send(to, new TextEncoder().encode(text))
  },
  received: (): Received[] => received,
  leaves: () => leaves,
  errors: () => errors,
  async close(): Promise<void> {
    await mesh?.close()
  },
}

;(globalThis as unknown as { harness: typeof harness }).harness = harness
