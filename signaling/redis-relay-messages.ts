/**
 * What signaling server instances sharing rooms through Redis say to each other over pub/sub, and the
 * parser for it. Each instance listens on its own channel (`<prefix>instance:<id>`). A message from
 * Redis is as hostile as one from a client (another instance may be buggy, or anyone with access to
 * Redis may publish): it is size-bounded before parsing, its envelope must have exactly the expected
 * keys, and the client message inside goes through the same parser the client runs
 * (`parseServerMessage`), so an instance never forwards what a client would refuse.
 *
 *   deliver:  { v: 1, kind: 'deliver', room, to, message }   a signal for one peer held here
 *   announce: { v: 1, kind: 'announce', room, message }      a peer-joined / peer-left for a full room
 *   replaced: { v: 1, kind: 'replaced', room, id, session }  that peer reconnected elsewhere: close this socket
 *
 * `room` is the room's key (`full/<name>` or `scamp/<name>`); `message` is the server→client message
 * as JSON text.
 */
import { isPeerId, isRoomName, parseServerMessage, type ServerMessage } from '../src/signaling/protocol.js'

export const RELAY_VERSION = 1

/** Session tokens and instance ids: base64url, as `randomBase64Url` makes them. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{8,64}$/

export type RelayMessage =
  | { kind: 'deliver'; room: string; to: string; message: ServerMessage & { type: 'signal' } }
  | { kind: 'announce'; room: string; message: ServerMessage & { type: 'peer-joined' | 'peer-left' } }
  | { kind: 'replaced'; room: string; id: string; session: string }

export type RelayParse = { ok: true; relay: RelayMessage } | { ok: false; reason: string }

export function isToken(value: unknown): value is string {
  return typeof value === 'string' && TOKEN_PATTERN.test(value)
}

/** A room's key: its topology and name (the server's `roomKey`). */
export function isRoomKey(value: unknown): value is string {
  if (typeof value !== 'string') return false
  const slash = value.indexOf('/')
  const topology = value.slice(0, slash)
  return (topology === 'full' || topology === 'scamp') && isRoomName(value.slice(slash + 1))
}

export function encodeRelay(relay: RelayMessage): string {
  const { kind, room } = relay
  if (kind === 'replaced') return JSON.stringify({ v: RELAY_VERSION, kind, room, id: relay.id, session: relay.session })
  const message = JSON.stringify(relay.message)
  return kind === 'deliver'
    ? JSON.stringify({ v: RELAY_VERSION, kind, room, to: relay.to, message })
    : JSON.stringify({ v: RELAY_VERSION, kind, room, message })
}

/** Parses one pub/sub message; never throws. `maxBytes` bounds the text before it is parsed. */
export function parseRelay(text: string, maxBytes: number): RelayParse {
  // A UTF-16 length bounds the UTF-8 bytes from below; bounding the characters bounds the work.
  if (text.length > maxBytes) return { ok: false, reason: `a relay message of ${text.length} characters (the limit is ${maxBytes})` }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'a relay message that is not JSON' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'a relay message that is not an object' }
  const envelope = value as Record<string, unknown>
  if (envelope.v !== RELAY_VERSION) return { ok: false, reason: `relay version ${String(envelope.v)} (this instance speaks ${RELAY_VERSION})` }
  if (!isRoomKey(envelope.room)) return { ok: false, reason: 'a relay message without a valid room key' }
  const room = envelope.room
  const keys = Object.keys(envelope).sort().join(',')
  switch (envelope.kind) {
    case 'replaced':
      if (keys !== 'id,kind,room,session,v') return { ok: false, reason: 'replaced takes exactly v, kind, room, id, session' }
      if (!isPeerId(envelope.id) || !isToken(envelope.session)) return { ok: false, reason: 'replaced needs a peer id and a session token' }
      return { ok: true, relay: { kind: 'replaced', room, id: envelope.id, session: envelope.session } }
    case 'deliver': {
      if (keys !== 'kind,message,room,to,v') return { ok: false, reason: 'deliver takes exactly v, kind, room, to, message' }
      if (!isPeerId(envelope.to)) return { ok: false, reason: 'deliver.to must be a peer id' }
      const inner = parseInner(envelope.message)
      if (!inner.ok) return inner
      if (inner.message.type !== 'signal') return { ok: false, reason: `deliver carries a ${inner.message.type}, not a signal` }
      return { ok: true, relay: { kind: 'deliver', room, to: envelope.to, message: inner.message } }
    }
    case 'announce': {
      if (keys !== 'kind,message,room,v') return { ok: false, reason: 'announce takes exactly v, kind, room, message' }
      const inner = parseInner(envelope.message)
      if (!inner.ok) return inner
      const message = inner.message
      if (message.type !== 'peer-joined' && message.type !== 'peer-left') return { ok: false, reason: `announce carries a ${message.type}` }
      return { ok: true, relay: { kind: 'announce', room, message } }
    }
    default:
      return { ok: false, reason: `a relay message of unknown kind ${JSON.stringify(String(envelope.kind)).slice(0, 40)}` }
  }
}

function parseInner(text: unknown): { ok: true; message: ServerMessage } | { ok: false; reason: string } {
  if (typeof text !== 'string') return { ok: false, reason: 'a relay message whose message is not JSON text' }
  const parsed = parseServerMessage(text)
  return parsed.ok ? parsed : { ok: false, reason: `a relayed message the client would refuse: ${parsed.reason}` }
}
