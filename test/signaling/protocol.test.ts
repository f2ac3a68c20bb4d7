/**
 * The signaling parsers, table-driven: every message type accepted, every class of bad input refused with
 * its code, and every limit of SIGNALING_LIMITS accepted exactly at the limit and refused one past it.
 */
import { describe, expect, it } from 'vitest'
import type { ErrorCode } from '../../src/errors.js'
import { PROTOCOL_VERSION, SIGNALING_LIMITS, depthOf, parseClientMessage, parseServerMessage, type JsonValue } from '../../src/signaling/protocol.js'

// Well-formed by shape only: the parsers check lengths and alphabets; cryptographic checks live in the server.
const PUBLIC_KEY = `B${'A'.repeat(85)}Q` // 87 base64url characters
const SIGNATURE = 'A'.repeat(85) + 'w' // 86 base64url characters
const PEER_A = '0123456789abcdef0123456789abcdef'
const PEER_B = 'fedcba9876543210fedcba9876543210'

type Fields = Record<string, unknown>

const hello = (fields: Fields = {}): Fields => ({
  type: 'hello',
  version: PROTOCOL_VERSION,
  room: 'lobby',
  publicKey: PUBLIC_KEY,
  signature: SIGNATURE,
  ...fields,
})
const signal = (fields: Fields = {}): Fields => ({ type: 'signal', to: PEER_A, payload: { sdp: 'v=0' }, ...fields })
const without = (message: Fields, key: string): Fields => {
  const copy = { ...message }
  delete copy[key]
  return copy
}

/** `{ a: { a: … {} } }` with depthOf equal to `depth` (an empty object has depth 1). */
function nestedObject(depth: number): JsonValue {
  let value: JsonValue = {}
  for (let i = 1; i < depth; i++) value = { a: value }
  return value
}

/** An object payload of the given depth whose innermost levels are arrays, to check arrays count too. */
function nestedArrays(depth: number): JsonValue {
  let value: JsonValue = []
  for (let i = 2; i < depth; i++) value = [value]
  return { list: value }
}

/** A JSON text of exactly `length` characters, padded inside a string field of `build`'s message. */
function textOfLength(length: number, build: (pad: string) => Fields): string {
  const overhead = JSON.stringify(build('')).length
  const text = JSON.stringify(build('x'.repeat(length - overhead)))
  expect(text.length).toBe(length)
  return text
}

const peerInfo = (index: number) => ({ id: index.toString(16).padStart(32, '0'), publicKey: PUBLIC_KEY })

interface Refusal {
  name: string
  text: string
  code: ErrorCode
}

const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value))

// ── client → server ────────────────────────────────────────────────────────

