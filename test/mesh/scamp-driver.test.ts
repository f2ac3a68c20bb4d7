/**
 * ScampDriver (src/mesh/scamp-driver.ts) against a scripted host: messages wait for links,
 * a send that fails because its link went away waits once more for the next link, and gossip
 * values arrive as [origin, value].
 */
import { describe, expect, it } from 'vitest'
import { Codec } from '../../src/codec/codec.js'
import { messageIdAt } from '../../src/gossip/dissemination.js'
import { createRng, messageToWire, type GossipMessage } from '../../src/gossip/index.js'
import { SCAMP_MAILBOX, ScampDriver, type GossipMessageEvent, type ScampDriverHost } from '../../src/mesh/scamp-driver.js'

const SELF = 'a'.repeat(32)
const PEER = 'b'.repeat(32)

function scriptedHost() {
  const joined = new Set<string>()
  const sent: Array<{ peer: string; value: unknown }> = []
  const ensured: string[] = []
  const delivered: GossipMessageEvent[] = []
  const failed: unknown[] = []
  let failNext = 0
  const host: ScampDriverHost = {
    selfId: SELF,
    isJoined: (peer) => joined.has(peer),
    ensureLink: (peer) => void ensured.push(peer),
    send: async (peer, mailbox, value) => {
      expect(mailbox).toBe(SCAMP_MAILBOX)
      if (failNext > 0) {
        failNext--
        joined.delete(peer) // the link went away under the send
        failed.push(value)
        throw new Error('PEER_GONE')
      }
      sent.push({ peer, value })
    },
    release: () => {},
    disconnect: () => {},
    randomLinkedPeer: () => undefined,
    outsideContact: () => undefined,
    deliver: (message) => void delivered.push(message),
    report: () => {},
    learnRoute: () => {},
  }
  return { host, joined, sent, ensured, delivered, failed, failOnce: () => (failNext = 1) }
}

const subscribe = (subscriber: string): unknown =>
  messageToWire({ type: 'subscribe', subscriber, epoch: 1, walk: 0, fromDegree: 0, renewal: false } as GossipMessage)
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('ScampDriver', () => {
  it('a message for a peer without a link waits for it; one whose send fails waits once more for the next link', async () => {
    const t = scriptedHost()
    const driver = new ScampDriver(t.host, { heartbeatIntervalMs: 0, leaseMs: 0 })
    driver.start(undefined) // the first member
    driver.receive(PEER, subscribe(PEER)) // PEER subscribes through us: we answer it (contact)
    expect(t.sent).toEqual([])
    expect(t.ensured).toContain(PEER)

    t.joined.add(PEER)
    t.failOnce()
    driver.linkJoined(PEER) // the first send fails: the link was being replaced
    await settle()
    expect(t.failed).toHaveLength(1)
    expect(t.sent.map((s) => s.value)).not.toContainEqual(t.failed[0])
    t.joined.add(PEER)
    driver.linkJoined(PEER) // the replacement link delivers it
    await settle()
    expect(t.sent.map((s) => s.value)).toContainEqual(t.failed[0])
    await driver.leave()
  })

  it('publishes [origin, value] and hands received gossip to the host once', async () => {
    const a = scriptedHost()
    const driver = new ScampDriver(a.host, { heartbeatIntervalMs: 0, leaseMs: 0 })
    driver.start(undefined)
    const id = messageIdAt(Date.now(), createRng(1))
    const payload = new Codec().encode([PEER, { n: 1 }])
    driver.receive(PEER, messageToWire({ type: 'gossip', id, payload }))
    driver.receive(PEER, messageToWire({ type: 'gossip', id, payload }))
    expect(a.delivered).toEqual([{ origin: PEER, via: PEER, id, value: { n: 1 } }])
    await driver.leave()
  })
})
