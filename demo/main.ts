/**
 * The demo page: joins room `?room=` (default "demo") through the signaling server `?signaling=`
 * (default ws://<this host>:8787), draws who is linked to whom, chats (the log is an ObservableList the
 * demo's Node peer owns and every tab mirrors: chat-log.ts), and serves and
 * balances requests over the service cluster "demo.work" (clusters-panel.ts). Every tab
 * tells its peers its own links whenever they change, so each tab can draw the edges between others.
 * Nothing is exposed globally.
 */
import { Mesh, isMeshscopeError } from 'meshscope'
import { createChatPanel } from './chat.js'
import { followChatLog, type ChatLog } from './chat-log.js'
import { renderGraph } from './graph.js'
import { MAILBOX, parseLinks, shortId } from './protocol.js'
import { Topology } from './topology.js'
import { WHO_MAILBOX, createSearchPanel } from './search-panel.js'
import { createClustersPanel } from './clusters-panel.js'

const params = new URLSearchParams(location.search)
const room = params.get('room') ?? 'demo'
const signaling = params.get('signaling') ?? `ws://${location.hostname}:8787`

const ui = {
  selfId: element('self-id', HTMLElement),
  room: element('room', HTMLElement),
  signalingUrl: element('signaling-url', HTMLElement),
  signalingState: element('signaling-state', HTMLElement),
  linkCount: element('link-count', HTMLElement),
  graph: element('graph', SVGSVGElement),
}

let chatLog: ChatLog | undefined
const chat = createChatPanel(
  { log: element('chat-log', HTMLOListElement), form: element('chat-form', HTMLFormElement), input: element('chat-input', HTMLInputElement) },
  (text) => void sendChat(text),
)

ui.room.textContent = room
ui.signalingUrl.textContent = signaling
showSignalingState('connecting')
chat.setEnabled(false)
void start()

async function start(): Promise<void> {
  let mesh: Mesh
  try {
    mesh = await Mesh.join({ signaling, room })
  } catch (error) {
    showSignalingState('failed')
    const reason = isMeshscopeError(error) ? `${error.code}: ${error.message}` : String(error)
    const hint = isMeshscopeError(error) && error.code === 'SIGNALING_UNREACHABLE' ? ' Is the signaling server running (`npm start`)?' : ''
    chat.append({ kind: 'system', text: `could not join room "${room}" at ${signaling} (${reason}).${hint}` })
    return
  }
  const joined = mesh
  const topology = new Topology(joined.id)
  const redraw = () => {
    const view = topology.view(joined.peers)
    renderGraph(ui.graph, view, joined.id)
    const linked = view.linked.size
    ui.linkCount.textContent = `linked to ${linked} ${linked === 1 ? 'peer' : 'peers'} · ${view.nodes.length} in view`
  }
  const shareLinks = () => sendToAll(joined, MAILBOX.links, { peers: joined.peers })

  ui.selfId.textContent = shortId(joined.id)
  ui.selfId.title = joined.id
  document.title = `meshscope demo · ${shortId(joined.id)}`
  showSignalingState(joined.signalingState)
  chat.setEnabled(true)
  chat.append({ kind: 'system', text: `joined room "${room}" as ${shortId(joined.id)}; open this page in another tab to add a peer` })
  redraw()

  joined.on('signaling', (state) => showSignalingState(state))
  chatLog = followChatLog(joined, (line) => chat.append(line))
  joined.on('peer:join', (peerId) => {
    chat.append({ kind: 'system', text: `${shortId(peerId)} joined` })
    chatLog?.peerJoined(peerId)
    shareLinks()
    redraw()
  })
  joined.on('peer:leave', (peerId, reason) => {
    topology.forget(peerId)
    chat.append({ kind: 'system', text: `${shortId(peerId)} left (${reason})` })
    shareLinks()
    redraw()
  })
  joined.register(WHO_MAILBOX, () => ({ kind: 'tab' }))
  const search = createSearchPanel(joined, {
    form: element('search-form', HTMLFormElement),
    input: element('search-input', HTMLInputElement),
    threeStep: element('three-step', HTMLButtonElement),
    status: element('search-status', HTMLElement),
    results: element('search-results', HTMLOListElement),
  })
  search.setEnabled(true)
  joined.register(MAILBOX.links, (value, { from }) => {
    const links = parseLinks(value)
    if (!links) return // out of bounds: ignored
    topology.setReport(from, links.peers)
    redraw()
  })
  joined.on('error', (error) => console.warn(`meshscope ${error.code}: ${error.message}`))
  await createClustersPanel(joined, {
    directory: element('cluster-directory', HTMLElement),
    burst: element('cluster-burst', HTMLButtonElement),
    status: element('cluster-status', HTMLElement),
    spread: element('cluster-spread', HTMLOListElement),
  })
}

/** The line appears when the log's owner has it, in every tab at once (this one included). */
async function sendChat(text: string): Promise<void> {
  if (!(await chatLog?.post(text))) chat.append({ kind: 'system', text: 'the chat log lives on the demo’s Node peer, which is not linked: nobody heard that' })
}

/** Sends to every linked peer; a peer that goes away meanwhile is reported by its peer:leave, not here. */
function sendToAll(joined: Mesh, mailbox: string, value: unknown): void {
  for (const peerId of joined.peers) joined.send(peerId, mailbox, value).catch(() => {})
}

function showSignalingState(state: string): void {
  ui.signalingState.textContent = state
  ui.signalingState.dataset.state = state
}

function element<T extends Element>(id: string, type: abstract new (...args: never[]) => T): T {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`demo page: #${id} is missing or not a ${type.name}`)
  return found
}
