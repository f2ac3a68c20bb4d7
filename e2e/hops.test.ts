/**
 * Scope hops end to end: tabs built by Vite with the meshscope plugin and a Node peer loading the same
 * source through the meshscope loader derive identical block ids; the seed's three-step demo and the
 * search-and-display example (a real dataset, rendered in the tab by a hop back) both work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTabAndNodePeer, type NodePeer, type Tab, type TabAndNodePeer } from './support.js'

describe('scope hops between Chromium tabs and a Node peer', () => {
  let peers: TabAndNodePeer
  let tab: Tab
  let node: NodePeer

  beforeAll(async () => {
    peers = await startTabAndNodePeer('e2e-hops', ['demo/search-server.ts'])
    ;({ tab, node } = peers)
  })

  afterAll(async () => peers?.stop())

  it('the tab (Vite plugin) and the Node peer (loader) derive identical ids from the same source', async () => {
    const demoIds = (ids: string[]) => ids.filter((id) => id.startsWith('demo/hops/')).sort()
    const inTab = demoIds(await tab.hopIds())
    const inNode = demoIds(await node.call<string[]>('hopIds'))
    expect(inTab.length).toBe(5) // search: 2 blocks, three steps: 3 blocks
    expect(inNode).toEqual(inTab)
    for (const id of inTab) expect(id).toMatch(/^demo\/hops\/(search|three-step)\.ts:\d+:\d+#[0-9a-f]+$/)
  })

  it("the seed's three-step demo: the caller gets [43 × 42, 44]", async () => {
    const [array, b] = await tab.threeStep(node.id)
    expect(array).toEqual(Array.from({ length: 43 }, () => 42))
    expect(b).toBe(44)
  })

  it('search and display: the Node peer searches the cities, hops back to render the top 50 in the tab, the count comes back', async () => {
    const result = await tab.search(node.id, 'Spring')
    console.log(`[e2e] search "Spring": ${result.count} matches, ${result.rendered?.rows.length} rendered in the tab, first: ${result.rendered?.rows[0]}`)
    expect(result.count).toBeGreaterThan(50)
    expect(result.rendered?.query).toBe('Spring')
    expect(result.rendered?.rows).toHaveLength(50)
    // Matching ignores case and accents: "Şpring" matches "Spring".
    const fold = (text: string) =>
      text
        .normalize('NFD')
        .replace(/\p{Diacritic}/gu, '')
        .toLowerCase()
    expect(result.rendered?.rows.every((row) => fold(row).startsWith('spring'))).toBe(true)
  })
})