describe('parseClientMessage', () => {
  const accepted: Array<{ name: string; message: Fields }> = [
    { name: 'hello', message: hello() },
    { name: 'hello with a room of 64 characters', message: hello({ room: 'r'.repeat(SIGNALING_LIMITS.maxRoomNameLength) }) },
    { name: 'hello with a room of one character', message: hello({ room: 'x' }) },
    { name: 'hello with every room character class', message: hello({ room: 'Az09._-' }) },
    { name: 'signal with an empty payload', message: signal({ payload: {} }) },
    { name: 'signal with a payload of depth 8', message: signal({ payload: nestedObject(SIGNALING_LIMITS.maxPayloadDepth) }) },
    { name: 'signal with arrays nested to depth 8', message: signal({ payload: nestedArrays(SIGNALING_LIMITS.maxPayloadDepth) }) },
    { name: 'signal whose payload carries its own from', message: signal({ payload: { from: PEER_B, candidate: 'x' } }) },
    { name: 'contact', message: { type: 'contact' } },
    { name: 'hello asking for the scamp topology', message: hello({ topology: 'scamp' }) },
  ]

  it.each(accepted)('accepts $name', ({ message }) => {
    const result = parseClientMessage(JSON.stringify(message))
    expect(result).toEqual({ ok: true, message })
  })

  const refused: Refusal[] = [
    // not JSON
    { name: 'an empty frame', text: '', code: 'BAD_JSON' },
    { name: 'plain text', text: 'hello there', code: 'BAD_JSON' },
    { name: 'truncated JSON', text: '{"type":"hello"', code: 'BAD_JSON' },
    { name: 'a trailing comma', text: '{"type":"signal",}', code: 'BAD_JSON' },
    { name: 'single quotes', text: "{'type':'signal'}", code: 'BAD_JSON' },
    { name: 'NaN', text: 'NaN', code: 'BAD_JSON' },
    // JSON but not an object
    { name: 'null', text: 'null', code: 'BAD_MESSAGE' },
    { name: 'an array', text: '[]', code: 'BAD_MESSAGE' },
    { name: 'an array holding a hello', text: asText([hello()]), code: 'BAD_MESSAGE' },
    { name: 'a number', text: '42', code: 'BAD_MESSAGE' },
    { name: 'a string', text: '"hello"', code: 'BAD_MESSAGE' },
    { name: 'a boolean', text: 'true', code: 'BAD_MESSAGE' },
    // unknown or missing type
    { name: 'no type', text: '{}', code: 'BAD_MESSAGE' },
    { name: 'an unknown type', text: asText({ type: 'nope' }), code: 'BAD_MESSAGE' },
    { name: 'a numeric type', text: asText({ type: 1 }), code: 'BAD_MESSAGE' },
    { name: 'a type in the wrong case', text: asText(hello({ type: 'HELLO' })), code: 'BAD_MESSAGE' },
    { name: 'a server-only type (welcome)', text: asText({ type: 'welcome', id: PEER_A, room: 'lobby', peers: [] }), code: 'BAD_MESSAGE' },
    { name: 'a server-only type (challenge)', text: asText({ type: 'challenge', version: 1, nonce: 'A'.repeat(32) }), code: 'BAD_MESSAGE' },
    // hello: keys
    ...['version', 'room', 'publicKey', 'signature'].map((key) => ({
      name: `hello without ${key}`,
      text: asText(without(hello(), key)),
      code: 'BAD_MESSAGE' as const,
    })),
    { name: 'hello with an extra key', text: asText(hello({ id: PEER_A })), code: 'BAD_MESSAGE' },
    { name: 'hello with a __proto__ key', text: asText(hello()).replace('{', '{"__proto__":{"admin":true},'), code: 'BAD_MESSAGE' },
    // hello: types and values
    { name: 'hello with a string version', text: asText(hello({ version: '1' })), code: 'BAD_MESSAGE' },
    { name: 'hello with a fractional version', text: asText(hello({ version: 1.5 })), code: 'BAD_MESSAGE' },
    { name: 'hello with an unknown topology', text: asText(hello({ topology: 'ring' })), code: 'BAD_MESSAGE' },
    { name: 'contact with an extra key', text: asText({ type: 'contact', room: 'lobby' }), code: 'BAD_MESSAGE' },
    { name: 'hello with a null topology', text: asText(hello({ topology: null })), code: 'BAD_MESSAGE' },
    { name: 'hello with a null version', text: asText(hello({ version: null })), code: 'BAD_MESSAGE' },
    { name: 'hello with a numeric room', text: asText(hello({ room: 7 })), code: 'BAD_MESSAGE' },
    { name: 'hello with an empty room', text: asText(hello({ room: '' })), code: 'BAD_MESSAGE' },
    { name: 'hello with a room of 65 characters', text: asText(hello({ room: 'r'.repeat(SIGNALING_LIMITS.maxRoomNameLength + 1) })), code: 'BAD_MESSAGE' },
    { name: 'hello with a space in the room', text: asText(hello({ room: 'my room' })), code: 'BAD_MESSAGE' },
    { name: 'hello with a slash in the room', text: asText(hello({ room: '../etc' })), code: 'BAD_MESSAGE' },
    { name: 'hello with a non-ASCII room', text: asText(hello({ room: 'café' })), code: 'BAD_MESSAGE' },
    { name: 'hello with a newline ending the room', text: asText(hello({ room: 'lobby\n' })), code: 'BAD_MESSAGE' },
    // hello: versions
    { name: 'hello with version 0', text: asText(hello({ version: 0 })), code: 'UNSUPPORTED_VERSION' },
    { name: 'hello with version 2', text: asText(hello({ version: PROTOCOL_VERSION + 1 })), code: 'UNSUPPORTED_VERSION' },
    { name: 'hello with version -1', text: asText(hello({ version: -1 })), code: 'UNSUPPORTED_VERSION' },
    // hello: public key
    { name: 'a public key of 86 characters', text: asText(hello({ publicKey: PUBLIC_KEY.slice(1) })), code: 'BAD_PUBLIC_KEY' },
    { name: 'a public key of 88 characters', text: asText(hello({ publicKey: `${PUBLIC_KEY}A` })), code: 'BAD_PUBLIC_KEY' },
    { name: 'a public key in standard base64', text: asText(hello({ publicKey: `+${PUBLIC_KEY.slice(1)}` })), code: 'BAD_PUBLIC_KEY' },
    { name: 'a padded public key', text: asText(hello({ publicKey: `${PUBLIC_KEY.slice(1)}=` })), code: 'BAD_PUBLIC_KEY' },
    { name: 'a numeric public key', text: asText(hello({ publicKey: 65 })), code: 'BAD_PUBLIC_KEY' },
    { name: 'an empty public key', text: asText(hello({ publicKey: '' })), code: 'BAD_PUBLIC_KEY' },
    // hello: signature
    { name: 'a signature of 85 characters', text: asText(hello({ signature: SIGNATURE.slice(1) })), code: 'BAD_SIGNATURE' },
    { name: 'a signature of 87 characters', text: asText(hello({ signature: `${SIGNATURE}A` })), code: 'BAD_SIGNATURE' },
    { name: 'a signature in standard base64', text: asText(hello({ signature: `/${SIGNATURE.slice(1)}` })), code: 'BAD_SIGNATURE' },
    { name: 'a null signature', text: asText(hello({ signature: null })), code: 'BAD_SIGNATURE' },
    // signal: keys
    { name: 'signal without to', text: asText(without(signal(), 'to')), code: 'BAD_MESSAGE' },
    { name: 'signal without payload', text: asText(without(signal(), 'payload')), code: 'BAD_MESSAGE' },
    { name: 'signal with a top-level from', text: asText(signal({ from: PEER_B })), code: 'BAD_MESSAGE' },
    // signal: types and values
    { name: 'signal to a numeric id', text: asText(signal({ to: 1 })), code: 'BAD_MESSAGE' },
    { name: 'signal to an id of 31 characters', text: asText(signal({ to: PEER_A.slice(1) })), code: 'BAD_MESSAGE' },
    { name: 'signal to an id of 33 characters', text: asText(signal({ to: `${PEER_A}0` })), code: 'BAD_MESSAGE' },
    { name: 'signal to an upper-case id', text: asText(signal({ to: PEER_A.toUpperCase() })), code: 'BAD_MESSAGE' },
    { name: 'signal with an array payload', text: asText(signal({ payload: [] })), code: 'BAD_MESSAGE' },
    { name: 'signal with a null payload', text: asText(signal({ payload: null })), code: 'BAD_MESSAGE' },
    { name: 'signal with a string payload', text: asText(signal({ payload: 'sdp' })), code: 'BAD_MESSAGE' },
    { name: 'signal with a payload of depth 9', text: asText(signal({ payload: nestedObject(SIGNALING_LIMITS.maxPayloadDepth + 1) })), code: 'BAD_MESSAGE' },
    {
      name: 'signal with arrays nested to depth 9',
      text: asText(signal({ payload: nestedArrays(SIGNALING_LIMITS.maxPayloadDepth + 1) })),
      code: 'BAD_MESSAGE',
    },
  ]

  it.each(refused)('refuses $name with $code', ({ text, code }) => {
    const result = parseClientMessage(text)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.code).toBe(code)
    expect(result.reason).toEqual(expect.any(String))
  })

  it(`accepts a frame of exactly maxMessageBytes (${SIGNALING_LIMITS.maxMessageBytes}) and refuses one byte more`, () => {
    const build = (pad: string) => signal({ payload: { sdp: pad } })
    expect(parseClientMessage(textOfLength(SIGNALING_LIMITS.maxMessageBytes, build)).ok).toBe(true)
    expect(parseClientMessage(textOfLength(SIGNALING_LIMITS.maxMessageBytes + 1, build))).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
  })

  it('refuses an oversized frame before parsing it, even when it is not JSON', () => {
    // BAD_MESSAGE (size), not BAD_JSON: the size check comes first, so huge input costs no parse.
    expect(parseClientMessage('{'.repeat(SIGNALING_LIMITS.maxMessageBytes + 1))).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
  })

  it('checks the version before the room, key and signature', () => {
    const result = parseClientMessage(asText(hello({ version: 2, room: '', publicKey: 'x', signature: 'y' })))
    expect(result).toMatchObject({ ok: false, code: 'UNSUPPORTED_VERSION' })
  })

  it('returns a result for hostile input instead of throwing', () => {
    const hostile = [
      '\u0000',
      '\ud800',
      '{"type":"signal","to":"' + PEER_A + '","payload":' + '['.repeat(30_000) + ']'.repeat(30_000) + '}',
      '{"type":"hello","version":1e400,"room":"a","publicKey":"' + PUBLIC_KEY + '","signature":"' + SIGNATURE + '"}',
      '{"type":{"toString":1}}',
    ]
    for (const text of hostile) expect(() => parseClientMessage(text)).not.toThrow()
    expect(parseClientMessage(hostile[2]!)).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
    // 1e400 parses as Infinity: not an integer.
    expect(parseClientMessage(hostile[3]!)).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
  })
})

