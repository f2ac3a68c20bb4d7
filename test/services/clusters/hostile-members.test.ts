/**
 * What a hostile room member could do to the cluster directory and to request balancing, found by an
 * attacker's review, each performed here and refused: announcements that lock the directory, a
 * restart that hides a member's new membership, a member claiming unbounded spare capacity, tiny
 * broadcasts queued by the million, tunnels closed at the other end kept for good, a peer that
 * never answers holding up serve(), and (in a scamp room) phantom members: made-up ids gossiped as
 * members, which drew requests to links that never open. Over an in-process network of Clusters (the directory and
 * balancing are what is under test; the mesh's links are not).
 */
import { describe, expect, test } from 'vitest'
import { MeshscopeError } from '../../../src/errors.js'
import { ClusterDirectory } from '../../../src/services/clusters/directory.js'
import { DIRECTORY_LIMITS, GOSSIP_DIRECTORY, MEMBER_LINKS } from '../../../src/services/clusters/limits.js'
import { DIRECTORY_MAILBOX, MAX_REPORTED_SPARE } from '../../../src/services/clusters/protocol.js'
import { QUEUED_DELIVERY_BYTES, Service } from '../../../src/services/clusters/service.js'
import { fakeNetwork } from './fake-network.js'
import { delay } from '../../until.js'

/** The fake network, with timeouts honoured as the mesh's calls honour them. */
function network(ids: string[], options: { silent?: string[] } = {}) {
  return fakeNetwork(ids, { ...options, timeouts: true, callTimeoutMs: 30_000 })
}

describe('hostile members and the directory', () => {
  test('malformed announcements from maxPeers throwaway identities take no place: an honest member is still listed', () => {
    const now = 0
    const directory = new ClusterDirectory('self', () => now)
    for (let i = 0; i < DIRECTORY_LIMITS.maxPeers; i++)
      expect(directory.accept(`sybil${i}`, 'garbage', now + GOSSIP_DIRECTORY.expiryMs)).toBeInstanceOf(MeshscopeError)
    expect(directory.accept('honest', [1, [['svc', 4]], []], now + GOSSIP_DIRECTORY.expiryMs)).toBeUndefined()
    expect(directory.membersOf('svc')).toEqual(['honest'])
  })

  test('an older announcement (a late copy) does not keep an entry alive; a restarted peer numbers from its clock, above what it said before', async () => {
    let now = 0
    const directory = new ClusterDirectory('self', () => now)
    directory.accept('p', [500, [['old', 4]], []], now + GOSSIP_DIRECTORY.expiryMs)
    now += GOSSIP_DIRECTORY.expiryMs - 1
    directory.accept('p', [499, [['old', 4]], []], now + GOSSIP_DIRECTORY.expiryMs)
    now += 2
    expect(directory.membersOf('old')).toEqual([]) // expired: the late copy did not extend it
    // A Clusters' first announcement is numbered from the clock.
    const net = network(['a', 'b'])
    await net.node('b').serve('svc', { request: (value) => value })
    const seen: unknown[] = []
    await net.deliver('b', 'a', DIRECTORY_MAILBOX, 'probe').catch(() => {})
    expect(seen).toEqual([])
    expect(net.node('a').directory.membersOf('svc')).toEqual(['b'])
  })

  test(`a member claiming unbounded spare capacity (taken as ${MAX_REPORTED_SPARE} at most) that never answers gets one request, not all`, async () => {
    const net = network(['a', 'b', 'evil'])
    await net.node('b').serve('svc', { request: (value) => value })
    await net.node('evil').serve('svc', { request: () => new Promise(() => {}) })
    await delay(100)
    await net.deliver('evil', 'a', DIRECTORY_MAILBOX, [10 * Date.now(), [['svc', Number.MAX_SAFE_INTEGER]], []])
    // The first request goes to the hostile member (it claims the most) and times out; from then on
    // it counts as having nothing spare, and the honest member takes the rest.
    const outcomes: string[] = []
    for (let i = 0; i < 10; i++)
      outcomes.push(
        await net
          .node('a')
          .request('svc', i, { timeout: 100 })
          .then(
            () => 'ok',
            (error: { code: string }) => error.code,
          ),
      )
    expect(outcomes).toEqual(['TIMEOUT', ...Array.from({ length: 9 }, () => 'ok')])
  })

  test(`a queued broadcast costs its payload plus ${QUEUED_DELIVERY_BYTES} B: tiny broadcasts cannot queue by the million`, () => {
    const service = new Service(
      'c',
      { broadcast: () => new Promise(() => {}) },
      { requestConcurrency: 1, requestMemory: 1024 * 1024 },
      () => {},
      () => {},
      Date.now,
    )
    const context = { from: 'evil', signal: new AbortController().signal }
    for (let i = 0; i < 10_000; i++) service.broadcast(null, context)
    const stats = service.stats().broadcasts
    expect(stats.queued).toBeLessThanOrEqual((1024 * 1024) / QUEUED_DELIVERY_BYTES)
    expect(stats.overMemory).toBeGreaterThan(8_900)
  })

  test('a tunnel closed at the other end is forgotten by its service, also when the handler only iterates', async () => {
    const net = network(['a', 'b'])
    const service = await net.node('b').serve('t', {
      tunnel: async (tunnel) => {
        for await (const message of tunnel) await tunnel.send(message)
      },
    })
    await delay(50)
    for (let i = 0; i < 20; i++) {
      const tunnel = await net.node('a').tunnel('t')
      await tunnel.send(i)
      expect(await tunnel.receive()).toBe(i)
      tunnel.close()
    }
    await delay(100)
    expect(service.stats().tunnels).toBe(0)
  })

  test('tunnels past maxTunnels are refused with SERVICE_OVERLOADED; closing one makes room', async () => {
    const net = network(['a', 'b'])
    const service = await net.node('b').serve('t', { tunnel: async (tunnel) => void (await tunnel.receive().catch(() => {})) }, { maxTunnels: 2 })
    await delay(50)
    const open = [await net.node('a').tunnel('t'), await net.node('a').tunnel('t')]
    await expect(net.node('a').tunnel('t')).rejects.toMatchObject({ code: 'SERVICE_OVERLOADED' })
    expect(service.stats().tunnels).toBe(2)
    open[0]!.close()
    await delay(50)
    const another = await net.node('a').tunnel('t')
    expect(service.stats().tunnels).toBe(2)
    for (const tunnel of [open[1]!, another]) tunnel.close()
  })

  test('a linked peer that never answers announcements holds up serve() and subscribe() for 2 s at most, not callTimeoutMs', async () => {
    const net = network(['a', 'silent'], { silent: ['silent'] })
    const started = Date.now()
    await Promise.all([net.node('a').serve('svc', { request: (value) => value }), net.node('a').subscribe('topic', () => {})])
    expect(Date.now() - started).toBeLessThan(4_000)
  })
})

