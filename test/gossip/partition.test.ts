/**
 * Partitions: SCAMP alone cannot rejoin two parts that no longer hold each other; lease renewals
 * through contacts from outside the views (`randomContact`, the signaling server in the mesh) do.
 */
import { describe, expect, test } from 'vitest'
import { stronglyConnectedComponents, viewStats } from '../../sim/graph.js'
import { SimNetwork } from '../../sim/network.js'

/** Two groups of `size` nodes that never met (each started from its own first node); with or without help from outside the views. */
function twoGroups(outsideContacts: boolean, size = 15): SimNetwork {
  const sim = new SimNetwork({
    seed: 21,
    config: { c: 1, heartbeatIntervalMs: 1000, isolationTimeoutMs: 5000, leaseMs: 60_000 },
    outsideContacts,
    contactDelayMs: outsideContacts ? 1000 : null,
  })
  for (let group = 0; group < 2; group++) {
    const first = sim.addNode()
    sim.join(first)
    for (let i = 1; i < size; i++) {
      const index = sim.addNode()
      sim.join(index, first + Math.floor(sim.rng.next() * i))
      sim.runUntilSettled(index)
    }
  }
  return sim
}

describe('partitions', () => {
  test('without outside contacts (and no answer to need-contact), a partition is permanent', () => {
    const sim = twoGroups(false)
    expect(stronglyConnectedComponents(sim)).toBe(2)
    // Thirty leases later the two groups have still not met (they may even have split further: a
    // node whose views empty has nobody to renew through).
    for (let lease = 0; lease < 30; lease++) {
      sim.runUntil(sim.now + 60_000)
      expect(stronglyConnectedComponents(sim)).toBeGreaterThanOrEqual(2)
    }
    const first = new Set(sim.nodes.slice(0, 15).map((n) => n.id))
    for (const { id, node } of sim.alive()) for (const peer of [...node.partialView(), ...node.inView()]) expect(first.has(peer)).toBe(first.has(id))
  })

  test('lease renewals through outside contacts heal it within a few leases', () => {
    const sim = twoGroups(true)
    sim.runUntil(sim.now + 5 * 60_000)
    expect(stronglyConnectedComponents(sim)).toBe(1)
    expect(viewStats(sim).emptyPartialViews).toBe(0)
  })
})
