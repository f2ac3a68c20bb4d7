/**
 * The foundation end to end: 4 Chromium tabs and 2 Node peers form a full mesh through a real signaling
 * server, talk over every pair, notice a closed tab and a killed process through their links, and keep
 * talking while the signaling server is dead; after it restarts a new tab still joins everyone.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodePeer, SignalingProcess, Tab, freePort, launchChromium, startHarnessServer, waitFor, type Participant } from './support.js'

const ROOM = 'e2e-mesh'

describe('full mesh of Chromium tabs and Node peers', () => {
  let signaling: SignalingProcess
  let harness: { url: string; close(): Promise<void> }
  let browser: Browser
  const nodePeers: NodePeer[] = []
  let tabs: Tab[] = []

  beforeAll(async () => {
    signaling = await SignalingProcess.start(await freePort())
    harness = await startHarnessServer()
    browser = await launchChromium()
  })

  afterAll(async () => {
    await Promise.allSettled(nodePeers.map((peer) => peer.stop()))
    await browser?.close()
    await harness?.close()
    await signaling?.kill()
  })

  const expectFullMesh = async (participants: Participant[], timeoutMs = 30_000) => {
    const ids = participants.map((participant) => participant.id)
    await waitFor(
      'every pair to be connected',
      async () => {
        const views = await Promise.all(participants.map((participant) => participant.peers()))
        return views.every((peers, i) =>
          sameSet(
            peers,
            ids.filter((id) => id !== ids[i]),
          ),
        )
      },
      timeoutMs,
    )
  }

  const expectEveryPairTalks = async (participants: Participant[], tag: string) => {
    await Promise.all(
      participants.flatMap((sender) =>
        participants.filter((receiver) => receiver !== sender).map((receiver) => sender.sendText(receiver.id, `${tag} from ${sender.id} to ${receiver.id}`)),
      ),
    )
    for (const receiver of participants) {
      const expected = participants.filter((sender) => sender !== receiver).map((sender) => `${tag} from ${sender.id} to ${receiver.id}`)
      await waitFor(`${receiver.id.slice(0, 8)} to receive every ${tag} message`, async () => {
        const texts = new Set((await receiver.received()).map((message) => message.text))
        return expected.every((text) => texts.has(text))
      })
    }
  }

  it('4 tabs and 2 Node peers form a full mesh and exchange messages between every pair', async () => {
    const started = performance.now()
    const joining = [0, 1, 2, 3].map(() => Tab.open(browser, harness.url, signaling.url, ROOM))
    nodePeers.push(await NodePeer.start(signaling.url, ROOM), await NodePeer.start(signaling.url, ROOM))
    tabs = await Promise.all(joining)
    const everyone: Participant[] = [...tabs, ...nodePeers]
    await expectFullMesh(everyone)
    const formedMs = performance.now() - started
    console.log(`[e2e] 4 tabs + 2 Node peers: full mesh (15 links) formed in ${formedMs.toFixed(0)} ms from the first join`)
    await expectEveryPairTalks(everyone, 'hello')
  })

  it('a closed tab and a killed Node peer are seen as gone by everyone, through the links', async () => {
    const closedTab = tabs.pop()!
    const killed = nodePeers.pop()!
    const survivors: Participant[] = [...tabs, ...nodePeers]

    const closedAt = performance.now()
    await closedTab.page.close()
    await waitFor(
      'everyone to see the closed tab leave',
      async () => (await Promise.all(survivors.map((p) => p.peers()))).every((peers) => !peers.includes(closedTab.id)),
      15_000,
    )
    const tabLeaveReasons = await Promise.all(survivors.map(async (p) => (await p.leaves()).find((leave) => leave.id === closedTab.id)?.reason))
    console.log(`[e2e] closed tab seen as gone by all in ${(performance.now() - closedAt).toFixed(0)} ms (reasons: ${tabLeaveReasons.join(', ')})`)

    const killedAt = performance.now()
    await killed.kill()
    await waitFor(
      'everyone to see the killed Node peer leave',
      async () => (await Promise.all(survivors.map((p) => p.peers()))).every((peers) => !peers.includes(killed.id)),
      15_000,
    )
    const killedLeaveReasons = await Promise.all(survivors.map(async (p) => (await p.leaves()).find((leave) => leave.id === killed.id)?.reason))
    console.log(`[e2e] killed Node peer seen as gone by all in ${(performance.now() - killedAt).toFixed(0)} ms (reasons: ${killedLeaveReasons.join(', ')})`)

    for (const survivor of survivors) {
      const leaves = await survivor.leaves()
      expect(leaves.map((leave) => leave.id)).toEqual(expect.arrayContaining([closedTab.id, killed.id]))
      // The killed process said nothing: only the heartbeat or the transport can have noticed.
      expect(leaves.find((leave) => leave.id === killed.id)?.reason).not.toBe('goodbye')
    }
    await expectFullMesh(survivors)
  })

  it('with the signaling server dead, messages keep flowing; after it restarts a new tab joins everyone', async () => {
    const survivors: Participant[] = [...tabs, ...nodePeers]
    await signaling.kill()
    await waitFor('everyone to notice the signaling server is gone', async () =>
      (await Promise.all(survivors.map((p) => p.signalingState()))).every((state) => state !== 'joined'),
    )
    await expectEveryPairTalks(survivors, 'during-outage')
    await expectFullMesh(survivors)

    signaling = await SignalingProcess.start(signaling.port)
    await waitFor(
      'everyone to rejoin the restarted server',
      async () => (await Promise.all(survivors.map((p) => p.signalingState()))).every((state) => state === 'joined'),
      20_000,
    )
    const newcomer = await Tab.open(browser, harness.url, signaling.url, ROOM)
    tabs.push(newcomer)
    const everyone: Participant[] = [...survivors, newcomer]
    await expectFullMesh(everyone)
    await expectEveryPairTalks(everyone, 'after-restart')
  })
})

function sameSet(actual: string[], expected: string[]): boolean {
  return actual.length === expected.length && expected.every((id) => actual.includes(id))
}
