/**
 * LinkTable (src/mesh/link-table.ts) over memory link pairs: two tables, and a switchboard that plays
 * the signals' part (an attempt one side starts is answered on the other with the same session).
 * Joins, leaves, lost links, retries, on-demand links and idle closing, as the host sees them.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Messaging } from '../../src/mesh/messaging.js'
import { LinkTable, type LinkTableHost, type SignalledLink } from '../../src/mesh/link-table.js'
import type { PeerLeaveReason } from '../../src/mesh/public-types.js'
import { createMemoryLinkPair, type MemoryLinkPair } from '../../src/transport/memory-link.js'
import { delay, until } from '../rpc/helpers.js'

const ID_A = 'a'.repeat(32)
const ID_B = 'b'.repeat(32)

interface Side {
  id: string
  table: LinkTable
  joined: string[]
  left: string[]
  lost: string[]
  keepIdle: boolean
  /** Codes the table reported. */
  errors: string[]
}

const signalled = (link: MemoryLinkPair['a']): SignalledLink => Object.assign(link, { acceptSignal: async () => {} })

/** Two link tables whose attempts meet over memory pairs; `pairs` holds every pair made, newest last. */
function twoTables(options: { retryMs?: number; maxLinks?: number; createLinkThrows?: boolean; bulkLaneDelayMs?: number } = {}) {
  const sides = new Map<string, Side>()
  const pairs: MemoryLinkPair[] = []
  const answering = new Map<string, MemoryLinkPair['b']>()
  const side = (id: string): Side => {
    const record: Side = { id, joined: [], left: [], lost: [], keepIdle: false, errors: [] } as unknown as Side
    const host: LinkTableHost = {
      joined: (peer) => void record.joined.push(peer),
      left: (peer, reason: PeerLeaveReason) => void record.left.push(`${peer.slice(0, 1)}:${reason}`),
      lost: (peer) => void record.lost.push(peer),
      keepsIdleLink: () => record.keepIdle,
      report: (error) => void record.errors.push(error.code),
    }
    const router: Messaging = new Messaging({ id: () => id, connectionTo: (peer) => record.table.connectionTo(peer), assertOpen: () => {}, report: () => {} })
    record.table = new LinkTable(
      {
        selfId: id,
        createLink: (peer, session, initiator) => {
          if (options.createLinkThrows) throw new Error('RTCPeerConnection: too many connections')
          if (!initiator) return signalled(answering.get(session)!)
          const pair = createMemoryLinkPair({ bulkLaneDelayMs: options.bulkLaneDelayMs })
          pairs.push(pair)
          answering.set(session, pair.b)
          sides.get(peer)!.table.start(id, session, false) // the offer arrives at once
          return signalled(pair.a)
        },
        router,
        heartbeatIntervalMs: 1_000,
        peerTimeoutMs: 5_000,
        exposeErrorStacks: false,
        limits: {},
        maxLinks: options.maxLinks ?? 256,
        ...(options.retryMs ? { retryBackoff: { initialDelayMs: options.retryMs, maxDelayMs: options.retryMs, random: () => 1 } } : {}),
      },
      host,
    )
    sides.set(id, record)
    return record
  }
  return { a: side(ID_A), b: side(ID_B), pairs }
}

let open: LinkTable[] = []
afterEach(async () => {
  await Promise.all(open.map((table) => table.close(100)))
  open = []
})

function tables(options: Parameters<typeof twoTables>[0] = {}) {
  const t = twoTables(options)
  open.push(t.a.table, t.b.table)
  return t
}

