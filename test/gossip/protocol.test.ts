/** Wire messages: golden forms, round trips, limits at and over the edge, refusals with codes, and no throw on any input. */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { Codec } from '../../src/codec/index.js'
import { DEFAULT_SCAMP_CONFIG, messageToWire, parseGossipMessage, type GossipMessage } from '../../src/gossip/index.js'

const limits = DEFAULT_SCAMP_CONFIG
const ID = '0123456789abcdef0123456789abcdef'

const golden: [GossipMessage, unknown[]][] = [
  [{ type: 'subscribe', subscriber: 'a', epoch: 7, walk: 3, fromDegree: 0, renewal: false }, [0, 'a', 7, 3, 0, false]],
  [{ type: 'subscribe', subscriber: 'a', epoch: 7, walk: 0, fromDegree: 12, renewal: true }, [0, 'a', 7, 0, 12, true]],
  [{ type: 'forward-subscription', subscriber: 'peer-1', epoch: 0, hops: 5 }, [1, 'peer-1', 0, 5]],
  [{ type: 'contact', subscriberEpoch: 3, contactEpoch: 9, renewal: false }, [2, 3, 9, false]],
  [{ type: 'contact', subscriberEpoch: 3, contactEpoch: 9, renewal: true }, [2, 3, 9, true]],
  [{ type: 'kept', epoch: 4 }, [3, 4]],
  [{ type: 'unsubscribe', epoch: 4, replacement: null, replacementEpoch: 0 }, [4, 4]],
  [{ type: 'unsubscribe', epoch: 4, replacement: 'r', replacementEpoch: 2 }, [4, 4, 'r', 2]],
  [{ type: 'forget', epoch: 1 }, [5, 1]],
  [{ type: 'heartbeat', epoch: 2 }, [6, 2]],
  [{ type: 'gossip', id: ID, payload: new Uint8Array([1, 2]) }, [7, ID, new Uint8Array([1, 2])]],
]

describe('gossip wire messages', () => {
  test.each(golden)('%o ⇄ %o', (message, wire) => {
    expect(messageToWire(message)).toEqual(wire)
    expect(parseGossipMessage(wire, limits)).toEqual({ ok: true, message })
  })

  test('every message survives the value codec', () => {
    const codec = new Codec()
    for (const [message] of golden) {
      expect(parseGossipMessage(codec.decode(codec.encode(messageToWire(message))), limits)).toEqual({ ok: true, message })
    }
  })

  test('limits: accepted at the limit, refused one over it', () => {
    const atLimit = [
      [0, 'a', 1, limits.maxIndirectionHops, 0, false],
      [1, 'a', 1, limits.maxSubscriptionHops],
      [1, 'x'.repeat(limits.maxPeerIdLength), 1, 0],
      [7, ID, new Uint8Array(limits.maxPayloadBytes)],
      [3, Number.MAX_SAFE_INTEGER],
    ]
    for (const wire of atLimit) expect(parseGossipMessage(wire, limits).ok).toBe(true)
    const overLimit: [unknown[], string][] = [
      [[0, 'a', 1, limits.maxIndirectionHops + 1, 0, false], 'GOSSIP_MALFORMED'],
      [[1, 'a', 1, limits.maxSubscriptionHops + 1], 'GOSSIP_MALFORMED'],
      [[1, 'x'.repeat(limits.maxPeerIdLength + 1), 1, 0], 'GOSSIP_MALFORMED'],
      [[7, ID, new Uint8Array(limits.maxPayloadBytes + 1)], 'GOSSIP_TOO_LARGE'],
      [[3, Number.MAX_SAFE_INTEGER + 1], 'GOSSIP_MALFORMED'],
    ]
    for (const [wire, code] of overLimit) expect(parseGossipMessage(wire, limits)).toMatchObject({ ok: false, code })
  })

  test.each([
    ['not an array', { kind: 0 }],
    ['empty', []],
    ['too long', [3, 1, 2, 3, 4, 5, 6]],
    ['unknown kind', [9, 1]],
    ['kind as a string', ['3', 1]],
    ['negative epoch', [3, -1]],
    ['fractional epoch', [3, 1.5]],
    ['NaN epoch', [6, Number.NaN]],
    ['bigint epoch', [5, 1n]],
    ['extra item', [3, 1, 2]],
    ['subscribe without renewal flag', [0, 'a', 1, 0, 0]],
    ['subscribe with a numeric renewal flag', [0, 'a', 1, 0, 0, 1]],
    ['empty peer id', [1, '', 1, 0]],
    ['peer id with a space', [1, 'a b', 1, 0]],
    ['peer id not a string', [1, 42, 1, 0]],
    ['unsubscribe with three items', [4, 1, 'r']],
    ['unsubscribe with a bad replacement', [4, 1, '', 0]],
    ['gossip id in upper case', [7, ID.toUpperCase(), new Uint8Array(0)]],
    ['gossip id too short', [7, 'abc', new Uint8Array(0)]],
    ['gossip payload not bytes', [7, ID, [1, 2]]],
    ['gossip payload a string', [7, ID, 'hello']],
    ['negative degree', [0, 'a', 1, 0, -1, false]],
  ])('refuses %s with GOSSIP_MALFORMED', (_name, wire) => {
    expect(parseGossipMessage(wire, limits)).toMatchObject({ ok: false, code: 'GOSSIP_MALFORMED' })
  })

  test('never throws, whatever the input (property)', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withTypedArray: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true }),
        (value) => {
          const result = parseGossipMessage(value, limits)
          expect(typeof result.ok).toBe('boolean')
        },
      ),
      { numRuns: 2000 },
    )
  })

  test('never throws on near-miss messages (property)', () => {
    const item = fc.oneof(
      fc.integer({ min: -2, max: 300 }),
      fc.double(),
      fc.string({ maxLength: 70 }),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 4 }),
      fc.constant(ID),
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.array(item, { maxLength: 6 }), (kind, rest) => {
        const result = parseGossipMessage([kind, ...rest], limits)
        if (result.ok) expect(messageToWire(result.message)).toEqual([kind, ...rest])
      }),
      { numRuns: 3000 },
    )
  })

  test('exotic objects (a throwing proxy) are refused, not thrown', () => {
    const hostile = new Proxy([], {
      get() {
        throw new Error('boom')
      },
    })
    expect(parseGossipMessage(hostile, limits)).toMatchObject({ ok: false, code: 'GOSSIP_MALFORMED' })
    const revoked = Proxy.revocable([], {})
    revoked.revoke()
    expect(parseGossipMessage(revoked.proxy, limits)).toMatchObject({ ok: false, code: 'GOSSIP_MALFORMED' })
  })
})