// ── server → client ────────────────────────────────────────────────────────

describe('parseServerMessage', () => {
  const NONCE = 'n'.repeat(32)
  const accepted: Array<{ name: string; message: Fields }> = [
    { name: 'challenge', message: { type: 'challenge', version: PROTOCOL_VERSION, nonce: NONCE } },
    { name: 'challenge with a 16-character nonce', message: { type: 'challenge', version: 1, nonce: 'a'.repeat(16) } },
    { name: 'challenge with a 128-character nonce', message: { type: 'challenge', version: 1, nonce: 'a'.repeat(128) } },
    { name: 'challenge of another version (the client decides)', message: { type: 'challenge', version: 2, nonce: NONCE } },
    { name: 'welcome to an empty room', message: { type: 'welcome', id: PEER_A, room: 'lobby', peers: [] } },
    { name: 'welcome with peers', message: { type: 'welcome', id: PEER_A, room: 'lobby', peers: [peerInfo(1), peerInfo(2)] } },
    { name: 'peer-joined', message: { type: 'peer-joined', peer: { id: PEER_B, publicKey: PUBLIC_KEY } } },
    { name: 'peer-left', message: { type: 'peer-left', id: PEER_B } },
    { name: 'signal', message: { type: 'signal', from: PEER_B, payload: { sdp: 'v=0', nested: [1, { a: null }] } } },
    { name: 'signal with a payload of depth 8', message: { type: 'signal', from: PEER_B, payload: nestedObject(SIGNALING_LIMITS.maxPayloadDepth) } },
    { name: 'error', message: { type: 'error', code: 'ROOM_FULL', message: 'room "lobby" is full' } },
    { name: 'contact with a peer', message: { type: 'contact', peer: { id: PEER_B, publicKey: PUBLIC_KEY } } },
    { name: 'contact with nobody', message: { type: 'contact', peer: null } },
  ]

  it.each(accepted)('accepts $name', ({ message }) => {
    expect(parseServerMessage(JSON.stringify(message))).toEqual({ ok: true, message })
  })

  const refused: Refusal[] = [
    { name: 'an empty frame', text: '', code: 'BAD_JSON' },
    { name: 'plain text', text: 'welcome!', code: 'BAD_JSON' },
    { name: 'null', text: 'null', code: 'BAD_MESSAGE' },
    { name: 'an array', text: '[{"type":"peer-left"}]', code: 'BAD_MESSAGE' },
    { name: 'a number', text: '1', code: 'BAD_MESSAGE' },
    { name: 'no type', text: '{}', code: 'BAD_MESSAGE' },
    { name: 'an unknown type', text: asText({ type: 'promote', id: PEER_A }), code: 'BAD_MESSAGE' },
    { name: 'a client-only type (hello)', text: asText(hello()), code: 'BAD_MESSAGE' },
    // challenge
    { name: 'challenge without a nonce', text: asText({ type: 'challenge', version: 1 }), code: 'BAD_MESSAGE' },
    { name: 'challenge without a version', text: asText({ type: 'challenge', nonce: NONCE }), code: 'BAD_MESSAGE' },
    { name: 'challenge with a string version', text: asText({ type: 'challenge', version: '1', nonce: NONCE }), code: 'BAD_MESSAGE' },
    { name: 'challenge with a 15-character nonce', text: asText({ type: 'challenge', version: 1, nonce: 'a'.repeat(15) }), code: 'BAD_MESSAGE' },
    { name: 'challenge with a 129-character nonce', text: asText({ type: 'challenge', version: 1, nonce: 'a'.repeat(129) }), code: 'BAD_MESSAGE' },
    { name: 'challenge with a non-base64url nonce', text: asText({ type: 'challenge', version: 1, nonce: `${'a'.repeat(20)}+/` }), code: 'BAD_MESSAGE' },
    // welcome
    { name: 'welcome without an id', text: asText({ type: 'welcome', room: 'lobby', peers: [] }), code: 'BAD_MESSAGE' },
    { name: 'welcome with a bad id', text: asText({ type: 'welcome', id: 'me', room: 'lobby', peers: [] }), code: 'BAD_MESSAGE' },
    { name: 'welcome with a bad room', text: asText({ type: 'welcome', id: PEER_A, room: 'a b', peers: [] }), code: 'BAD_MESSAGE' },
    { name: 'welcome with a room of 65 characters', text: asText({ type: 'welcome', id: PEER_A, room: 'r'.repeat(65), peers: [] }), code: 'BAD_MESSAGE' },
    { name: 'welcome with peers not an array', text: asText({ type: 'welcome', id: PEER_A, room: 'lobby', peers: {} }), code: 'BAD_MESSAGE' },
    { name: 'welcome with a null peer', text: asText({ type: 'welcome', id: PEER_A, room: 'lobby', peers: [null] }), code: 'BAD_MESSAGE' },
    {
      name: 'welcome with a peer key of 86 characters',
      text: asText({ type: 'welcome', id: PEER_A, room: 'lobby', peers: [{ id: PEER_B, publicKey: PUBLIC_KEY.slice(1) }] }),
      code: 'BAD_MESSAGE',
    },
    {
      name: 'welcome with a peer key of 88 characters',
      text: asText({ type: 'welcome', id: PEER_A, room: 'lobby', peers: [{ id: PEER_B, publicKey: `${PUBLIC_KEY}A` }] }),
      code: 'BAD_MESSAGE',
    },
    {
      name: 'welcome with an upper-case peer id',
      text: asText({ type: 'welcome', id: PEER_A, room: 'lobby', peers: [{ id: PEER_B.toUpperCase(), publicKey: PUBLIC_KEY }] }),
      code: 'BAD_MESSAGE',
    },
    // peer-joined / peer-left
    { name: 'peer-joined without a peer', text: asText({ type: 'peer-joined' }), code: 'BAD_MESSAGE' },
    { name: 'peer-joined with a peer missing its key', text: asText({ type: 'peer-joined', peer: { id: PEER_B } }), code: 'BAD_MESSAGE' },
    { name: 'peer-joined with the peer as an array', text: asText({ type: 'peer-joined', peer: [PEER_B, PUBLIC_KEY] }), code: 'BAD_MESSAGE' },
    { name: 'peer-left without an id', text: asText({ type: 'peer-left' }), code: 'BAD_MESSAGE' },
    { name: 'peer-left with a numeric id', text: asText({ type: 'peer-left', id: 12 }), code: 'BAD_MESSAGE' },
    // signal
    { name: 'signal without from', text: asText({ type: 'signal', payload: {} }), code: 'BAD_MESSAGE' },
    { name: 'signal from a bad id', text: asText({ type: 'signal', from: 'server', payload: {} }), code: 'BAD_MESSAGE' },
    { name: 'signal with an array payload', text: asText({ type: 'signal', from: PEER_B, payload: [] }), code: 'BAD_MESSAGE' },
    {
      name: 'signal with a payload of depth 9',
      text: asText({ type: 'signal', from: PEER_B, payload: nestedObject(SIGNALING_LIMITS.maxPayloadDepth + 1) }),
      code: 'BAD_MESSAGE',
    },
    // contact
    { name: 'contact without a peer field', text: asText({ type: 'contact' }), code: 'BAD_MESSAGE' },
    { name: 'contact with a peer missing its key', text: asText({ type: 'contact', peer: { id: PEER_B } }), code: 'BAD_MESSAGE' },
    // error
    { name: 'error without a code', text: asText({ type: 'error', message: 'x' }), code: 'BAD_MESSAGE' },
    { name: 'error with a numeric code', text: asText({ type: 'error', code: 500, message: 'x' }), code: 'BAD_MESSAGE' },
    { name: 'error without a message', text: asText({ type: 'error', code: 'ROOM_FULL' }), code: 'BAD_MESSAGE' },
  ]

  it.each(refused)('refuses $name with $code', ({ text, code }) => {
    const result = parseServerMessage(text)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.code).toBe(code)
  })

  it('rebuilds messages from known fields only, so a server cannot smuggle extra ones through', () => {
    const text = asText({
      type: 'welcome',
      id: PEER_A,
      room: 'lobby',
      admin: true,
      peers: [{ id: PEER_B, publicKey: PUBLIC_KEY, trusted: true }],
    })
    const result = parseServerMessage(text)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.message).toStrictEqual({ type: 'welcome', id: PEER_A, room: 'lobby', peers: [{ id: PEER_B, publicKey: PUBLIC_KEY }] })
    const joined = parseServerMessage(asText({ type: 'peer-joined', peer: { id: PEER_B, publicKey: PUBLIC_KEY, role: 'admin' }, extra: 1 }))
    expect(joined).toStrictEqual({ ok: true, message: { type: 'peer-joined', peer: { id: PEER_B, publicKey: PUBLIC_KEY } } })
  })

  it('keeps error messages up to maxErrorMessageLength and truncates longer ones', () => {
    const limit = SIGNALING_LIMITS.maxErrorMessageLength
    const atLimit = parseServerMessage(asText({ type: 'error', code: 'ROOM_FULL', message: 'm'.repeat(limit) }))
    const overLimit = parseServerMessage(asText({ type: 'error', code: 'ROOM_FULL', message: `${'m'.repeat(limit)}!` }))
    expect(atLimit).toEqual({ ok: true, message: { type: 'error', code: 'ROOM_FULL', message: 'm'.repeat(limit) } })
    expect(overLimit).toEqual({ ok: true, message: { type: 'error', code: 'ROOM_FULL', message: 'm'.repeat(limit) } })
  })

  it(`accepts a frame of exactly maxMessageBytes (${SIGNALING_LIMITS.maxMessageBytes}) and refuses one byte more`, () => {
    const build = (pad: string) => ({ type: 'signal', from: PEER_B, payload: { sdp: pad } })
    expect(parseServerMessage(textOfLength(SIGNALING_LIMITS.maxMessageBytes, build)).ok).toBe(true)
    expect(parseServerMessage(textOfLength(SIGNALING_LIMITS.maxMessageBytes + 1, build))).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
  })

  describe('the number of peers in a welcome', () => {
    const longestRoom = 'r'.repeat(SIGNALING_LIMITS.maxRoomNameLength)
    const welcomeOf = (count: number) =>
      asText({ type: 'welcome', id: PEER_A, room: longestRoom, peers: Array.from({ length: count }, (_, i) => peerInfo(i + 1)) })

    it(`accepts maxPeersInWelcome (${SIGNALING_LIMITS.maxPeersInWelcome}) peers and refuses one more`, () => {
      const atLimit = parseServerMessage(welcomeOf(SIGNALING_LIMITS.maxPeersInWelcome))
      expect(atLimit.ok && atLimit.message.type === 'welcome' && atLimit.message.peers.length).toBe(SIGNALING_LIMITS.maxPeersInWelcome)
      const overLimit = parseServerMessage(welcomeOf(SIGNALING_LIMITS.maxPeersInWelcome + 1))
      // Refused for the count, not the size: the limit is reachable within maxMessageBytes.
      expect(overLimit).toEqual({ ok: false, code: 'BAD_MESSAGE', reason: 'welcome lists too many peers' })
    })

    it('a welcome of maxPeersInWelcome peers with the longest room name fits in maxMessageBytes', () => {
      // Otherwise a server could send, for a full room, a welcome its own clients refuse as too large.
      expect(welcomeOf(SIGNALING_LIMITS.maxPeersInWelcome).length).toBeLessThanOrEqual(SIGNALING_LIMITS.maxMessageBytes)
    })
  })
})

