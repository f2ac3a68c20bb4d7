/**
 * The search panel: finds the Node peer that serves the search (it answers "demo.who" with
 * { kind: 'node' }), runs the search-and-display hop, and shows the rows the hop brought back.
 * City names come from the dataset but are still written with textContent only.
 */
import { isMeshscopeError, type Mesh } from 'meshscope'
import { TOP_RESULTS, provideRenderer, searchAndDisplay, type City } from './hops/search.js'
import { threeStep } from './hops/three-step.js'

export const WHO_MAILBOX = 'demo.who'

export function createSearchPanel(
  mesh: Mesh,
  elements: { form: HTMLFormElement; input: HTMLInputElement; threeStep: HTMLButtonElement; status: HTMLElement; results: HTMLOListElement },
): { setEnabled(enabled: boolean): void } {
  const { form, input, status, results } = elements
  const submit = form.querySelector('button[type="submit"]') as HTMLButtonElement

  provideRenderer((rows: City[], query: string) => {
    results.replaceChildren(
      ...rows.map((city) => {
        const item = document.createElement('li')
        item.textContent = `${city.name} (${city.country}) ${city.lat.toFixed(2)}, ${city.lng.toFixed(2)}`
        return item
      }),
    )
    status.textContent = `results for "${query}" rendered here by a hop from the Node peer`
  })

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const query = input.value.trim()
    if (query === '') return
    void run(async (server) => {
      const count = await searchAndDisplay(mesh, server, query)
      status.textContent = `${count} cities match "${query}"; showing ${Math.min(count, TOP_RESULTS)}`
    })
  })
  elements.threeStep.addEventListener('click', () => {
    void run(async (server) => {
      const [array, b] = await threeStep(mesh, server)
      status.textContent = `three steps: an array of ${array.length} × ${array[0]} and ${b}`
    })
  })

  async function run(action: (server: string) => Promise<void>): Promise<void> {
    const server = await findNodePeer(mesh)
    if (!server) {
      status.textContent = 'no Node peer is linked: start one with `npm start` (it serves the search)'
      return
    }
    status.textContent = 'hopping…'
    try {
      await action(server)
    } catch (error) {
      status.textContent = isMeshscopeError(error) ? `${error.code}: ${error.message}` : String(error)
    }
  }

  return {
    setEnabled(enabled) {
      input.disabled = !enabled
      submit.disabled = !enabled
      elements.threeStep.disabled = !enabled
    },
  }
}

async function findNodePeer(mesh: Mesh): Promise<string | undefined> {
  const answers = await Promise.all(
    mesh.peers.map(async (peerId) => {
      try {
        const who = (await mesh.call(peerId, WHO_MAILBOX, null, { timeout: 2000 })) as { kind?: unknown }
        return who?.kind === 'node' ? peerId : undefined
      } catch {
        return undefined
      }
    }),
  )
  return answers.find((peerId) => peerId !== undefined)
}
