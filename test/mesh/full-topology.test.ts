/**
 * FullTopology (src/mesh/full-topology.ts) against a scripted link table: the lower id initiates,
 * offers only from lower ids are accepted, only the initiating side retries a lost link, and a member
 * the server says left is forgotten.
 */
import { describe, expect, it } from 'vitest'
import { FullTopology } from '../../src/mesh/full-topology.js'
import { Roster } from '../../src/mesh/roster.js'
import type { PeerInfo, WelcomeMessage } from '../../src/signaling/protocol.js'

const LOW = '1'.repeat(32)
const SELF = '5'.repeat(32)
const HIGH = '9'.repeat(32)
const HIGHER = 'f'.repeat(32)
const member = (id: string): PeerInfo => ({ id, publicKey: `key-of-${id}` })
const welcome = (...ids: string[]): WelcomeMessage => ({ type: 'welcome', id: SELF, room: 'room', peers: ids.map(member) })

function scriptedLinks() {
  const ensured: string[] = []
  const abandoned: string[] = []
  const retries = new Map<string, () => void>()
  return {
    ensured,
    abandoned,
    retries,
    links: {
      ensure: (peer: string) => void ensured.push(peer),
      isRetrying: (peer: string) => retries.has(peer),
      scheduleRetry: (peer: string, retry: () => void) => void retries.set(peer, retry),
      abandon: (peer: string) => void abandoned.push(peer),
    },
  }
}

describe('FullTopology', () => {
  it('the lower id initiates: links start only to higher ids, and only offers from lower ids are accepted', () => {
    const t = scriptedLinks()
    const topology = new FullTopology({ selfId: SELF, roster: new Roster(SELF), links: t.links })
    topology.welcome(welcome(LOW, HIGH))
    expect(t.ensured).toEqual([HIGH])
    topology.peerJoined(member(HIGHER))
    expect(t.ensured.slice(-1)).toEqual([HIGHER])
    expect(t.ensured).not.toContain(LOW)

    expect(topology.acceptsOfferFrom(LOW)).toBe(true)
    expect(topology.acceptsOfferFrom(HIGH)).toBe(false)
    expect(topology.signalWithoutServer(HIGH, {})).toBe(false)
    expect(topology.keepsIdleLink()).toBe(true)
  })

  it('only the initiating side retries a lost link; the retry reconnects members still in the room', () => {
    const t = scriptedLinks()
    const roster = new Roster(SELF)
    const topology = new FullTopology({ selfId: SELF, roster, links: t.links })
    topology.welcome(welcome(LOW, HIGH))
    t.ensured.length = 0

    topology.linkLost(LOW)
    expect(t.retries.has(LOW)).toBe(false) // LOW initiates to us
    topology.linkLost(HIGH)
    const retry = t.retries.get(HIGH)!
    expect(retry).toBeDefined()

    topology.welcome(welcome(LOW, HIGH))
    expect(t.ensured).toEqual([]) // a retry is planned: no second attempt meanwhile
    t.retries.delete(HIGH)
    retry()
    expect(t.ensured).toEqual([HIGH])

    topology.peerLeft(HIGH)
    expect(roster.has(HIGH)).toBe(false)
    expect(t.abandoned).toEqual([HIGH])
    retry()
    expect(t.ensured).toEqual([HIGH]) // gone from the room: not retried
  })
})
