/** Measurements of the SCAMP graph of a simulated network: view sizes, connectivity, view mirroring. */
import type { SimNetwork } from './network.js'

export interface ViewStats {
  alive: number
  meanPartialView: number
  minPartialView: number
  maxPartialView: number
  /** Live nodes whose partial view is empty. */
  emptyPartialViews: number
  meanInView: number
  maxInView: number
  /** Partial-view entries naming a node that is gone. */
  arcsToDead: number
}

export function viewStats(sim: SimNetwork): ViewStats {
  const alive = sim.alive()
  let sum = 0
  let min = Infinity
  let max = 0
  let empty = 0
  let inSum = 0
  let inMax = 0
  let arcsToDead = 0
  for (const { node } of alive) {
    const size = node.partialViewSize
    sum += size
    min = Math.min(min, size)
    max = Math.max(max, size)
    if (size === 0) empty++
    inSum += node.inViewSize
    inMax = Math.max(inMax, node.inViewSize)
    for (const peer of node.partialView()) if (!sim.nodes[Number(peer.slice(1))]?.alive) arcsToDead++
  }
  const n = alive.length
  return {
    alive: n,
    meanPartialView: n === 0 ? 0 : sum / n,
    minPartialView: n === 0 ? 0 : min,
    maxPartialView: max,
    emptyPartialViews: empty,
    meanInView: n === 0 ? 0 : inSum / n,
    maxInView: inMax,
    arcsToDead,
  }
}

/** Partial-view arcs between live nodes, as adjacency lists over dense indexes. */
function liveGraph(sim: SimNetwork): { order: number[]; out: number[][] } {
  const order = sim.alive().map((n) => n.index)
  const dense = new Map<number, number>()
  for (const [i, index] of order.entries()) dense.set(index, i)
  const out = order.map((index) => {
    const targets: number[] = []
    for (const peer of sim.nodes[index]!.node.partialView()) {
      const target = dense.get(Number(peer.slice(1)))
      if (target !== undefined) targets.push(target)
    }
    return targets
  })
  return { order, out }
}

/** Strongly connected components of the live partial-view graph (1 means a flood from anywhere reaches everyone). */
export function stronglyConnectedComponents(sim: SimNetwork): number {
  const { out } = liveGraph(sim)
  const n = out.length
  if (n === 0) return 0
  const incoming: number[][] = out.map(() => [])
  out.forEach((targets, from) => {
    for (const to of targets) incoming[to]!.push(from)
  })
  // Kosaraju, iteratively: finishing order on the graph, then components on the transpose.
  const visited = new Uint8Array(n)
  const finished: number[] = []
  for (let start = 0; start < n; start++) {
    if (visited[start]) continue
    visited[start] = 1
    const stack: [number, number][] = [[start, 0]]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      const targets = out[top[0]]!
      if (top[1] < targets.length) {
        const next = targets[top[1]++]!
        if (!visited[next]) {
          visited[next] = 1
          stack.push([next, 0])
        }
      } else {
        finished.push(top[0])
        stack.pop()
      }
    }
  }
  const component = new Int32Array(n).fill(-1)
  let components = 0
  for (let i = finished.length - 1; i >= 0; i--) {
    const root = finished[i]!
    if (component[root] !== -1) continue
    const stack = [root]
    component[root] = components
    while (stack.length > 0) {
      const node = stack.pop()!
      for (const from of incoming[node]!) {
        if (component[from] === -1) {
          component[from] = components
          stack.push(from)
        }
      }
    }
    components++
  }
  return components
}

/** How many live nodes a flood from `source` reaches over live partial-view arcs (the source included). */
export function floodReach(sim: SimNetwork, source: number): number {
  const { order, out } = liveGraph(sim)
  const start = order.indexOf(source)
  if (start < 0) return 0
  const seen = new Uint8Array(out.length)
  seen[start] = 1
  const queue = [start]
  let reached = 1
  while (queue.length > 0) {
    for (const next of out[queue.pop()!]!) {
      if (!seen[next]) {
        seen[next] = 1
        reached++
        queue.push(next)
      }
    }
  }
  return reached
}

/**
 * Arcs not mirrored between live nodes: a partial-view entry a→b without a in b's in-view, or an
 * in-view entry without the matching partial-view entry.
 */
export function mirrorMismatches(sim: SimNetwork): { missingInView: number; missingPartialView: number } {
  let missingInView = 0
  let missingPartialView = 0
  for (const { id, node } of sim.alive()) {
    for (const peer of node.partialView()) {
      const other = sim.nodes[Number(peer.slice(1))]
      if (other?.alive && !other.node.hasInInView(id)) missingInView++
    }
    for (const peer of node.inView()) {
      const other = sim.nodes[Number(peer.slice(1))]
      if (other?.alive && !other.node.hasInPartialView(id)) missingPartialView++
    }
  }
  return { missingInView, missingPartialView }
}
