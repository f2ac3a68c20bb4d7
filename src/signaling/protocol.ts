/**
 * The signaling wire protocol, shared by the server (signaling/) and the client (src/signaling/client.ts).
 * Every message is one JSON text frame. docs/protocol.md documents it; the limits below are checked by
 * the parsers, which return a typed message or a typed error for any input and never throw.
 *
 *   server → client: challenge, welcome, peer-joined, peer-left, signal, contact, token-refreshed, error
 *   client → server: hello, signal, contact, refresh-token
 */
import type { ErrorCode } from '../errors.js'
import { PEER_ID_PATTERN } from '../identity/identity.js'

export const PROTOCOL_VERSION = 1

export const SIGNALING_LIMITS = {
  /** Largest frame either side accepts (the server's ws `maxPayload`). */
  maxMessageBytes: 64 * 1024,
  /** Room names: 1..64 characters of [A-Za-z0-9._-]. */
  maxRoomNameLength: 64,
  /** Nesting depth of a signal payload (objects and arrays). */
  maxPayloadDepth: 8,
  /**
   * Most peers a welcome may list (a hostile server cannot make a client allocate more). Each listed peer
   * is 144 bytes of JSON, so this many still fit in one maxMessageBytes frame with the longest room name.
   */
  maxPeersInWelcome: 448,
  /** Longest error message the client keeps from the server. */
  maxErrorMessageLength: 512,
  /** Longest token a hello or a refresh may carry (characters, printable ASCII). */
  maxTokenLength: 8 * 1024,
  /** Longest principal attestation a welcome or a refresh answer may carry. */
  maxAttestationLength: 8 * 1024,
} as const

export const ROOM_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/
const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/
const TOKEN_PATTERN = /^[\x21-\x7e]+$/

export interface PeerInfo {
  id: string
  publicKey: string
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

// ── client → server ────────────────────────────────────────────────────────
/**
 * How a room's members link up: `full` (every peer with every other; the welcome lists the room and
 * joins and leaves are announced) or `scamp` (a partial view each; the welcome names one random
 * contact and nothing is announced). The server's policy decides per room (`roomTopology`); a peer
 * asking for another is refused with TOPOLOGY_MISMATCH. Without a policy, each topology is its own room.
 */
export type Topology = 'full' | 'scamp'

export interface HelloMessage {
  type: 'hello'
  version: number
  room: string
  /** Absent means `full`. */
  topology?: Topology
  /** Raw P-256 public key, base64url. */
  publicKey: string
  /** Signature over `helloSigningText(nonce, room)`, base64url. */
  signature: string
  /** The bearer token a server with `auth` checks (at most `maxTokenLength` printable ASCII characters). */
  token?: string
}
/** A fresh token for a joined peer whose token nears its expiry: verified like the hello's, same `sub` required. */
export interface RefreshTokenRequest {
  type: 'refresh-token'
  token: string
}
export interface SignalRequest {
  type: 'signal'
  to: string
  payload: JsonObject
}
/** Asks for one random other member of the room (a SCAMP contact from outside the views). */
export interface ContactRequest {
  type: 'contact'
}
export type ClientMessage = HelloMessage | SignalRequest | ContactRequest | RefreshTokenRequest

// ── server → client ────────────────────────────────────────────────────────
export interface ChallengeMessage {
  type: 'challenge'
  version: number
  nonce: string
}
export interface WelcomeMessage {
  type: 'welcome'
  id: string
  room: string
  peers: PeerInfo[]
  /** In a room with auth: when this peer's token expires (ms since the epoch); refresh before it. */
  expiresAt?: number
  /** In a room with auth: the server-signed principal attestation of this peer (a compact JWS). */
  attestation?: string
  /** In a room with auth: the public JWK (ES256) the server signs attestations with. */
  serverKey?: JsonObject
}
/** The answer to a refresh-token that was accepted: when the new token expires, and a fresh attestation. */
export interface TokenRefreshedMessage {
  type: 'token-refreshed'
  /** ms since the epoch; absent: the grant does not expire. */
  expiresAt?: number
  attestation?: string
}
export interface PeerJoinedMessage {
  type: 'peer-joined'
  peer: PeerInfo
}
export interface PeerLeftMessage {
  type: 'peer-left'
  id: string
}
export interface SignalDelivery {
  type: 'signal'
  /** Set by the server from the sender's verified id; never taken from the sender. */
  from: string
  payload: JsonObject
}
export interface ErrorMessage {
  type: 'error'
  code: ErrorCode
  message: string
}
/** The answer to a contact request: a random other member, or null when the peer is alone. */
export interface ContactMessage {
  type: 'contact'
  peer: PeerInfo | null
}
export type ServerMessage =
  | ChallengeMessage
  | WelcomeMessage
  | PeerJoinedMessage
  | PeerLeftMessage
  | SignalDelivery
  | ContactMessage
  | TokenRefreshedMessage
  | ErrorMessage

/** The codes a signaling server may send in an `error` message. */
export const SERVER_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_JSON',
  'BAD_MESSAGE',
  'BINARY_NOT_ALLOWED',
  'UNSUPPORTED_VERSION',
  'NOT_JOINED',
  'ALREADY_JOINED',
  'BAD_PUBLIC_KEY',
  'BAD_SIGNATURE',
  'ROOM_FULL',
  'TOPOLOGY_MISMATCH',
  'RATE_LIMITED',
  'UNKNOWN_PEER',
  'TOKEN_REQUIRED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'ROOM_FORBIDDEN',
  'SIGNALING_UNAVAILABLE',
])

