/**
 * The stream ids of the ports a message names, read from a message that failed to decode (over a
 * limit of this side, say), so the receiver can free those streams at once instead of holding them
 * until their unclaimed timeout. Lenient where the scan (scan.ts) is strict — long strings, many
 * elements are skipped, not refused — but it allocates nothing beyond the ids, never trusts a length
 * the bytes do not back, and stops (keeping what it found) at the first malformed header. Work is
 * bounded by the bytes; nesting of extension payloads by `maxNesting`.
 */
import { EXT } from './protocol.js'

/** Extensions whose payload is nested msgpack that may hold ports. */
const NESTED = new Set<number>([EXT.map, EXT.set, EXT.error])

/** Stream ids (non-negative integers) of the port extensions in `bytes`, in order; at most `maxIds`. */
export function portStreamIds(bytes: Uint8Array, maxNesting = 66, maxIds = 4096): number[] {
  const ids: number[] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  walk(view, 0, bytes.byteLength, maxNesting, ids, maxIds)
  return ids
}

/** Walks the values in [start, end); returns false at a malformed header. */
function walk(view: DataView, start: number, end: number, nesting: number, ids: number[], maxIds: number): boolean {
  let pos = start
  let items = 1
  while (items > 0 && pos < end) {
    if (ids.length >= maxIds) return false
    const header = readHeader(view, pos, end)
    if (!header) return false
    items--
    pos = header.next
    if (header.children > 0) {
      if (header.children > end - pos) return false // each item takes at least one byte
      items += header.children
    } else if (header.ext !== undefined) {
      const payloadEnd = pos + header.size
      if (payloadEnd > end) return false
      if (header.ext === EXT.port) readPortId(view, pos, payloadEnd, ids)
      else if (NESTED.has(header.ext) && nesting > 0 && !walk(view, pos, payloadEnd, nesting - 1, ids, maxIds)) return false
      pos = payloadEnd
    } else {
      pos += header.size
    }
    if (pos > end) return false
  }
  return true
}

interface Header {
  /** Where the header ends. */
  next: number
  /** Bytes of data after the header (a string's, a binary's, an extension's payload). */
  size: number
  /** Items (array) or keys and values (map) that follow. */
  children: number
  ext?: number
}

function readHeader(view: DataView, pos: number, end: number): Header | undefined {
  const byte = view.getUint8(pos)
  const need = (n: number) => pos + n <= end
  if (byte <= 0x7f || byte >= 0xe0) return { next: pos + 1, size: 0, children: 0 }
  if (byte <= 0x8f) return { next: pos + 1, size: 0, children: 2 * (byte & 0x0f) }
  if (byte <= 0x9f) return { next: pos + 1, size: 0, children: byte & 0x0f }
  if (byte <= 0xbf) return { next: pos + 1, size: byte & 0x1f, children: 0 }
  switch (byte) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return { next: pos + 1, size: 0, children: 0 }
    case 0xc4:
    case 0xd9:
      return need(2) ? { next: pos + 2, size: view.getUint8(pos + 1), children: 0 } : undefined
    case 0xc5:
    case 0xda:
      return need(3) ? { next: pos + 3, size: view.getUint16(pos + 1), children: 0 } : undefined
    case 0xc6:
    case 0xdb:
      return need(5) ? { next: pos + 5, size: view.getUint32(pos + 1), children: 0 } : undefined
    case 0xc7:
      return need(3) ? { next: pos + 3, size: view.getUint8(pos + 1), children: 0, ext: view.getInt8(pos + 2) } : undefined
    case 0xc8:
      return need(4) ? { next: pos + 4, size: view.getUint16(pos + 1), children: 0, ext: view.getInt8(pos + 3) } : undefined
    case 0xc9:
      return need(6) ? { next: pos + 6, size: view.getUint32(pos + 1), children: 0, ext: view.getInt8(pos + 5) } : undefined
    case 0xca:
    case 0xce:
    case 0xd2:
      return { next: pos + 1, size: 4, children: 0 }
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return { next: pos + 1, size: 8, children: 0 }
    case 0xcc:
    case 0xd0:
      return { next: pos + 1, size: 1, children: 0 }
    case 0xcd:
    case 0xd1:
      return { next: pos + 1, size: 2, children: 0 }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      return need(2) ? { next: pos + 2, size: 1 << (byte - 0xd4), children: 0, ext: view.getInt8(pos + 1) } : undefined
    case 0xdc:
      return need(3) ? { next: pos + 3, size: 0, children: view.getUint16(pos + 1) } : undefined
    case 0xdd:
      return need(5) ? { next: pos + 5, size: 0, children: view.getUint32(pos + 1) } : undefined
    case 0xde:
      return need(3) ? { next: pos + 3, size: 0, children: 2 * view.getUint16(pos + 1) } : undefined
    case 0xdf:
      return need(5) ? { next: pos + 5, size: 0, children: 2 * view.getUint32(pos + 1) } : undefined
    default:
      return undefined // 0xc1, never used
  }
}

/** A port payload is a map `{ k, s, … }`: reads its `s` when it is a non-negative integer. */
function readPortId(view: DataView, start: number, end: number, ids: number[]): void {
  if (start >= end) return
  const first = view.getUint8(start)
  if (!((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf)) return
  const header = readHeader(view, start, end)
  if (!header) return
  let pos = header.next
  for (let pair = 0; pair < header.children / 2; pair++) {
    if (pos + 1 >= end) return
    const isS = view.getUint8(pos) === 0xa1 && view.getUint8(pos + 1) === 0x73 // the key "s" as a fixstr
    const valueAt = skipValue(view, pos, end)
    if (valueAt === undefined || valueAt >= end) return
    if (isS) {
      const id = readUint(view, valueAt, end)
      if (id !== undefined) ids.push(id)
      return
    }
    const next = skipValue(view, valueAt, end)
    if (next === undefined) return
    pos = next
  }
}

function readUint(view: DataView, pos: number, end: number): number | undefined {
  const byte = view.getUint8(pos)
  if (byte <= 0x7f) return byte
  if (byte === 0xcc && pos + 2 <= end) return view.getUint8(pos + 1)
  if (byte === 0xcd && pos + 3 <= end) return view.getUint16(pos + 1)
  if (byte === 0xce && pos + 5 <= end) return view.getUint32(pos + 1)
  return undefined
}

/** The position after the one value at `pos`, or undefined if malformed. */
function skipValue(view: DataView, pos: number, end: number): number | undefined {
  let items = 1
  while (items > 0) {
    if (pos >= end) return undefined
    const header = readHeader(view, pos, end)
    if (!header) return undefined
    items--
    pos = header.next + header.size
    if (header.children > end - header.next) return undefined
    items += header.children
  }
  return pos <= end ? pos : undefined
}
