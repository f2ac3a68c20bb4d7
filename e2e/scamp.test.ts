/**
 * The scamp topology end to end: 24 Node peers (3 processes of 8) and 3 Chromium tabs join one
 * scamp room, each through the one contact the signaling server names. Every peer receives every
 * gossiped message; after one process (8 peers, a third of the Node peers) is SIGKILLed, every
 * survivor still receives new messages. Each peer's WebRTC links are printed next to its SCAMP
 * partial view and in-view.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ScampNodeGroup, ScampTab, SignalingProcess, freePort, launchChromium, startHarnessServer, waitFor, type ScampViews } from './support.js'

const ROOM = 'e2e-scamp'
const GROUPS = 3
const PEERS_PER_GROUP = 8
const TABS = 3
/**
 * SCAMP's timers, shortened so the test's recovery fits in seconds: a peer whose holders were all
 * killed hears no heartbeat for `isolationTimeoutMs` and subscribes again. (Defaults: 10 s / 45 s / 10 s.)
 */
const GOSSIP = { heartbeatIntervalMs: 1_000, isolationTimeoutMs: 5_000, subscribeTimeoutMs: 3_000 }

describe('scamp topology: 24 Node peers and 3 tabs', () => {
  let signaling: SignalingProcess
  let harness: { url: string; close(): Promise<void> }
  let browser: Browser
  const groups: ScampNodeGroup[] = []
  const tabs: ScampTab[] = []

  beforeAll(async () => {
    signaling = await SignalingProcess.start(await freePort())
    harness = await startHarnessServer()
    browser = await launchChromium()
  })

  afterAll(async () => {
    await Promise.allSettled(groups.map((group) => group.stop()))
    await browser?.close()
    await harness?.close()
    await signaling?.kill()
  })

  const allViews = async (liveGroups: ScampNodeGroup[]): Promise<Array<ScampViews & { kind: string }>> => [
    ...(await Promise.all(liveGroups.map((group) => group.views()))).flat().map((views) => ({ ...views, kind: 'node' })),
    ...(await Promise.all(tabs.map((tab) => tab.views()))).map((views) => ({ ...views, kind: 'tab' })),
  ]

  const printLinks = (title: string, views: Array<ScampViews & { kind: string }>) => {
    const rows = views.map(
      (v) =>
        `${v.kind.padEnd(4)} ${v.id.slice(0, 8)}  links ${String(v.links.length).padStart(2)}  partial view ${String(v.partialView.length).padStart(2)}  in-view ${String(v.inView.length).padStart(2)}  pv ∪ in-view ${String(new Set([...v.partialView, ...v.inView]).size).padStart(2)}`,
    )
    const mean = (pick: (v: ScampViews) => number) => (views.reduce((sum, v) => sum + pick(v), 0) / views.length).toFixed(1)
    console.log(
      `[e2e] ${title}\n${rows.join('\n')}\n  mean: links ${mean((v) => v.links.length)}, partial view ${mean((v) => v.partialView.length)}, in-view ${mean((v) => v.inView.length)}`,
    )
  }

  /** Waits until every live peer has every text, except the one who published it. */
  const everyoneReceives = async (liveGroups: ScampNodeGroup[], published: Map<string, string>, timeoutMs = 30_000) => {
    const missing = async () => {
      const nodeLogs = (await Promise.all(liveGroups.map((group) => group.received()))).flat()
      const tabLogs = await Promise.all(tabs.map(async (tab) => ({ id: tab.id, texts: await tab.received() })))
      return [...nodeLogs, ...tabLogs].filter((log) => ![...published].every(([text, publisher]) => publisher === log.id || log.texts.includes(text)))
    }
    try {
      await waitFor(`every live peer to receive ${[...published.keys()].join(', ')}`, async () => (await missing()).length === 0, timeoutMs)
    } catch (error) {
      const lacking = new Set((await missing()).map((log) => log.id))
      printLinks(
        'when the wait gave up (* lacks a message)',
        (await allViews(liveGroups)).map((v) => ({ ...v, kind: `${lacking.has(v.id) ? '*' : ''}${v.kind}` })),
      )
      for (const v of await allViews(liveGroups))
        console.log(`${v.id.slice(0, 8)} pv ${v.partialView.map((p) => p.slice(0, 8)).join(' ')} | in ${v.inView.map((p) => p.slice(0, 8)).join(' ')}`)
      // What the peers reported, most frequent first: why a message did not get through.
      const reported = [
        ...(await Promise.all(liveGroups.map((group) => group.errors()))).flat().flatMap((peer) => peer.errors),
        ...(await Promise.all(tabs.map((tab) => tab.errors()))).flat(),
      ]
      const counts = new Map<string, number>()
      for (const text of reported) counts.set(text.slice(0, 120), (counts.get(text.slice(0, 120)) ?? 0) + 1)
      console.log(
        `[e2e] errors reported: ${reported.length}\n${[...counts]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 12)
          .map(([text, n]) => `  ${n} × ${text}`)
          .join('\n')}`,
      )
      throw error
    }
  }

  const publishFromTab = async (tab: ScampTab, text: string): Promise<[string, string]> => {
    await tab.publish(text)
    return [text, tab.id]
  }
  const publishFromNode = async (group: ScampNodeGroup, index: number, text: string): Promise<[string, string]> => {
    await group.publish(index, text)
    return [text, (await group.ids())[index]!]
  }

  it('every peer receives every gossiped message, also after a third of the Node peers are killed', async () => {
    const started = performance.now()
    for (let i = 0; i < GROUPS; i++) groups.push(await ScampNodeGroup.start(signaling.url, ROOM, PEERS_PER_GROUP, GOSSIP))
    for (let i = 0; i < TABS; i++) tabs.push(await ScampTab.open(browser, harness.url, signaling.url, ROOM, GOSSIP))
    const ids = [...(await Promise.all(groups.map((group) => group.ids()))).flat(), ...tabs.map((tab) => tab.id)]
    expect(new Set(ids).size).toBe(GROUPS * PEERS_PER_GROUP + TABS)

    // Everyone is in the group: held by someone and holding someone.
    await waitFor(
      'every peer to have a partial view and an in-view',
      async () => (await allViews(groups)).every((v) => v.partialView.length > 0 && v.inView.length > 0),
      30_000,
    )
    console.log(`[e2e] ${ids.length} peers joined the scamp room in ${Math.round(performance.now() - started)} ms`)

    // A tab and a Node peer publish; every other peer gets both.
    await everyoneReceives(groups, new Map([await publishFromTab(tabs[0]!, 'from a tab'), await publishFromNode(groups[1]!, 3, 'from a node peer')]))
    const before = await allViews(groups)
    printLinks('before the kill', before)
    // Links follow the views: far fewer than a full mesh's 26 each.
    const meanLinks = before.reduce((sum, v) => sum + v.links.length, 0) / before.length
    expect(meanLinks).toBeLessThan(ids.length - 1)

    // Kill one process: 8 of the 24 Node peers vanish without a goodbye.
    const killed = new Set(await groups[2]!.ids())
    await groups[2]!.kill()
    const survivors = groups.slice(0, 2)
    const killedAt = performance.now()
    await waitFor(
      'the survivors to drop the killed peers from their views',
      async () => (await allViews(survivors)).every((v) => ![...v.partialView, ...v.inView, ...v.links].some((peer) => killed.has(peer))),
      30_000,
    )
    // A survivor whose partial view or in-view died with the killed process subscribes again
    // (need-contact, isolation recovery); then the group is whole again.
    await waitFor(
      'every survivor to hold someone and be held',
      async () => (await allViews(survivors)).every((v) => v.partialView.length > 0 && v.inView.length > 0),
      30_000,
    )
    console.log(`[e2e] the killed peers left every view, and every survivor holds and is held, ${Math.round(performance.now() - killedAt)} ms after the kill`)

    // Gossip is a best-effort flood (no retransmission): a forward racing a link that is being
    // replaced is lost. So rounds of two new messages (a tab's and a Node peer's) are published until
    // one round reaches every survivor; the rounds it took are printed.
    let rounds = 0
    for (;;) {
      rounds++
      const published = new Map([
        await publishFromTab(tabs[rounds % TABS]!, `after the kill, round ${rounds}, from a tab`),
        await publishFromNode(survivors[rounds % 2]!, rounds, `after the kill, round ${rounds}, from a node peer`),
      ])
      try {
        await everyoneReceives(survivors, published, 10_000)
        break
      } catch (error) {
        if (rounds >= 4) throw error
      }
    }
    console.log(`[e2e] every survivor received both messages of round ${rounds} (rounds before it missed someone: ${rounds - 1})`)
    const after = await allViews(survivors)
    printLinks('after the kill', after)
  })
})