/** What a hello signature covers: the server's nonce and the room, under a domain tag. */
export function helloSigningText(nonce: string, room: string): string {
  return `meshscope/hello/v${PROTOCOL_VERSION}\n${nonce}\n${room}`
}

/** WebSocket close codes the server uses (4000-4999 are for applications). */
export const CLOSE_CODES = {
  /** The server is shutting down. */
  goingAway: 1001,
  /** Too many bad messages: the client is misbehaving. */
  policyViolation: 1008,
  /** A frame over `maxMessageBytes` (ws closes with this itself). */
  messageTooBig: 1009,
  /**
   * The server cannot serve the room right now (the Redis it shares rooms through is out of reach, or
   * the peer's presence lapsed meanwhile): the client reconnects, to another server when it has several.
   */
  tryAgainLater: 1013,
  /** A newer socket proved the same key and took over this id. */
  replaced: 4000,
  /** No valid hello within the time allowed. */
  helloTimeout: 4001,
  /** The hello could not be verified (bad key or signature, unsupported version). */
  authenticationFailed: 4002,
  /** The room is at its size limit. */
  roomFull: 4003,
  /** The server runs the room in another topology (`full` or `scamp`) than the hello asked for. */
  topologyMismatch: 4004,
  /**
   * The member did not read what the server sent it (its outgoing buffer passed the server's cap). Only
   * logged: the socket is terminated, since a close frame would queue behind the unread data.
   */
  slowConsumer: 4005,
  /** The server needs a token and the hello had none, or one it could not verify, or one already expired (the reason names the code). */
  unauthorized: 4006,
  /** The token is valid but does not allow this room. */
  forbidden: 4007,
  /** A joined peer's token expired and it did not refresh it in time. */
  tokenExpired: 4008,
} as const

export type ParseResult<T> = { ok: true; message: T } | { ok: false; code: ErrorCode; reason: string }

const fail = (code: ErrorCode, reason: string): { ok: false; code: ErrorCode; reason: string } => ({ ok: false, code, reason })

