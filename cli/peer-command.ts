/**
 * A headless Node peer: joins a room and logs what happens. It speaks the demo's two mailboxes so
 * it shows up properly in the demo: it answers chat lines ("demo.chat", replies carry `echo: false`
 * so two Node peers never answer each other forever) and shares its links ("demo.links").
 * With `--require <module>`, it first imports those modules through the meshscope loader
 * (TypeScript, inline hops checked and registered), so it serves their hop blocks; a module that
 * exports `onJoin(mesh)` has it called once the peer joined (the demo's chat log registers its
 * mailboxes that way).
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Mesh, fileIdentityStore, loadOrCreateIdentity, type Identity } from '../src/node.js'
import { untilShutdownSignal } from './shutdown.js'

const CHAT = 'demo.chat'
const LINKS = 'demo.links'

export async function runPeer(options: {
  signaling: string
  room: string
  identityFile?: string
  modules?: readonly string[]
  token?: string
}): Promise<number> {
  const modules = await importUserModules(options.modules ?? [])
  const shutdown = untilShutdownSignal()
  const identity: Identity | undefined = options.identityFile ? await loadOrCreateIdentity(fileIdentityStore(options.identityFile)) : undefined
  const mesh = await Mesh.join({ signaling: options.signaling, room: options.room, identity, ...(options.token !== undefined && { token: options.token }) })
  const log = (line: string) => console.log(`meshscope-peer ${line}`)
  const shareLinks = () => {
    for (const peerId of mesh.peers) mesh.send(peerId, LINKS, { peers: mesh.peers }).catch(() => {})
  }
  log(`joined room=${mesh.room} id=${mesh.id}`)
  mesh.on('peer:join', (peerId) => {
    log(`peer-joined ${peerId} (peers: ${mesh.peers.length})`)
    shareLinks()
  })
  mesh.on('peer:leave', (peerId, reason) => {
    log(`peer-left ${peerId} reason=${reason} (peers: ${mesh.peers.length})`)
    shareLinks()
  })
  mesh.on('signaling', (state) => log(`signaling ${state}`))
  mesh.on('error', (error) => log(`error ${error.code}: ${error.message}`))
  mesh.register(LINKS, () => {})
  mesh.register('demo.who', () => ({ kind: 'node' }))
  for (const module of modules) await (module as { onJoin?: (mesh: Mesh) => unknown }).onJoin?.(mesh)
  mesh.register(CHAT, (value, { from }) => {
    const chat = parseChat(value)
    if (!chat) return
    log(`chat from=${from} ${JSON.stringify(chat.text.slice(0, 500))}`)
    if (chat.echo === false) return
    mesh.send(from, CHAT, { text: `node peer ${mesh.id.slice(0, 8)} heard: ${chat.text.slice(0, 200)}`, echo: false }).catch(() => {})
  })
  const signal = await shutdown
  log(`${signal}: leaving`)
  await mesh.close()
  log('closed')
  return 0
}

/** Installs the meshscope loader (once) and imports each module, relative to the working directory. */
async function importUserModules(modules: readonly string[]): Promise<unknown[]> {
  if (modules.length === 0) return []
  await import('../src/plugin/register.js')
  const loaded: unknown[] = []
  for (const module of modules) {
    loaded.push(await import(pathToFileURL(resolve(module)).href))
    console.log(`meshscope-peer loaded ${module}`)
  }
  return loaded
}

function parseChat(value: unknown): { text: string; echo?: unknown } | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { text, echo } = value as { text?: unknown; echo?: unknown }
  return typeof text === 'string' ? { text, echo } : undefined
}
