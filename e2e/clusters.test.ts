/**
 * Service clusters end to end, in a full-mesh room and in a scamp room: three Node peers (separate
 * processes) serve the cluster `e2e.work`; two Chromium tabs send requests that spread over all three;
 * one Node process is SIGKILLed while requests are in flight — every request either succeeds or fails
 * with a code (none hangs, none runs twice: the members report each execution by request id before
 * running it), and later requests go to the two survivors. Tabs and Node peers publish on `e2e.news`,
 * to which all five subscribe: every subscriber gets each event once.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClusterNodePeer, ClusterTab, SignalingProcess, freePort, launchChromium, startHarnessServer, waitFor, type RequestOutcome } from './support.js'

const CLUSTER = 'e2e.work'
const TOPIC = 'e2e.news'
/** SCAMP's timers shortened as in scamp.test.ts, so a five-peer room settles in seconds. */
const SCAMP_GOSSIP = { heartbeatIntervalMs: 1_000, isolationTimeoutMs: 5_000, subscribeTimeoutMs: 3_000 }

let signaling: SignalingProcess
let harness: { url: string; close(): Promise<void> }
let browser: Browser

beforeAll(async () => {
  signaling = await SignalingProcess.start(await freePort())
  harness = await startHarnessServer()
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await harness?.close()
  await signaling?.kill()
})

/** How many times each request id ran, over every member (a killed one's count included). */
function executionCounts(nodes: ClusterNodePeer[], prefix: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const node of nodes) for (const id of node.executions) if (id.startsWith(`${prefix}-`)) counts.set(id, (counts.get(id) ?? 0) + 1)
  return counts
}

function servedBy(outcomes: RequestOutcome[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const outcome of outcomes) if (outcome.member) counts.set(outcome.member, (counts.get(outcome.member) ?? 0) + 1)
  return counts
}

