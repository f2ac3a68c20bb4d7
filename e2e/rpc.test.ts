/**
 * RPC end to end between a Chromium tab and a Node peer: the tab registers a mailbox and sends a
 * reference to it, the Node peer answers through the reference; the tab calls a remote object on the
 * Node peer and cancels a slow call, which the Node peer's method sees as its signal aborting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTabAndNodePeer, type NodePeer, type Tab, type TabAndNodePeer } from './support.js'

describe('RPC between a Chromium tab and a Node peer', () => {
  let peers: TabAndNodePeer
  let tab: Tab
  let node: NodePeer

  beforeAll(async () => {
    peers = await startTabAndNodePeer('e2e-rpc')
    ;({ tab, node } = peers)
  })

  afterAll(async () => peers?.stop())

  it('the Node peer answers through a mailbox reference the tab sent', async () => {
    const answer = await tab.askThroughReference(node.id, 'what time is it?')
    expect(answer).toEqual({ text: 'node heard: what time is it?', askedBy: tab.id, from: node.id })
  })

  it('the tab calls a remote object on the Node peer and cancels a slow call', async () => {
    expect(await tab.callRemoteObject(node.id)).toEqual({ sum: 5, cancelled: 'ABORTED', abortedOnPeer: 1 })
  })
})
