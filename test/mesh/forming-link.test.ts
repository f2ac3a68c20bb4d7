/**
 * A call to a room member whose link is still forming waits for it, within the call's timeout
 * (src/mesh/forming-link.ts, issue 15 §3), over two link tables on memory links whose "offer" (the
 * other side starting its half) is held back until the test lets it through.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Messaging } from '../../src/mesh/messaging.js'
import { LinkTable, type SignalledLink } from '../../src/mesh/link-table.js'
import { awaitFormingLink } from '../../src/mesh/forming-link.js'
import { createMemoryLinkPair, type MemoryLinkPair } from '../../src/transport/memory-link.js'
import { delay, until } from '../rpc/helpers.js'

const ID_A = 'a'.repeat(32)
const ID_B = 'b'.repeat(32)

const signalled = (link: MemoryLinkPair['a']): SignalledLink => Object.assign(link, { acceptSignal: async () => {} })

function formingPair() {
  const members = new Set([ID_A, ID_B])
  const heldOffers: Array<() => void> = []
  const answering = new Map<string, MemoryLinkPair['b']>()
  const tables = new Map<string, LinkTable>()
  const messagings = new Map<string, Messaging>()
  for (const id of [ID_A, ID_B]) {
    const table = (): LinkTable => tables.get(id)!
    const messaging = new Messaging({
      id: () => id,
      connectionTo: (peer) => table().connectionTo(peer),
      awaitLink: (peer, options) => awaitFormingLink({ links: table(), isMember: (member) => members.has(member) }, peer, options),
      assertOpen: () => {},
      report: () => {},
    })
    messagings.set(id, messaging)
    tables.set(
      id,
      new LinkTable(
        {
          selfId: id,
          createLink: (peer, session, initiator) => {
            if (!initiator) return signalled(answering.get(session)!)
            const pair = createMemoryLinkPair()
            answering.set(session, pair.b)
            // Connecting (as a data channel before the answer) until the other side takes the offer.
            let open = false
            const linkState = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(pair.a), 'state')!.get!.bind(pair.a)
            Object.defineProperty(pair.a, 'state', { get: () => (open || linkState() === 'closed' ? linkState() : 'connecting') })
            heldOffers.push(() => {
              tables.get(peer)!.start(id, session, false)
              open = true
              pair.a.events.emit('open')
            })
            return signalled(pair.a)
          },
          router: messaging,
          heartbeatIntervalMs: 1_000,
          peerTimeoutMs: 5_000,
          exposeErrorStacks: false,
          limits: {},
          maxLinks: 16,
        },
        { joined: () => {}, left: () => {}, lost: () => {}, keepsIdleLink: () => true, report: () => {} },
      ),
    )
  }
  return {
    a: { messaging: messagings.get(ID_A)!, table: tables.get(ID_A)! },
    b: { messaging: messagings.get(ID_B)!, table: tables.get(ID_B)! },
    members,
    /** Lets the held offers through: the other side starts its half and the link forms. */
    deliverOffers: () => {
      for (const deliver of heldOffers.splice(0)) deliver()
    },
    close: () => Promise.all([...tables.values()].map((table) => table.close(100))),
  }
}

describe('a call to a room member whose link is still forming', () => {
  let pair: ReturnType<typeof formingPair> | undefined
  afterEach(async () => pair?.close())

  it('waits for the link and then goes through (a call and a send)', async () => {
    pair = formingPair()
    pair.b.messaging.register('double', (n: number) => n * 2)
    const inbox = pair.b.messaging.mailbox<string>('inbox')
    pair.a.table.ensure(ID_B) // the full topology started the link; the other side has not answered
    const called = pair.a.messaging.call(ID_B, 'double', 21, { timeout: 10_000 })
    const sent = pair.a.messaging.send(ID_B, 'inbox', 'hello')
    await delay(20)
    expect(pair.a.table.isJoined(ID_B)).toBe(false)
    pair.deliverOffers()
    expect(await called).toBe(42)
    await sent
    expect((await inbox.receive()).value).toBe('hello')
    inbox.close()
  })

  it('waits for a member this side does not initiate to (its offer comes later)', async () => {
    pair = formingPair()
    pair.a.messaging.register('hi', () => 'hi from a')
    const called = pair.b.messaging.call(ID_A, 'hi', null, { timeout: 10_000 })
    await delay(20)
    pair.a.table.ensure(ID_B)
    pair.deliverOffers()
    expect(await called).toBe('hi from a')
  })

  it('fails with PEER_NOT_CONNECTED once the timeout passes, or when the member leaves the room', async () => {
    pair = formingPair()
    pair.a.table.ensure(ID_B)
    await expect(pair.a.messaging.call(ID_B, 'x', 1, { timeout: 50 })).rejects.toMatchObject({ code: 'PEER_NOT_CONNECTED' })
    const leaving = pair.a.messaging.call(ID_B, 'x', 1, { timeout: 10_000 })
    await delay(10)
    pair.members.delete(ID_B)
    pair.a.table.abandon(ID_B) // what the topology does when the server says the peer left
    await expect(leaving).rejects.toMatchObject({ code: 'PEER_NOT_CONNECTED' })
  })

  it('fails with MESH_CLOSED when the mesh closes while the link forms, the peer still a member', async () => {
    // Before the fix the wait looped on microtasks for ever once the table had closed: the event loop starved.
    pair = formingPair()
    pair.a.table.ensure(ID_B)
    const waiting = pair.a.messaging.call(ID_B, 'x', 1, { timeout: 10_000 })
    await delay(10)
    await pair.a.table.close(100)
    await expect(waiting).rejects.toMatchObject({ code: 'MESH_CLOSED' })
    await expect(pair.a.messaging.call(ID_B, 'x', 1, { timeout: 10_000 })).rejects.toMatchObject({ code: 'MESH_CLOSED' })
  })

  it('a peer that is not a room member fails at once; an aborted call fails with ABORTED', async () => {
    pair = formingPair()
    const stranger = 'c'.repeat(32)
    await expect(pair.a.messaging.call(stranger, 'x', 1, { timeout: 60_000 })).rejects.toMatchObject({ code: 'PEER_NOT_CONNECTED' })
    const controller = new AbortController()
    const aborted = pair.a.messaging.call(ID_B, 'x', 1, { signal: controller.signal })
    controller.abort()
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('a remote-object call waits too', async () => {
    pair = formingPair()
    pair.b.messaging.expose('calc', { add: (x: number, y: number) => x + y })
    pair.a.table.ensure(ID_B)
    const sum = pair.a.messaging.remote<{ add(x: number, y: number): number }>(ID_B, 'calc').add(2, 3)
    await until('the link is being formed', () => pair!.a.table.get(ID_B) !== undefined)
    pair.deliverOffers()
    expect(await sum).toBe(5)
  })
})
