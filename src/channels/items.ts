/**
 * What travels on a channel's stream: one codec value per message, tagged so that per-item failures
 * and broadcast lag cross the wire too.
 *
 *   [0, value]     a value
 *   [1, error]     this item failed (too large, could not be decoded…); the channel goes on
 *   [2, skipped]   a broadcast receiver upstream fell behind and lost `skipped` values
 *   [3, reason]    the last sender went away for `reason` (`dropped`, `disconnected`); a plain CLOSE means `closed`
 */
import { isUint8Array } from '../codec/encode.js'
import { DECODED_ELEMENT_BYTES } from '../codec/codec.js'
import { MeshscopeError } from '../errors.js'
import type { Connection } from './connection.js'
import type { ChannelCloseReason } from './errors.js'

export type Item<T> = { ok: true; value: T } | { ok: false; error: MeshscopeError } | { ok: false; lagged: number }
/** What a stream message decodes to: an item, or the end marker. */
export type WireItem<T> = Item<T> | { end: ChannelCloseReason }

const VALUE = 0
const ERROR = 1
const LAGGED = 2
const END = 3

/** Encodes an item; a value that cannot be encoded becomes an error item (the channel goes on). */
export function encodeItem(connection: Connection, item: Item<unknown>): Uint8Array {
  if (item.ok) {
    try {
      return connection.encode([VALUE, item.value])
    } catch (error) {
      return connection.encode([ERROR, asMeshscopeError(error)])
    }
  }
  return 'lagged' in item ? connection.encode([LAGGED, item.lagged]) : connection.encode([ERROR, item.error])
}

/**
 * `encodeItem`, except that a value that is only bytes comes back as `binaryItemParts`: the bytes
 * are not copied, so they must not change until the stream has sent them.
 */
export function encodeItemParts(connection: Connection, item: Item<unknown>): Uint8Array | [Uint8Array, Uint8Array] {
  if (item.ok && isUint8Array(item.value) && item.value.byteLength <= connection.codec.limits.maxBinaryBytes) return binaryItemParts(item.value)
  return encodeItem(connection, item)
}

/**
 * A value item that is only bytes, as two parts — the msgpack header of `[0, bin]` and the bytes
 * themselves — so a stream can send it without copying the bytes into one buffer. Joined, the parts
 * are byte for byte what `encodeItem` gives for the same value.
 */
export function binaryItemParts(bytes: Uint8Array): [Uint8Array, Uint8Array] {
  const length = bytes.byteLength
  let header: Uint8Array
  if (length < 0x100) header = Uint8Array.of(0x92, VALUE, 0xc4, length)
  else if (length < 0x10000) header = Uint8Array.of(0x92, VALUE, 0xc5, length >>> 8, length & 0xff)
  else header = Uint8Array.of(0x92, VALUE, 0xc6, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
  return [header, bytes]
}

/**
 * The bytes of a value item that is only bytes and arrived in several chunks, as views of those
 * chunks (nothing joined or copied); undefined for any other message, which is then decoded whole.
 */
export function binaryItemPieces(chunks: readonly Uint8Array[], maxBinaryBytes: number): Uint8Array[] | undefined {
  const first = chunks[0]
  if (!first || first.byteLength < 3 || first[0] !== 0x92 || first[1] !== VALUE) return undefined
  const headerBytes = first[2] === 0xc4 ? 4 : first[2] === 0xc5 ? 5 : first[2] === 0xc6 ? 7 : 0
  if (headerBytes === 0 || first.byteLength < headerBytes) return undefined
  let length = 0
  for (let i = 3; i < headerBytes; i++) length = length * 256 + first[i]!
  let total = -headerBytes
  for (const chunk of chunks) total += chunk.byteLength
  if (total !== length || length > maxBinaryBytes) return undefined
  const pieces = [first.subarray(headerBytes), ...chunks.slice(1)]
  return pieces.filter((piece) => piece.byteLength > 0)
}

export function encodeEnd(connection: Connection, reason: ChannelCloseReason): Uint8Array {
  return connection.encode([END, reason])
}

/** Decodes an item; bytes that do not decode become an error item. */
export function decodeItem<T>(connection: Connection, bytes: Uint8Array): WireItem<T> {
  let decoded: unknown
  try {
    decoded = connection.decode(bytes)
  } catch (error) {
    return { ok: false, error: asMeshscopeError(error) }
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return { ok: false, error: new MeshscopeError('BAD_PORT', 'a channel item has the wrong shape') }
  const [tag, payload] = decoded as [unknown, unknown]
  if (tag === VALUE) return { ok: true, value: payload as T }
  if (tag === ERROR) return { ok: false, error: asMeshscopeError(payload) }
  if (tag === LAGGED && Number.isInteger(payload) && (payload as number) > 0) return { ok: false, lagged: payload as number }
  if (tag === END && (payload === 'dropped' || payload === 'disconnected' || payload === 'closed')) return { end: payload }
  return { ok: false, error: new MeshscopeError('BAD_PORT', 'a channel item has an unknown tag') }
}

export function asMeshscopeError(error: unknown): MeshscopeError {
  if (error instanceof MeshscopeError) return error
  return new MeshscopeError('BAD_PORT', error instanceof Error ? error.message : String(error), { cause: error })
}

/**
 * What the item `decodeItem` just decoded costs beyond its encoded bytes (its entries as JS values,
 * the item's own `[tag, value]` pair aside): channel buffers and the peer's budget count it too.
 */
export function decodedItemOverhead(connection: Connection): number {
  return Math.max(0, connection.codec.lastDecodedOverheadBytes - 2 * DECODED_ELEMENT_BYTES)
}
