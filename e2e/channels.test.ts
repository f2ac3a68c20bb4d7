/**
 * Channels end to end, between a Chromium tab and a Node peer: channel halves travel inside a mailbox
 * message, a 50 MB bytes transfer runs while 200 small messages flow each way on other channels,
 * every byte arrives intact and every message in order.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodePeer, SignalingProcess, Tab, freePort, launchChromium, startHarnessServer, waitFor } from './support.js'

describe('channels between a Chromium tab and a Node peer', () => {
  let signaling: SignalingProcess
  let harness: { url: string; close(): Promise<void> }
  let browser: Browser
  let node: NodePeer | undefined

  beforeAll(async () => {
    signaling = await SignalingProcess.start(await freePort())
    harness = await startHarnessServer()
    browser = await launchChromium()
  })

  afterAll(async () => {
    await node?.stop()
    await browser?.close()
    await harness?.close()
    await signaling?.kill()
  })

  it('50 MB through a bytes channel while 200 small messages flow each way', async () => {
    const tab = await Tab.open(browser, harness.url, signaling.url, 'e2e-channels')
    node = await NodePeer.start(signaling.url, 'e2e-channels')
    await waitFor('the tab and the Node peer to connect', async () => (await tab.peers()).includes(node!.id))
    const totalBytes = 50 * 1000 * 1000
    const result = await tab.transfer(node.id, totalBytes)
    console.log(
      `[e2e] 50 MB Node → tab with 2×200 small messages alongside: ${result.ms.toFixed(0)} ms (${(totalBytes / 1e6 / (result.ms / 1000)).toFixed(1)} MB/s)`,
    )
    expect(result).toMatchObject({ received: totalBytes, intact: true, inOrder: true, peerInOrder: true })
  })
})
