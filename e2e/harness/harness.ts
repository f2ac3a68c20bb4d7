/**
 * The page the e2e tests open in Chromium tabs: a thin remote control over the real library, imported
 * from source through Vite. Tests call `window.harness.*` with page.evaluate.
 */
import { Mesh, indexedDbIdentityStore, loadOrCreateIdentity } from 'meshscope'

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
    mesh.on('message', (from, data) => received.push({ from, text: new TextDecoder().decode(data) }))
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
