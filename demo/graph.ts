/**
 * Draws the mesh as SVG by hand: peers on a circle in id order (the same layout in every tab), a line
 * for every open link. This tab is filled, its own links are highlighted, and peers it only knows from
 * others' reports are drawn hollow. Each node's <title> holds the full id.
 */
import { shortId } from './protocol.js'
import type { TopologyView } from './topology.js'

const SVG_NS = 'http://www.w3.org/2000/svg'
const SIZE = 400
const CENTER = SIZE / 2
const LAYOUT_RADIUS = 140
const NODE_RADIUS = 18

export function renderGraph(svg: SVGSVGElement, view: TopologyView, selfId: string): void {
  svg.setAttribute('viewBox', `0 0 ${SIZE} ${SIZE}`)
  svg.replaceChildren()

  const positions = new Map<string, { x: number; y: number }>()
  for (const [index, peerId] of view.nodes.entries()) {
    if (view.nodes.length === 1) {
      positions.set(peerId, { x: CENTER, y: CENTER })
      continue
    }
    const angle = -Math.PI / 2 + (2 * Math.PI * index) / view.nodes.length
    positions.set(peerId, { x: CENTER + LAYOUT_RADIUS * Math.cos(angle), y: CENTER + LAYOUT_RADIUS * Math.sin(angle) })
  }

  const edges = svgElement('g', { class: 'edges' })
  for (const [a, b] of view.edges) {
    const from = positions.get(a)
    const to = positions.get(b)
    if (!from || !to) continue
    const own = a === selfId || b === selfId
    edges.append(svgElement('line', { x1: from.x, y1: from.y, x2: to.x, y2: to.y, class: own ? 'edge own' : 'edge' }))
  }

  const nodes = svgElement('g', { class: 'nodes' })
  for (const peerId of view.nodes) {
    const { x, y } = positions.get(peerId)!
    const kind = peerId === selfId ? 'self' : view.linked.has(peerId) ? 'linked' : 'remote'
    const node = svgElement('g', { class: `node ${kind}`, 'data-peer': peerId })
    const title = svgElement('title', {})
    title.textContent = `${peerId}${kind === 'self' ? ' (this tab)' : kind === 'remote' ? ' (not linked to this tab)' : ''}`
    // Labels sit on the outer side of the circle, away from the edges that run inwards.
    const labelY = y < CENTER - 1 ? y - NODE_RADIUS - 8 : y + NODE_RADIUS + 16
    const label = svgElement('text', { x, y: labelY, 'text-anchor': 'middle' })
    label.textContent = kind === 'self' ? `${shortId(peerId)} (you)` : shortId(peerId)
    node.append(title, svgElement('circle', { cx: x, cy: y, r: NODE_RADIUS }), label)
    nodes.append(node)
  }

  svg.append(edges, nodes)
  if (view.nodes.length === 1) {
    const hint = svgElement('text', { x: CENTER, y: CENTER - NODE_RADIUS - 16, 'text-anchor': 'middle', class: 'hint' })
    hint.textContent = 'waiting for peers…'
    svg.append(hint)
  }
}

function svgElement(name: string, attributes: Record<string, string | number>): SVGElement {
  const element = document.createElementNS(SVG_NS, name)
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value))
  return element
}