/**
 * Phantom members: in a scamp room a hostile member gossips directory announcements for made-up ids,
 * each validly signed by a throwaway key, claiming all the spare capacity there is. A request drawn to
 * a phantom waits for an on-demand link that never opens (holding a link slot up to connectTimeoutMs).
 * Before the fix (MEMBER_LINKS), the 8 requests of the first test beside one honest member all failed
 * with TIMEOUT, each request holding a link attempt to a phantom. After it: all 8 answered by the
 * honest member, with 4 link attempts in all.
 */
describe('phantom members announced by gossip in a scamp room', () => {
  const PHANTOMS = 64
  const announcePhantoms = (node: { takeGossip(message: { origin: string; value: unknown }): boolean }, seq: number) => {
    for (let i = 0; i < PHANTOMS; i++)
      node.takeGossip({ origin: `phantom${i}`, value: { '__meshscope.clusters': [seq, [['svc', Number.MAX_SAFE_INTEGER]], []] } })
  }

  test('requests go to the member that answers, link attempts to phantoms are bounded, and a phantom that failed one is dropped', async () => {
    const net = fakeNetwork(['a', 'b'], { timeouts: true, callTimeoutMs: 30_000, scamp: { linkAttemptMs: 300 } })
    await net.node('b').serve('svc', { request: (value) => value })
    await delay(100)
    announcePhantoms(net.node('a'), 1)
    expect(net.node('a').directory.membersOf('svc')).toHaveLength(PHANTOMS + 1)
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        net
          .node('a')
          .request('svc', i, { timeout: 1_000 })
          .then(
            (value) => `ok ${value}`,
            (error: { code: string }) => error.code,
          ),
      ),
    )
    console.log(
      `phantoms: 8 requests ${outcomes.filter((o) => o.startsWith('ok')).length} answered; link attempts ${net.linkAttempts.total}, at most ${net.linkAttempts.peak} at once`,
    )
    expect(outcomes).toEqual(Array.from({ length: 8 }, (_, i) => `ok ${i}`))
    expect(net.linkAttempts.peak).toBeLessThanOrEqual(MEMBER_LINKS.maxAttempts)
    // Once the attempts fail, the phantoms tried are gone, and their announcements are not taken back.
    await delay(400)
    const left = net.node('a').directory.membersOf('svc').length
    expect(left).toBeLessThan(PHANTOMS + 1)
    announcePhantoms(net.node('a'), 2)
    expect(net.node('a').directory.membersOf('svc')).toHaveLength(left)
  })

  test('with no linked member, requests wait for a bounded number of link attempts and reach the honest member once the phantoms are dropped', async () => {
    const net = fakeNetwork(['a', 'b'], { timeouts: true, callTimeoutMs: 30_000, scamp: { linkAttemptMs: 50 } })
    await net.node('b').serve('svc', { request: (value) => value })
    await delay(100)
    announcePhantoms(net.node('a'), 1)
    net.unlink('a', 'b') // b is reachable, but only through an on-demand link
    const reply = await net.node('a').request('svc', 'hello', { timeout: 10_000 })
    expect(reply).toBe('hello')
    expect(net.linkAttempts.peak).toBeLessThanOrEqual(MEMBER_LINKS.maxAttempts)
  })
})
