/** The directory's bounds on what a peer may announce: exactly at each limit accepted, one past refused (ANNOUNCEMENT_REFUSED). */
import { describe, expect, test } from 'vitest'
import { ClusterDirectory } from '../../../src/services/clusters/directory.js'
import { DIRECTORY_LIMITS, GOSSIP_DIRECTORY } from '../../../src/services/clusters/limits.js'
import { payloadBytes } from '../../../src/services/clusters/payload-bytes.js'

const SELF = 'a'.repeat(32)
const PEER = 'b'.repeat(32)

/** An announcement on the wire with defaults; a test names only what it varies. */
function announcement({ seq = 1, clusters = [] as [string, number][], topics = [] as string[] } = {}): unknown[] {
  return [seq, clusters, topics]
}

const names = (count: number, prefix: string) => Array.from({ length: count }, (_, index) => `${prefix}${index}`)

describe('ClusterDirectory', () => {
  test('knows its own and announced members, and forgets a peer whose link went', () => {
    const directory = new ClusterDirectory(SELF)
    directory.addLocalCluster('echo', () => 3)
    expect(directory.accept(PEER, announcement({ clusters: [['echo', 5]], topics: ['news'] }))).toBeUndefined()
    expect(directory.membersOf('echo')).toEqual([SELF, PEER])
    expect(directory.spareOf(SELF, 'echo')).toBe(3)
    expect(directory.spareOf(PEER, 'echo')).toBe(5)
    expect(directory.subscribersOf('news')).toEqual([PEER])
    directory.drop(PEER)
    expect(directory.membersOf('echo')).toEqual([SELF])
  })

  test('an older announcement, overtaken on the way, is ignored', () => {
    const directory = new ClusterDirectory(SELF)
    directory.accept(PEER, announcement({ seq: 2, clusters: [['new', 1]] }))
    directory.accept(PEER, announcement({ seq: 1, clusters: [['old', 1]] }))
    expect(directory.membersOf('new')).toEqual([PEER])
    expect(directory.membersOf('old')).toEqual([])
  })

  test(`accepts ${DIRECTORY_LIMITS.maxClustersPerPeer} clusters and refuses one more`, () => {
    const directory = new ClusterDirectory(SELF)
    const clusters = names(DIRECTORY_LIMITS.maxClustersPerPeer, 'c').map((name): [string, number] => [name, 1])
    expect(directory.accept(PEER, announcement({ seq: 1, clusters }))).toBeUndefined()
    expect(directory.accept(PEER, announcement({ seq: 2, clusters: [...clusters, ['one-more', 1]] }))).toMatchObject({ code: 'ANNOUNCEMENT_REFUSED' })
    expect(directory.membersOf('c0')).toEqual([PEER])
  })

  test(`accepts ${DIRECTORY_LIMITS.maxTopicsPerPeer} topics and refuses one more`, () => {
    const directory = new ClusterDirectory(SELF)
    const topics = names(DIRECTORY_LIMITS.maxTopicsPerPeer, 't')
    expect(directory.accept(PEER, announcement({ seq: 1, topics }))).toBeUndefined()
    expect(directory.accept(PEER, announcement({ seq: 2, topics: [...topics, 'one-more'] }))).toMatchObject({ code: 'ANNOUNCEMENT_REFUSED' })
  })

  test(`accepts a name of ${DIRECTORY_LIMITS.maxNameLength} characters and refuses one more, and an empty one`, () => {
    const directory = new ClusterDirectory(SELF)
    const atLimit = 'x'.repeat(DIRECTORY_LIMITS.maxNameLength)
    expect(directory.accept(PEER, announcement({ seq: 1, clusters: [[atLimit, 1]] }))).toBeUndefined()
    expect(directory.accept(PEER, announcement({ seq: 2, clusters: [[`${atLimit}x`, 1]] }))).toMatchObject({ code: 'ANNOUNCEMENT_REFUSED' })
    expect(directory.accept(PEER, announcement({ seq: 3, topics: [`${atLimit}x`] }))).toMatchObject({ code: 'ANNOUNCEMENT_REFUSED' })
    expect(directory.accept(PEER, announcement({ seq: 4, topics: [''] }))).toMatchObject({ code: 'ANNOUNCEMENT_REFUSED' })
  })

  test('refuses malformed announcements without throwing', () => {
    const directory = new ClusterDirectory(SELF)
    for (const hostile of [null, 1, 'x', [], [1, 2], [-1, [], []], [1, {}, []], [1, [['a']], []], [1, [['a', 1.5]], []], [1, [], [7]], [1.5, [], []]]) {
      expect(directory.accept(PEER, hostile)).toMatchObject({ code: 'ANNOUNCEMENT_REFUSED' })
    }
  })

  test(`accepts a burst of ${DIRECTORY_LIMITS.announcementBurst} announcements from a peer and refuses one more`, () => {
    let now = 0
    const directory = new ClusterDirectory(SELF, () => now)
    for (let seq = 1; seq <= DIRECTORY_LIMITS.announcementBurst; seq++) expect(directory.accept(PEER, announcement({ seq }))).toBeUndefined()
    expect(directory.accept(PEER, announcement({ seq: 100 }))).toMatchObject({ code: 'ANNOUNCEMENT_REFUSED' })
    now += 1000 / DIRECTORY_LIMITS.announcementsPerSecond
    expect(directory.accept(PEER, announcement({ seq: 101 }))).toBeUndefined()
  })
})

describe('the gossiped directory of a scamp room', () => {
  test(`an entry not refreshed within ${GOSSIP_DIRECTORY.expiryMs} ms expires; a refresh (the same seq heard again) extends it`, () => {
    let now = 0
    const directory = new ClusterDirectory(SELF, () => now)
    directory.accept(PEER, announcement({ seq: 1, clusters: [['echo', 1]] }), now + GOSSIP_DIRECTORY.expiryMs)
    now += GOSSIP_DIRECTORY.refreshMs
    directory.accept(PEER, announcement({ seq: 1, clusters: [['echo', 1]] }), now + GOSSIP_DIRECTORY.expiryMs)
    now += GOSSIP_DIRECTORY.expiryMs - 1
    expect(directory.membersOf('echo')).toEqual([PEER])
    now += 1
    expect(directory.membersOf('echo')).toEqual([])
    directory.prune()
    expect(directory.snapshot().clusters).toEqual({})
  })

  test(`holds ${DIRECTORY_LIMITS.maxPeers} peers and refuses a new one past them`, () => {
    const directory = new ClusterDirectory(SELF)
    const peer = (index: number) => index.toString(16).padStart(32, '0')
    for (let index = 0; index < DIRECTORY_LIMITS.maxPeers; index++) expect(directory.accept(peer(index), announcement())).toBeUndefined()
    expect(directory.accept(peer(DIRECTORY_LIMITS.maxPeers), announcement())).toMatchObject({ code: 'ANNOUNCEMENT_REFUSED' })
    expect(directory.accept(peer(0), announcement({ seq: 2 }))).toBeUndefined()
  })
})

describe('payloadBytes', () => {
  test('counts binary data and strings by their length, as Iris counts a request', () => {
    expect(payloadBytes(new Uint8Array(1))).toBe(1)
    expect(payloadBytes(new Uint8Array(2))).toBe(2)
    expect(payloadBytes('abc')).toBe(3)
    expect(payloadBytes({ ab: [1, true] })).toBe(2 + 8 + 1)
    const cyclic: unknown[] = []
    cyclic.push(cyclic)
    expect(payloadBytes(cyclic)).toBe(0)
  })
})
