/**
 * Property tests (fast-check) of graph invariants over a simulated network of real nodes: after any
 * sequence of joins, leaves and crashes (with messages in flight between them), once the network is
 * quiet, partial views and in-views mirror each other, nobody holds itself or a dead peer, every
 * member holds someone, and with heartbeats and leases on no partition is permanent.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { mirrorMismatches, stronglyConnectedComponents, viewStats } from '../../sim/graph.js'
import { SimNetwork } from '../../sim/network.js'

type Op = { kind: 'join' } | { kind: 'leave'; pick: number } | { kind: 'crash'; pick: number } | { kind: 'wait'; ms: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Op>({ kind: 'join' }) },
  { weight: 2, arbitrary: fc.nat().map<Op>((pick) => ({ kind: 'leave', pick })) },
  { weight: 1, arbitrary: fc.nat().map<Op>((pick) => ({ kind: 'crash', pick })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 400 }).map<Op>((ms) => ({ kind: 'wait', ms })) },
)

function run(sim: SimNetwork, ops: Op[]): void {
  sim.join(sim.addNode())
  for (const step of ops) {
    const alive = sim.alive()
    switch (step.kind) {
      case 'join': {
        const index = sim.addNode()
        const contact = sim.randomAlive(index)
        sim.join(index, contact?.index)
        break
      }
      case 'leave':
        if (alive.length > 2) sim.leave(alive[step.pick % alive.length]!.index)
        break
      case 'crash':
        if (alive.length > 2) sim.crash(alive[step.pick % alive.length]!.index)
        break
      case 'wait':
        sim.runUntil(sim.now + step.ms)
        break
    }
    sim.runUntil(sim.now + 10) // the next operation comes while messages are still in flight
  }
}

function checkViews(sim: SimNetwork): void {
  expect(mirrorMismatches(sim)).toEqual({ missingInView: 0, missingPartialView: 0 })
  const stats = viewStats(sim)
  expect(stats.arcsToDead).toBe(0)
  for (const { id, node } of sim.alive()) {
    expect(node.hasInPartialView(id)).toBe(false)
    expect(node.hasInInView(id)).toBe(false)
    expect(node.partialViewSize).toBeLessThanOrEqual(node.config.maxPartialView)
    expect(node.inViewSize).toBeLessThanOrEqual(node.config.maxInView)
    if (sim.aliveCount > 1) expect(node.partialViewSize).toBeGreaterThanOrEqual(1)
  }
}

describe('graph invariants', () => {
  test('partial views and in-views mirror each other after any joins, leaves and crashes (timers off)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(op, { minLength: 1, maxLength: 60, size: 'max' }),
        (seed, c, ops) => {
          const sim = new SimNetwork({ seed, config: { c, heartbeatIntervalMs: 0, leaseMs: 0 } })
          run(sim, ops)
          expect(sim.runUntilIdle(sim.now + 3_600_000)).toBe(true)
          checkViews(sim)
          expect(sim.stats.refused + sim.stats.misbehaving).toBe(0)
        },
      ),
      { numRuns: 600 },
    )
  })

  test('with heartbeats, leases and outside contacts on, no partition is permanent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.array(op, { minLength: 1, maxLength: 40, size: 'max' }), (seed, ops) => {
        const config = { c: 1, heartbeatIntervalMs: 1000, isolationTimeoutMs: 5000, leaseMs: 20_000, subscribeTimeoutMs: 2000 }
        const sim = new SimNetwork({ seed, config, detectionDelayMs: 2000 })
        run(sim, ops)
        // Several leases and isolation timeouts later, nothing is left over from the churn. Tiny
        // groups can split for a moment (a lease renewal moves a node's only in-arc); a partition
        // is permanent only if it never heals, so look at the graph every 5 s for a minute.
        sim.runUntil(sim.now + 120_000)
        const components: number[] = []
        for (let i = 0; i < 12; i++) {
          sim.runUntil(sim.now + 5000)
          components.push(stronglyConnectedComponents(sim))
        }
        expect(Math.min(...components)).toBe(1)
        expect(viewStats(sim).arcsToDead).toBe(0)
        expect(sim.stats.refused + sim.stats.misbehaving).toBe(0)
      }),
      { numRuns: 150 },
    )
  })
})
