/**
 * Who is linked to whom, as far as this tab knows: its own open links (from the mesh) plus the link
 * lists that connected peers report. Edges touching this tab come only from the mesh; a peer's report
 * counts only while that peer is linked to us, so a peer that leaves takes its edges with it.
 */

export interface TopologyView {
  /** Every peer in view, sorted, so that every tab lays them out in the same order. */
  nodes: string[]
  /** Undirected edges, each once, as [lower id, higher id]. */
  edges: Array<[string, string]>
  /** The peers this tab has an open link to. */
  linked: ReadonlySet<string>
}

export class Topology {
  #reports = new Map<string, readonly string[]>()

  constructor(readonly selfId: string) {}

  /** Replaces what `peerId` says its links are. */
  setReport(peerId: string, peers: readonly string[]): void {
    this.#reports.set(peerId, peers)
  }

  /** Drops the report of a peer that left. */
  forget(peerId: string): void {
    this.#reports.delete(peerId)
  }

  /** The graph to draw, given this tab's open links (`mesh.peers`). */
  view(ownLinks: readonly string[]): TopologyView {
    const linked = new Set(ownLinks)
    const nodes = new Set<string>([this.selfId, ...linked])
    const edges = new Map<string, [string, string]>()
    const addEdge = (a: string, b: string) => {
      if (a === b) return
      const edge: [string, string] = a < b ? [a, b] : [b, a]
      edges.set(edge.join(' '), edge)
    }
    for (const peer of linked) addEdge(this.selfId, peer)
    for (const [reporter, peers] of this.#reports) {
      if (!linked.has(reporter)) continue
      for (const peer of peers) {
        if (peer === this.selfId) continue // our own links we know first-hand
        nodes.add(peer)
        addEdge(reporter, peer)
      }
    }
    return { nodes: [...nodes].sort(), edges: [...edges.values()], linked }
  }
}