// ── depthOf ────────────────────────────────────────────────────────────────

describe('depthOf', () => {
  const cases: Array<{ name: string; value: JsonValue; depth: number }> = [
    { name: 'a number', value: 1, depth: 0 },
    { name: 'a string', value: 'x', depth: 0 },
    { name: 'null', value: null, depth: 0 },
    { name: 'an empty object', value: {}, depth: 1 },
    { name: 'an empty array', value: [], depth: 1 },
    { name: 'a flat object', value: { a: 1, b: 'x', c: null }, depth: 1 },
    { name: 'an array in an object', value: { a: [1, 2] }, depth: 2 },
    { name: 'the deepest branch, not the first', value: { a: {}, b: [[[]]], c: 1 }, depth: 4 },
    { name: 'eight nested objects', value: nestedObject(8), depth: 8 },
  ]
  it.each(cases)('$name has depth $depth', ({ value, depth }) => {
    expect(depthOf(value)).toBe(depth)
  })

  it('handles 100 000 nested arrays without throwing and reports them as too deep', () => {
    const levels = 100_000
    const deep = JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as JsonValue
    let depth = 0
    expect(() => (depth = depthOf(deep))).not.toThrow()
    expect(depth).toBeGreaterThan(SIGNALING_LIMITS.maxPayloadDepth)
  })

  it('handles 100 000 nested objects without throwing', () => {
    const levels = 100_000
    const deep = JSON.parse('{"a":'.repeat(levels) + '{}' + '}'.repeat(levels)) as JsonValue
    expect(depthOf(deep)).toBeGreaterThan(SIGNALING_LIMITS.maxPayloadDepth)
  })
})

