/**
 * RPC end to end between a Chromium tab and a Node peer: the tab registers a mailbox and sends a
 * reference to it, the Node peer answers through the reference; the tab calls a remote object on the
 * Node peer and cancels a slow call, which the Node peer's method sees as its signal aborting.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodePeer, SignalingProcess, Tab, freePort, launchChromium, startHarnessServer, waitFor } from './support.js'

describe('RPC between a Chromium tab and a Node peer', () => {
  let signaling: SignalingProcess
  let harness: { url: string; close(): Promise<void> }
  let browser: Browser
  let node: NodePeer | undefined
  let tab: Tab

  beforeAll(async () => {
    signaling = await SignalingProcess.start(await freePort())
    harness = await startHarnessServer()
    browser = await launchChromium()
    tab = await Tab.open(browser, harness.url, signaling.url, 'e2e-rpc')
    node = await NodePeer.start(signaling.url, 'e2e-rpc')
    await waitFor('the tab and the Node peer to connect', async () => (await tab.peers()).includes(node!.id))
  })

  afterAll(async () => {
    await node?.stop()
    await browser?.close()
    await harness?.close()
    await signaling?.kill()
  })

  it('the Node peer answers through a mailbox reference the tab sent', async () => {
    const answer = await tab.askThroughReference(node!.id, 'what time is it?')
    expect(answer).toEqual({ text: 'node heard: what time is it?', askedBy: tab.id, from: node!.id })
  })

  it('the tab calls a remote object on the Node peer and cancels a slow call', async () => {
    expect(await tab.callRemoteObject(node!.id)).toEqual({ sum: 5, cancelled: 'ABORTED', abortedOnPeer: 1 })
  })
})
