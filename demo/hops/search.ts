/**
 * The seed's search-and-display example, as scope hops. It runs on both sides: a tab calls
 * `searchAndDisplay`, which hops to the peer holding the dataset (the demo's Node peer); that peer
 * searches and hops back to the tab to render the top 50 results there, and the number of matches
 * travels back to the first hop. The build plugin checks the captures and gives both sides the same
 * block ids; nothing but the captured values crosses the wire.
 *
 * Every member of the room can run these blocks with captures of its choosing, so each block checks
 * what it is asked: the search takes a bounded query and renders only on the peer that asked (the
 * verified `here.caller`, never an id the caller names), and a tab runs the render block only for a
 * server it is waiting on (`allow`, which the build plugin carries to the block's registration).
 */
import { hop, type Mesh } from 'meshscope'

export interface City {
  name: string
  country: string
  lat: number
  lng: number
}

/** Results shown per search. */
export const TOP_RESULTS = 50
/** The longest query the search takes. */
export const MAX_QUERY_LENGTH = 100

let dataset: readonly City[] = []
let renderer: (rows: City[], query: string) => void = () => {}

/** On the peer that holds the data (the Node peer): the cities to search. */
export function provideDataset(cities: readonly City[]): void {
  dataset = cities
}

/** In a tab: how to show results. */
export function provideRenderer(render: (rows: City[], query: string) => void): void {
  renderer = render
}

/** Cities whose name starts with the query (case and accents ignored), exact names first. */
export function searchCities(query: string): City[] {
  const needle = fold(query.trim())
  if (needle === '') return []
  const exact: City[] = []
  const prefix: City[] = []
  for (const city of dataset) {
    const name = fold(city.name)
    if (name === needle) exact.push(city)
    else if (name.startsWith(needle)) prefix.push(city)
  }
  prefix.sort((x, y) => x.name.localeCompare(y.name))
  return [...exact, ...prefix]
}

/** In a tab: the servers it asked to search, and how many answers it awaits from each. */
const awaitedServers = new Map<string, number>()

/** Whether a render hop from `callerId` was asked for (the render block's `allow`). */
function isAwaitedServer(callerId: string): boolean {
  return (awaitedServers.get(callerId) ?? 0) > 0
}

/** From a tab: search on `serverId`, render the top results here; resolves with the number of matches. */
export async function searchAndDisplay(mesh: Mesh, serverId: string, query: string): Promise<number> {
  awaitedServers.set(serverId, (awaitedServers.get(serverId) ?? 0) + 1)
  try {
    return await hop(mesh.peer(serverId), { query }, async ({ query }, here) => {
      // The captures are the caller's choice: check them like any input from the network.
      if (typeof query !== 'string' || query.length > MAX_QUERY_LENGTH) throw new RangeError(`a query is a string of at most ${MAX_QUERY_LENGTH} characters`)
      const matches = searchCities(query)
      const rows = matches.slice(0, TOP_RESULTS)
      // Render on the peer that asked — verified — not on whichever peer a capture would name.
      await hop(
        here.peer(here.caller),
        { rows, query },
        ({ rows, query }) => {
          renderer(rows, query)
        },
        { allow: isAwaitedServer },
      )
      return matches.length
    })
  } finally {
    const left = (awaitedServers.get(serverId) ?? 1) - 1
    if (left > 0) awaitedServers.set(serverId, left)
    else awaitedServers.delete(serverId)
  }
}

function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
}