for (const topology of ['full', 'scamp'] as const) {
  describe(`service clusters in a ${topology} room: 3 Node members, 2 tabs`, () => {
    const options = topology === 'scamp' ? { topology, gossip: SCAMP_GOSSIP } : { topology }
    const nodes: ClusterNodePeer[] = []
    const tabs: ClusterTab[] = []

    afterAll(async () => {
      await Promise.allSettled(nodes.map((node) => node.stop()))
      await Promise.allSettled(tabs.map((tab) => tab.page.close()))
    })

    it('spreads requests, survives a member killed under load, and delivers every event once', async () => {
      const started = performance.now()
      const room = `e2e-clusters-${topology}`
      for (let i = 0; i < 3; i++) nodes.push(await ClusterNodePeer.start(signaling.url, room, options))
      for (let i = 0; i < 2; i++) tabs.push(await ClusterTab.open(browser, harness.url, signaling.url, room, options))
      await Promise.all(tabs.map((tab) => tab.subscribe(TOPIC)))
      const everyone = [...nodes.map((node) => node.id), ...tabs.map((tab) => tab.id)].sort()
      const memberIds = nodes.map((node) => node.id).sort()
      await waitFor(
        'every peer to list the 3 members and the 5 subscribers',
        async () =>
          (await Promise.all([...nodes, ...tabs].map((peer) => peer.directory()))).every(
            (directory) =>
              JSON.stringify([...(directory.clusters[CLUSTER] ?? [])].sort()) === JSON.stringify(memberIds) &&
              JSON.stringify([...(directory.topics[TOPIC] ?? [])].sort()) === JSON.stringify(everyone),
          ),
        30_000,
      )
      console.log(`[e2e clusters ${topology}] 5 peers joined and every directory complete in ${Math.round(performance.now() - started)} ms`)

      // Requests from the tabs spread over all three members, each run once.
      const burst = { count: 30, concurrency: 6, timeoutMs: 10_000, workMs: 20 }
      const spread = (await Promise.all(tabs.map((tab, i) => tab.requestBurst(CLUSTER, { ...burst, prefix: `spread${i}` })))).flat()
      expect(spread.filter((outcome) => outcome.code)).toEqual([])
      const spreadServed = servedBy(spread)
      console.log(`[e2e clusters ${topology}] 60 requests served: ${[...spreadServed.values()].join(' / ')}`)
      for (const member of memberIds) expect(spreadServed.get(member) ?? 0).toBeGreaterThan(0)
      for (const i of [0, 1]) for (const count of executionCounts(nodes, `spread${i}`).values()) expect(count).toBe(1)

      // Tabs and Node peers publish across each other: every subscriber gets each event once.
      await Promise.all([...tabs.map((tab, i) => tab.publish(TOPIC, `tab ${i}`)), ...nodes.map((node, i) => node.publish(TOPIC, `node ${i}`))])
      const published = ['tab 0', 'tab 1', 'node 0', 'node 1', 'node 2']
      const eventLogs = async () => [
        ...(await Promise.all(tabs.map((tab) => tab.events()))).map((events) => events.map((event) => event.value)),
        ...(await Promise.all(nodes.map((node) => node.events()))).map((events) => events.map((event) => event.value)),
      ]
      await waitFor('every subscriber to get the 5 events', async () => (await eventLogs()).every((log) => published.every((text) => log.includes(text))))
      for (const log of await eventLogs()) expect([...log].sort()).toEqual([...published].sort())

      // One member is SIGKILLed with requests in flight.
      const [victim, ...survivors] = nodes as [ClusterNodePeer, ...ClusterNodePeer[]]
      const loadBurst = { count: 60, concurrency: 8, timeoutMs: 15_000, workMs: 50 }
      const underLoad = Promise.all(tabs.map((tab, i) => tab.requestBurst(CLUSTER, { ...loadBurst, prefix: `load${i}` })))
      await waitFor('requests to be running at the victim', () => victim.executions.filter((id) => id.startsWith('load')).length >= 5)
      await victim.kill()
      const killedAt = performance.now()
      const outcomes = (await underLoad).flat()
      const failed = outcomes.filter((outcome) => outcome.code)
      const codes = [...new Set(failed.map((outcome) => outcome.code))]
      console.log(
        `[e2e clusters ${topology}] under load: ${outcomes.length - failed.length} answered, ${failed.length} failed (${codes.join(', ') || 'none'}), all settled ${Math.round(performance.now() - killedAt)} ms after the kill`,
      )
      expect(outcomes).toHaveLength(120)
      for (const code of codes) expect(['SERVICE_CLOSED', 'TIMEOUT']).toContain(code)
      const loadCounts = new Map([...executionCounts(nodes, 'load0'), ...executionCounts(nodes, 'load1')])
      for (const [requestId, count] of loadCounts) expect(count, `${requestId} ran ${count} times`).toBe(1)
      for (const outcome of outcomes) if (outcome.member) expect(loadCounts.get(outcome.requestId)).toBe(1)

      // Once the tabs' directories let the victim go, later requests go to the survivors.
      await waitFor(
        'the tabs to drop the killed member',
        async () => (await Promise.all(tabs.map((tab) => tab.directory()))).every((directory) => !(directory.clusters[CLUSTER] ?? []).includes(victim.id)),
        30_000,
      )
      console.log(`[e2e clusters ${topology}] the tabs dropped the killed member ${Math.round(performance.now() - killedAt)} ms after the kill`)
      const later = (await Promise.all(tabs.map((tab, i) => tab.requestBurst(CLUSTER, { ...burst, prefix: `later${i}` })))).flat()
      expect(later.filter((outcome) => outcome.code)).toEqual([])
      const laterServed = servedBy(later)
      expect([...laterServed.keys()].sort()).toEqual(survivors.map((node) => node.id).sort())
      console.log(`[e2e clusters ${topology}] done in ${Math.round(performance.now() - started)} ms`)
    })
  })
}
