/**
 * The service-clusters panel: every tab serves the cluster "demo.work" (a request handler that takes a
 * few milliseconds and answers with this tab's id) and subscribes to the topic "demo.hello". The panel
 * lists the clusters and topics this tab knows (`mesh.directory()`) with the peers serving each, and
 * its button sends a burst of requests to "demo.work" and shows how many each member answered.
 * Peer ids and cluster names come from other peers: written with textContent only.
 */
import { isMeshscopeError, type Mesh } from 'meshscope'
import { shortId } from './protocol.js'

export const DEMO_CLUSTER = 'demo.work'
export const DEMO_TOPIC = 'demo.hello'
/** Requests in one burst, and how many are in flight at once. */
const BURST = { requests: 100, inFlight: 16 }
/** How often the directory is redrawn (it changes on announcements; polling keeps the panel simple). */
const REFRESH_MS = 1_000

export async function createClustersPanel(
  mesh: Mesh,
  elements: { directory: HTMLElement; burst: HTMLButtonElement; status: HTMLElement; spread: HTMLOListElement },
): Promise<void> {
  await mesh.serve(DEMO_CLUSTER, {
    request: async () => {
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20))
      return mesh.id
    },
  })
  await mesh.subscribe(DEMO_TOPIC, () => {})

  const label = (peerId: string) => (peerId === mesh.id ? `${shortId(peerId)} (this tab)` : shortId(peerId))
  const drawDirectory = () => {
    const { clusters, topics } = mesh.directory()
    const rows = [
      ...Object.entries(clusters).map(([name, members]) => ({ kind: 'cluster', name, peers: members })),
      ...Object.entries(topics).map(([name, subscribers]) => ({ kind: 'topic', name, peers: subscribers })),
    ]
    elements.directory.replaceChildren(
      ...rows.map((row) => {
        const item = document.createElement('li')
        const name = document.createElement('code')
        name.textContent = row.name
        item.append(`${row.kind} `, name, ` — ${row.peers.length} ${row.kind === 'cluster' ? 'serving' : 'subscribed'}: ${row.peers.map(label).join(', ')}`)
        return item
      }),
    )
  }
  drawDirectory()
  setInterval(drawDirectory, REFRESH_MS)

  elements.burst.disabled = false
  elements.burst.addEventListener('click', () => {
    elements.burst.disabled = true
    void sendBurst().finally(() => (elements.burst.disabled = false))
  })

  async function sendBurst(): Promise<void> {
    const answered = new Map<string, number>()
    const failed = new Map<string, number>()
    let next = 0
    const started = performance.now()
    elements.status.textContent = `sending ${BURST.requests} requests to ${DEMO_CLUSTER}, ${BURST.inFlight} at a time…`
    const worker = async () => {
      while (next++ < BURST.requests) {
        try {
          const member = await mesh.request<string>(DEMO_CLUSTER, null, { timeout: 5_000 })
          answered.set(member, (answered.get(member) ?? 0) + 1)
        } catch (error) {
          const code = isMeshscopeError(error) ? error.code : 'unknown'
          failed.set(code, (failed.get(code) ?? 0) + 1)
        }
      }
    }
    await Promise.all(Array.from({ length: BURST.inFlight }, worker))
    const ms = Math.round(performance.now() - started)
    const failures = [...failed].map(([code, count]) => `${count} ${code}`).join(', ')
    elements.status.textContent = `${BURST.requests} requests in ${ms} ms${failures ? `; failed: ${failures}` : ''}. Answered by:`
    elements.spread.replaceChildren(
      ...[...answered]
        .sort((a, b) => b[1] - a[1])
        .map(([member, count]) => {
          const item = document.createElement('li')
          const bar = document.createElement('span')
          bar.className = 'bar'
          bar.style.width = `${count}%`
          item.append(bar, ` ${label(member)}: ${count}`)
          return item
        }),
    )
  }
}