/** Parses one text frame from a client. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  const parsed = parseJsonObject(text)
  if (!parsed.ok) return parsed
  const value = parsed.message
  switch (value.type) {
    case 'hello': {
      if (!hasKeys(value, ['type', 'version', 'room', 'publicKey', 'signature'], ['topology', 'token'])) {
        return fail('BAD_MESSAGE', 'hello takes exactly type, version, room, publicKey, signature and optionally topology and token')
      }
      if (value.token !== undefined && !isToken(value.token))
        return fail('TOKEN_INVALID', `hello.token must be 1..${SIGNALING_LIMITS.maxTokenLength} printable ASCII characters`)
      if (value.topology !== undefined && value.topology !== 'full' && value.topology !== 'scamp')
        return fail('BAD_MESSAGE', 'hello.topology must be "full" or "scamp"')
      if (typeof value.version !== 'number' || !Number.isInteger(value.version)) return fail('BAD_MESSAGE', 'hello.version must be an integer')
      if (value.version !== PROTOCOL_VERSION)
        return fail('UNSUPPORTED_VERSION', `protocol version ${value.version} is not supported (server speaks ${PROTOCOL_VERSION})`)
      if (!isRoomName(value.room)) return fail('BAD_MESSAGE', 'hello.room must be 1..64 characters of A-Z a-z 0-9 . _ -')
      if (typeof value.publicKey !== 'string' || value.publicKey.length !== 87 || !BASE64URL_PATTERN.test(value.publicKey)) {
        return fail('BAD_PUBLIC_KEY', 'hello.publicKey must be a raw P-256 public key in base64url (87 characters)')
      }
      if (typeof value.signature !== 'string' || value.signature.length !== 86 || !BASE64URL_PATTERN.test(value.signature)) {
        return fail('BAD_SIGNATURE', 'hello.signature must be a P-256 signature in base64url (86 characters)')
      }
      return { ok: true, message: value as unknown as HelloMessage }
    }
    case 'signal': {
      if (!hasExactKeys(value, ['type', 'to', 'payload'])) return fail('BAD_MESSAGE', 'signal takes exactly type, to, payload')
      if (!isPeerId(value.to)) return fail('BAD_MESSAGE', 'signal.to must be a peer id (32 hex characters)')
      if (!isJsonObject(value.payload)) return fail('BAD_MESSAGE', 'signal.payload must be an object')
      if (depthOf(value.payload) > SIGNALING_LIMITS.maxPayloadDepth) {
        return fail('BAD_MESSAGE', `signal.payload nests deeper than ${SIGNALING_LIMITS.maxPayloadDepth}`)
      }
      return { ok: true, message: value as unknown as SignalRequest }
    }
    case 'contact':
      if (!hasExactKeys(value, ['type'])) return fail('BAD_MESSAGE', 'contact takes exactly type')
      return { ok: true, message: { type: 'contact' } }
    case 'refresh-token':
      if (!hasExactKeys(value, ['type', 'token'])) return fail('BAD_MESSAGE', 'refresh-token takes exactly type, token')
      if (!isToken(value.token)) return fail('TOKEN_INVALID', `refresh-token.token must be 1..${SIGNALING_LIMITS.maxTokenLength} printable ASCII characters`)
      return { ok: true, message: { type: 'refresh-token', token: value.token } }
    default:
      return fail('BAD_MESSAGE', typeof value.type === 'string' ? `unknown message type "${value.type.slice(0, 32)}"` : 'message.type must be a string')
  }
}

/** Parses one text frame from the server: the client does not trust the server's shapes either. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  const parsed = parseJsonObject(text)
  if (!parsed.ok) return parsed
  const value = parsed.message
  switch (value.type) {
    case 'challenge':
      if (typeof value.version !== 'number' || typeof value.nonce !== 'string' || !NONCE_PATTERN.test(value.nonce)) {
        return fail('BAD_MESSAGE', 'challenge needs a version and a base64url nonce')
      }
      return { ok: true, message: { type: 'challenge', version: value.version, nonce: value.nonce } }
    case 'welcome': {
      if (!isPeerId(value.id) || !isRoomName(value.room) || !Array.isArray(value.peers)) return fail('BAD_MESSAGE', 'welcome needs id, room and peers')
      if (value.peers.length > SIGNALING_LIMITS.maxPeersInWelcome) return fail('BAD_MESSAGE', 'welcome lists too many peers')
      const peers: PeerInfo[] = []
      for (const peer of value.peers) {
        if (!isPeerInfo(peer)) return fail('BAD_MESSAGE', 'welcome.peers holds an invalid peer')
        peers.push({ id: peer.id, publicKey: peer.publicKey })
      }
      if (value.attestation !== undefined && !isAttestation(value.attestation)) return fail('BAD_MESSAGE', 'welcome.attestation is not a bounded string')
      if (value.expiresAt !== undefined && (typeof value.expiresAt !== 'number' || !Number.isFinite(value.expiresAt)))
        return fail('BAD_MESSAGE', 'welcome.expiresAt must be a time')
      if (value.serverKey !== undefined && (!isJsonObject(value.serverKey) || JSON.stringify(value.serverKey).length > 1024))
        return fail('BAD_MESSAGE', 'welcome.serverKey is not a small JWK')
      return {
        ok: true,
        message: {
          type: 'welcome',
          id: value.id,
          room: value.room,
          peers,
          ...(typeof value.expiresAt === 'number' && { expiresAt: value.expiresAt }),
          ...(typeof value.attestation === 'string' && { attestation: value.attestation }),
          ...(isJsonObject(value.serverKey) && { serverKey: value.serverKey }),
        },
      }
    }
    case 'peer-joined':
      if (!isPeerInfo(value.peer)) return fail('BAD_MESSAGE', 'peer-joined needs a peer')
      return { ok: true, message: { type: 'peer-joined', peer: { id: value.peer.id, publicKey: value.peer.publicKey } } }
    case 'peer-left':
      if (!isPeerId(value.id)) return fail('BAD_MESSAGE', 'peer-left needs an id')
      return { ok: true, message: { type: 'peer-left', id: value.id } }
    case 'contact':
      if (value.peer !== null && !isPeerInfo(value.peer)) return fail('BAD_MESSAGE', 'contact needs a peer or null')
      return { ok: true, message: { type: 'contact', peer: value.peer === null ? null : { id: value.peer.id, publicKey: value.peer.publicKey } } }
    case 'signal':
      if (!isPeerId(value.from) || !isJsonObject(value.payload)) return fail('BAD_MESSAGE', 'signal needs from and an object payload')
      if (depthOf(value.payload) > SIGNALING_LIMITS.maxPayloadDepth) return fail('BAD_MESSAGE', 'signal.payload nests too deep')
      return { ok: true, message: { type: 'signal', from: value.from, payload: value.payload } }
    case 'token-refreshed':
      if (value.expiresAt !== undefined && (typeof value.expiresAt !== 'number' || !Number.isFinite(value.expiresAt)))
        return fail('BAD_MESSAGE', 'token-refreshed.expiresAt must be a time')
      if (value.attestation !== undefined && !isAttestation(value.attestation))
        return fail('BAD_MESSAGE', 'token-refreshed.attestation is not a bounded string')
      return {
        ok: true,
        message: {
          type: 'token-refreshed',
          ...(typeof value.expiresAt === 'number' && { expiresAt: value.expiresAt }),
          ...(typeof value.attestation === 'string' && { attestation: value.attestation }),
        },
      }
    case 'error':
      if (typeof value.code !== 'string' || typeof value.message !== 'string') return fail('BAD_MESSAGE', 'error needs code and message')
      return {
        ok: true,
        message: {
          type: 'error',
          // Codes are rebuilt through an allowlist: an unknown one from the server becomes SIGNALING_REFUSED.
          code: SERVER_ERROR_CODES.has(value.code as ErrorCode) ? (value.code as ErrorCode) : 'SIGNALING_REFUSED',
          message: value.message.slice(0, SIGNALING_LIMITS.maxErrorMessageLength),
        },
      }
    default:
      return fail('BAD_MESSAGE', 'unknown server message type')
  }
}

export function isPeerId(value: unknown): value is string {
  return typeof value === 'string' && PEER_ID_PATTERN.test(value)
}

export function isRoomName(value: unknown): value is string {
  return typeof value === 'string' && ROOM_NAME_PATTERN.test(value)
}

function isPeerInfo(value: unknown): value is PeerInfo {
  if (!isJsonObject(value)) return false
  return isPeerId(value.id) && typeof value.publicKey === 'string' && value.publicKey.length === 87 && BASE64URL_PATTERN.test(value.publicKey)
}

function parseJsonObject(text: string): ParseResult<JsonObject> {
  // The limit is in UTF-8 bytes; only text long enough to possibly exceed it is measured exactly.
  if (text.length > SIGNALING_LIMITS.maxMessageBytes / 3 && utf8ByteLength(text) > SIGNALING_LIMITS.maxMessageBytes) {
    return fail('BAD_MESSAGE', 'message is too large')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return fail('BAD_JSON', 'message is not valid JSON')
  }
  if (!isJsonObject(value)) return fail('BAD_MESSAGE', 'message must be a JSON object')
  return { ok: true, message: value }
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A bearer token as a hello or a refresh may carry it: bounded, printable ASCII without spaces. */
export function isToken(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= SIGNALING_LIMITS.maxTokenLength && TOKEN_PATTERN.test(value)
}

function isAttestation(value: unknown): value is string {
  return typeof value === 'string' && value.length <= SIGNALING_LIMITS.maxAttestationLength && TOKEN_PATTERN.test(value)
}

/** Every required key, any of the optional ones, nothing else. */
function hasKeys(value: JsonObject, required: string[], optional: string[]): boolean {
  const own = Object.keys(value)
  return required.every((key) => Object.hasOwn(value, key)) && own.every((key) => required.includes(key) || optional.includes(key))
}

function hasExactKeys(value: JsonObject, keys: string[]): boolean {
  const own = Object.keys(value)
  return own.length === keys.length && keys.every((key) => Object.hasOwn(value, key))
}

/** Nesting depth of a JSON value, computed without recursion so hostile depth cannot blow the stack. */
export function depthOf(root: JsonValue): number {
  let max = 0
  const stack: Array<[JsonValue, number]> = [[root, 0]]
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!
    if (typeof value !== 'object' || value === null) continue
    const here = depth + 1
    if (here > max) max = here
    if (max > 64) return max // deep enough to refuse; stop walking
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, here])
  }
  return max
}

function utf8ByteLength(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}
