/**
 * A headless Node peer: joins a room and logs what happens. Text messages from peers (the demo's chat
 * sends JSON) are printed; the peer answers the demo's chat so a tab can see a Node peer talk back.
 */
import { Mesh, fileIdentityStore, loadOrCreateIdentity, type Identity } from '../src/node.js'
import { utf8 } from '../src/util/bytes.js'
import { untilShutdownSignal } from './shutdown.js'

export async function runPeer(options: { signaling: string; room: string; identityFile?: string }): Promise<number> {
  const identity: Identity | undefined = options.identityFile ? await loadOrCreateIdentity(fileIdentityStore(options.identityFile)) : undefined
  const mesh = await Mesh.join({ signaling: options.signaling, room: options.room, identity })
  const log = (line: string) => console.log(`meshscope-peer ${line}`)
  log(`joined room=${mesh.room} id=${mesh.id}`)
  mesh.on('peer:join', (peerId) => log(`peer-joined ${peerId} (peers: ${mesh.peers.length})`))
  mesh.on('peer:leave', (peerId, reason) => log(`peer-left ${peerId} reason=${reason} (peers: ${mesh.peers.length})`))
  mesh.on('signaling', (state) => log(`signaling ${state}`))
  mesh.on('error', (error) => log(`error ${error.code}: ${error.message}`))
  mesh.on('message', (from, data) => {
    const text = utf8.decode(data).slice(0, 500)
    const chat = parseChat(text)
    // Chat is printed in full; anything else (the demo's link lists…) only by type, to keep the log readable.
    log(`message from=${from} ${chat ? JSON.stringify(chat.text) : `(${messageType(text)})`}`)
    if (chat) {
      const reply = JSON.stringify({ type: 'chat', echo: false, text: `node peer ${mesh.id.slice(0, 8)} heard: ${chat.text.slice(0, 200)}` })
      mesh.send(from, utf8.encode(reply)).catch(() => {})
    }
  })
  const signal = await untilShutdownSignal()
  log(`${signal}: leaving`)
  await mesh.close()
  log('closed')
  return 0
}

function parseChat(text: string): { text: string } | undefined {
  try {
    const value = JSON.parse(text) as { type?: unknown; text?: unknown; echo?: unknown }
    return value.type === 'chat' && typeof value.text === 'string' && value.echo !== false ? { text: value.text } : undefined
  } catch {
    return undefined
  }
}

function messageType(text: string): string {
  try {
    const value = JSON.parse(text) as { type?: unknown }
    return typeof value.type === 'string' ? `type=${value.type.slice(0, 32)}` : 'json'
  } catch {
    return `${text.length} characters`
  }
}
