/**
 * The seed's search-and-display example, as scope hops. It runs on both sides: a tab calls
 * `searchAndDisplay`, which hops to the peer holding the dataset (the demo's Node peer); that peer
 * searches and hops back to the tab to render the top 50 results there, and the number of matches
 * travels back to the first hop. The build plugin checks the captures and gives both sides the same
 * block ids; nothing but the captured values crosses the wire.
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

/** From a tab: search on `serverId`, render the top results here; resolves with the number of matches. */
export async function searchAndDisplay(mesh: Mesh, serverId: string, query: string): Promise<number> {
  const clientId = mesh.id
  return hop(mesh.peer(serverId), { query, clientId }, async ({ query, clientId }, here) => {
    const matches = searchCities(query)
    const rows = matches.slice(0, TOP_RESULTS)
    await hop(here.peer(clientId), { rows, query }, ({ rows, query }) => {
      renderer(rows, query)
    })
    return matches.length
  })
}

function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
}