describe('LinkTable', () => {
  it('a started link joins on both sides once the session is ready; a lost one is reported left and lost', async () => {
    const { a, b, pairs } = tables()
    a.table.ensure(ID_B)
    a.table.ensure(ID_B) // one attempt per peer
    expect(pairs).toHaveLength(1)
    expect(a.table.connectionTo(ID_B)).toBeUndefined() // not before the handshake
    await until('both joined', () => a.joined.length === 1 && b.joined.length === 1)
    expect(a.table.peers).toEqual([ID_B])
    expect(b.table.peers).toEqual([ID_A])
    expect(a.table.connectionTo(ID_B)?.peerId).toBe(ID_B)

    pairs[0]!.sever()
    await until('both left', () => a.left.length === 1 && b.left.length === 1)
    expect(a.left).toEqual(['b:failed'])
    expect(b.left).toEqual(['a:failed'])
    expect(a.lost).toEqual([ID_B])
    expect(a.table.peers).toEqual([])
    expect(a.table.connectionTo(ID_B)).toBeUndefined()
  })

  it('maxLinks: a link past it is not started — reported TOO_MANY_LINKS and lost, a connect rejects with the code', async () => {
    const { a } = tables({ maxLinks: 1 })
    a.table.enableOnDemand(60_000)
    a.table.ensure(ID_B) // the one allowed
    const third = 'c'.repeat(32)
    expect(a.table.hasRoomFor(ID_B)).toBe(true) // a new attempt to a linked peer replaces its link
    expect(a.table.hasRoomFor(third)).toBe(false)
    a.table.ensure(third)
    expect(a.errors).toEqual(['TOO_MANY_LINKS'])
    await until('lost', () => a.lost.includes(third))
    await expect(a.table.connect(third)).rejects.toMatchObject({ code: 'TOO_MANY_LINKS' })
    expect(() => a.table.start(third, 'session-x', false)).toThrow(expect.objectContaining({ code: 'TOO_MANY_LINKS' }))
  })

  it('a transport that throws when created is reported LINK_FAILED and lost, never thrown into the caller', async () => {
    const { a } = tables({ createLinkThrows: true })
    expect(() => a.table.ensure(ID_B)).not.toThrow()
    expect(a.errors).toEqual(['LINK_FAILED'])
    await until('lost', () => a.lost.includes(ID_B))
    expect(a.table.peers).toEqual([])
  })

  it('a retry runs once after the backoff however often it is asked for, and not once cancelled', async () => {
    const { a } = tables({ retryMs: 30 })
    let retries = 0
    a.table.scheduleRetry(ID_B, () => retries++)
    a.table.scheduleRetry(ID_B, () => retries++)
    expect(a.table.isRetrying(ID_B)).toBe(true)
    await delay(10)
    expect(retries).toBe(0)
    await until('the retry', () => retries > 0)
    await delay(50)
    expect(retries).toBe(1)
    expect(a.table.isRetrying(ID_B)).toBe(false)

    a.table.scheduleRetry(ID_B, () => retries++)
    a.table.cancelRetry(ID_B)
    await delay(60)
    expect(retries).toBe(1)
  })

  it('connect opens a link on demand only when enabled, and resolves with its connection once it is ready', async () => {
    const { a, pairs } = tables()
    expect(await a.table.connect(ID_B)).toBeUndefined()
    expect(pairs).toHaveLength(0)

    a.table.enableOnDemand(30_000)
    expect(await a.table.connect(ID_A)).toBeUndefined() // never to itself
    const connection = await a.table.connect(ID_B)
    expect(connection?.peerId).toBe(ID_B)
    expect(connection).toBe(a.table.connectionTo(ID_B))
  })

  it('a caller waiting for an on-demand link gets undefined when the attempt fails or the table closes', async () => {
    const { a, pairs } = tables()
    a.table.enableOnDemand(30_000)
    const waiting = a.table.connect(ID_B)
    pairs[0]!.sever()
    expect(await waiting).toBeUndefined()

    const { a: other } = tables()
    other.table.enableOnDemand(30_000)
    const pending = other.table.connect(ID_B)
    await other.table.close(100)
    expect(await pending).toBeUndefined()
  })

  it('an idle on-demand link closes after idleLinkMs with a goodbye, unless the host keeps it or a stream is open', async () => {
    const { a, b } = tables()
    a.table.enableOnDemand(50)
    await a.table.connect(ID_B)
    await until('b joined', () => b.joined.length === 1)

    a.table.closeIfIdle(ID_B) // not idle long enough
    expect(a.table.peers).toEqual([ID_B])
    await delay(60)
    a.keepIdle = true
    a.table.closeIfIdle(ID_B)
    expect(a.table.peers).toEqual([ID_B])

    a.keepIdle = false
    const stream = a.table.connectionTo(ID_B)!.session.openStream('request')
    a.table.closeIfIdle(ID_B) // in use: its idle time starts again
    expect(a.table.peers).toEqual([ID_B])
    stream.reset('closed', 'done')
    await delay(60)
    a.table.closeIfIdle(ID_B)
    expect(a.table.peers).toEqual([])
    expect(a.left).toEqual(['b:closed'])
    expect(a.lost).toEqual([]) // closed on purpose, not lost
    await until('b saw the goodbye', () => b.left.length === 1)
    expect(b.left).toEqual(['a:goodbye'])
  })

  it('close resolves only once every link it started is closed, aborting one still flushing after the grace', async () => {
    // wrtc can crash when a process exits with a connection open: a closed mesh must leave none.
    const { a, b, pairs } = tables({ bulkLaneDelayMs: 60_000 })
    a.table.ensure(ID_B)
    await until('both joined', () => a.joined.length === 1 && b.joined.length === 1)
    const link = pairs[0]!.a
    const stuck = link.send(new Uint8Array(1024), 'bulk') // in flight for a minute: a graceful close cannot finish
    await a.table.close(50)
    expect(link.state).toBe('closed')
    await expect(stuck).resolves.toBeUndefined() // it was taken before the close
    await until('b saw the link end', () => b.left.length === 1)
  })

  it('close sends goodbyes, announces no leave on its own side and starts nothing afterwards', async () => {
    const { a, b, pairs } = tables()
    a.table.ensure(ID_B)
    await until('both joined', () => a.joined.length === 1 && b.joined.length === 1)
    await a.table.close(1_000)
    await until('b saw the goodbye', () => b.left.length === 1)
    expect(b.left).toEqual(['a:goodbye'])
    expect(a.left).toEqual([])
    a.table.ensure(ID_B)
    expect(pairs).toHaveLength(1)
  })
})
