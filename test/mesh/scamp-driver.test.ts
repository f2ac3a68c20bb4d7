/**
 * ScampDriver (src/mesh/scamp-driver.ts) against a scripted host: messages wait for links,
 * a send that fails because its link went away waits once more for the next link, and gossip
 * goes out signed and is delivered once, verified (the forgeries: test/attacks/scamp.test.ts).
 */
import { describe, expect, it } from 'vitest'
import type { MeshscopeError } from '../../src/errors.js'
import { messageToWire, type GossipMessage } from '../../src/gossip/index.js'
import { Identity } from '../../src/identity/identity.js'
import { SCAMP_MAILBOX, ScampDriver, type GossipMessageEvent, type ScampDriverHost } from '../../src/mesh/scamp-driver.js'

const self = await Identity.generate()
const peer = await Identity.generate()
const SELF = self.id
const PEER = peer.id

function scriptedHost(identity: Identity = self) {
  const joined = new Set<string>()
  const sent: Array<{ peer: string; value: unknown }> = []
  const ensured: string[] = []
  const delivered: GossipMessageEvent[] = []
  const failed: unknown[] = []
  let failNext = 0
  const reports: MeshscopeError[] = []
  const disconnected: string[] = []
  const host: ScampDriverHost = {
    selfId: identity.id,
    publicKey: identity.publicKey,
    sign: (text) => identity.sign(text, 'gossip'),
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
    disconnect: (peer) => void disconnected.push(peer),
    randomLinkedPeer: () => undefined,
    outsideContact: () => undefined,
    deliver: (message) => void delivered.push(message),
    report: (error) => void reports.push(error),
    learnRoute: () => {},
  }
  return { host, joined, sent, ensured, delivered, failed, reports, disconnected, failOnce: () => (failNext = 1) }
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

  it('publishes signed gossip, and hands a received message to the host once, verified', async () => {
    const publisher = scriptedHost(peer)
    const sender = new ScampDriver(publisher.host, { heartbeatIntervalMs: 0, leaseMs: 0 })
    sender.start(undefined)
    sender.receive(SELF, subscribe(SELF)) // SELF subscribes through PEER: PEER holds SELF
    publisher.joined.add(SELF)
    sender.linkJoined(SELF)
    const id = sender.publish({ n: 1 })
    await until(() => publisher.sent.some((s) => (s.value as unknown[])[0] === 7))
    const wire = publisher.sent.find((s) => (s.value as unknown[])[0] === 7)!.value

    const a = scriptedHost()
    const driver = new ScampDriver(a.host, { heartbeatIntervalMs: 0, leaseMs: 0 })
    driver.start(undefined)
    driver.receive(PEER, wire)
    driver.receive(PEER, wire) // a copy while the first is being verified
    await until(() => a.delivered.length > 0)
    driver.receive(PEER, wire) // a copy after
    await settle()
    expect(a.delivered).toEqual([{ origin: PEER, via: PEER, id, value: { n: 1 } }])
    expect(a.reports).toEqual([])
    await Promise.all([driver.leave(), sender.leave()])
  })
})

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(condition()).toBe(true)
}