// ── tokens and attestations (issue 16) ───────────────────────────────────────

describe('tokens and attestations on the wire', () => {
  const parsedClient = (value: Fields) => parseClientMessage(asText(value))

  it(`a hello token: up to maxTokenLength (${SIGNALING_LIMITS.maxTokenLength}) printable ASCII characters; longer, empty or other characters are TOKEN_INVALID`, () => {
    const ok = parsedClient(hello({ token: 'x'.repeat(SIGNALING_LIMITS.maxTokenLength) }))
    expect(ok.ok && ok.message.type === 'hello' && ok.message.token?.length).toBe(SIGNALING_LIMITS.maxTokenLength)
    for (const token of ['x'.repeat(SIGNALING_LIMITS.maxTokenLength + 1), '', 'has space', 'ünïcode', 42, null]) {
      expect(parsedClient(hello({ token }))).toMatchObject({ ok: false, code: 'TOKEN_INVALID' })
    }
    expect(parsedClient(hello({ token: 'a.b.c', extra: 1 }))).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
  })

  it('refresh-token takes exactly a token', () => {
    expect(parsedClient({ type: 'refresh-token', token: 'a.b.c' })).toStrictEqual({ ok: true, message: { type: 'refresh-token', token: 'a.b.c' } })
    expect(parsedClient({ type: 'refresh-token' })).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
    expect(parsedClient({ type: 'refresh-token', token: 'a.b.c', sub: 'root' })).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
    expect(parsedClient({ type: 'refresh-token', token: 'y'.repeat(SIGNALING_LIMITS.maxTokenLength + 1) })).toMatchObject({ ok: false, code: 'TOKEN_INVALID' })
  })

  it('a welcome and a token-refreshed keep a bounded attestation, a small server key and a time; anything else is refused', () => {
    const welcome = { type: 'welcome', id: PEER_A, room: 'lobby', peers: [], expiresAt: 1_000, attestation: 'h.p.s', serverKey: { kty: 'EC' } }
    expect(parseServerMessage(asText(welcome))).toStrictEqual({ ok: true, message: welcome })
    for (const bad of [
      { attestation: 'a'.repeat(SIGNALING_LIMITS.maxAttestationLength + 1) },
      { attestation: 7 },
      { serverKey: 'not a key' },
      { serverKey: { pad: 'k'.repeat(1024) } },
      { expiresAt: 'soon' },
    ]) {
      expect(parseServerMessage(asText({ ...welcome, ...bad }))).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
    }
    expect(parseServerMessage(asText({ type: 'token-refreshed', expiresAt: 5, attestation: 'h.p.s', extra: true }))).toStrictEqual({
      ok: true,
      message: { type: 'token-refreshed', expiresAt: 5, attestation: 'h.p.s' },
    })
    expect(parseServerMessage(asText({ type: 'token-refreshed', attestation: 'a b' }))).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
  })

  it('the server’s token codes pass the client’s allowlist', () => {
    for (const code of ['TOKEN_REQUIRED', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'ROOM_FORBIDDEN']) {
      expect(parseServerMessage(asText({ type: 'error', code, message: 'no' }))).toMatchObject({ ok: true, message: { code } })
    }
  })
})
