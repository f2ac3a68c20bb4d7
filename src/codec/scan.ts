/**
 * Checks untrusted bytes before the msgpack decoder sees them. @msgpack/msgpack trusts every length
 * header (an array header claiming 2^32 items allocates that array) and has no depth limit, so a few
 * KB of hostile headers can exhaust the heap — an out-of-memory no try/catch recovers from.
 *
 * This is one iterative pass over the msgpack structure (no recursion, no allocation beyond a stack
 * of at most 2·maxDepth + 1 frames). It checks every header against the bytes that remain (each item
 * takes at least one byte, so a length can never exceed them), the depth, the element budget, the
 * string and binary limits, that map keys are strings and strings well-formed UTF-8, walking into the
 * payloads of the extensions that hold nested msgpack (Map, Set, error, port); it requires exactly
 * one value with no trailing bytes, at the top and inside each such payload. Only after it passes
 * does the decoder run, on bytes whose every length is known to be within the limits and backed by
 * real bytes.
 *
 * Depth and elements are counted exactly as `CodecLimits` documents and as the encoder counts them
 * (src/codec/encode.ts): the array or map that is the payload of a Map, Set or error extension
 * belongs to that extension's level, and a Map's entries count once, not twice.
 */
import { CodecError } from './codec-error.js'
import type { CodecLimits } from './limits.js'
import { EXT, PAYLOAD_SHAPE, type PayloadShape } from './protocol.js'

export interface ScanResult {
  /** How many msgpack bin values the message holds (the decoder returns views: they must be copied). */
  binaries: number
  /** How many port extensions the message holds. */
  ports: number
  /** Elements of its arrays and maps (and of Map and Set payloads), as `maxElements` counts them. */
  elements: number
}

const FRAME_ARRAY = 0
const FRAME_MAP = 1
/** The payload of a Map, Set or error extension. */
const FRAME_EXT = 2
/** The payload of a port extension (it opens no level, and no port may sit inside it). */
const FRAME_PORT = 3

/** Fixed total sizes of the scalar formats 0xc0..0xdf (0 = not a scalar of fixed size). */
const FIXED_SIZE = new Uint8Array(0x20)
FIXED_SIZE[0xc0 - 0xc0] = 1 // nil
FIXED_SIZE[0xc2 - 0xc0] = 1 // false
FIXED_SIZE[0xc3 - 0xc0] = 1 // true
FIXED_SIZE[0xca - 0xc0] = 5 // float 32
FIXED_SIZE[0xcb - 0xc0] = 9 // float 64
FIXED_SIZE[0xcc - 0xc0] = 2 // uint 8
FIXED_SIZE[0xcd - 0xc0] = 3 // uint 16
FIXED_SIZE[0xce - 0xc0] = 5 // uint 32
FIXED_SIZE[0xcf - 0xc0] = 9 // uint 64
FIXED_SIZE[0xd0 - 0xc0] = 2 // int 8
FIXED_SIZE[0xd1 - 0xc0] = 3 // int 16
FIXED_SIZE[0xd2 - 0xc0] = 5 // int 32
FIXED_SIZE[0xd3 - 0xc0] = 9 // int 64

const malformed = (message: string) => new CodecError('CODEC_MALFORMED', message)
const badExtension = (message: string) => new CodecError('CODEC_BAD_EXTENSION', message)

/** Throws a CodecError unless `bytes` is exactly one well-formed value within `limits`. */
export function scanMessage(bytes: Uint8Array, limits: Readonly<CodecLimits>): ScanResult {
  const { maxDepth, maxElements, maxStringBytes, maxBinaryBytes } = limits
  if (bytes.length > limits.maxMessageBytes) {
    throw new CodecError('CODEC_TOO_LARGE', `a message of ${bytes.length} bytes is over maxMessageBytes (${limits.maxMessageBytes})`)
  }
  if (bytes.length === 0) throw malformed('an empty message holds no value')

  // The frame stack: open arrays and maps (items still to read), open extension payloads (the end to restore).
  const kinds: number[] = []
  const counts: number[] = []
  const savedEnds: number[] = []
  const levels: number[] = []
  let top = -1
  let end = bytes.length // where the innermost open extension payload (or the message) ends
  let depth = 0
  let elements = 0
  let openPorts = 0
  const result: ScanResult = { binaries: 0, ports: 0, elements: 0 }
  let shape: PayloadShape | 0 = 0 // set when the next value is the payload of an extension
  let pos = 0

  const readLength = (at: number, size: 1 | 2 | 4): number => {
    if (at + size > end) throw malformed(`truncated length at byte ${at}`)
    if (size === 1) return bytes[at]!
    if (size === 2) return (bytes[at]! << 8) | bytes[at + 1]!
    return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!)
  }

  for (;;) {
    // ── read one value header at pos ──
    if (pos >= end) {
      if (shape !== 0) throw badExtension('an extension payload is empty')
      throw malformed(`truncated message: a value is missing at byte ${pos}`)
    }
    const head = bytes[pos]!
    if (top >= 0 && kinds[top] === FRAME_MAP && counts[top]! % 2 === 0 && !isStringHead(head)) {
      throw malformed(`a map key at byte ${pos} is not a string`)
    }
    const payloadShape = shape
    shape = 0
    if (payloadShape !== 0 && payloadShape !== PAYLOAD_SHAPE.any) {
      const wanted = payloadShape === PAYLOAD_SHAPE.errorMap ? isMapHead(head) : isArrayHead(head)
      if (!wanted)
        throw badExtension(`the payload of a ${shapeName(payloadShape)} extension is not a ${payloadShape === PAYLOAD_SHAPE.errorMap ? 'map' : 'array'}`)
    }

    let containerKind = -1
    let containerLength = 0
    if (head <= 0x7f || head >= 0xe0) {
      pos += 1 // fixint
    } else if (head <= 0x8f) {
      containerKind = FRAME_MAP
      containerLength = head & 0x0f
      pos += 1
    } else if (head <= 0x9f) {
      containerKind = FRAME_ARRAY
      containerLength = head & 0x0f
      pos += 1
    } else if (head <= 0xbf) {
      pos = skipString(pos, 1, head & 0x1f)
    } else if (head === 0xd9 || head === 0xda || head === 0xdb) {
      const size = head === 0xd9 ? 1 : head === 0xda ? 2 : 4
      pos = skipString(pos, 1 + size, readLength(pos + 1, size))
    } else if (head === 0xc4 || head === 0xc5 || head === 0xc6) {
      const size = head === 0xc4 ? 1 : head === 0xc5 ? 2 : 4
      const length = readLength(pos + 1, size)
      if (length > maxBinaryBytes) throw new CodecError('CODEC_TOO_LARGE', `a binary of ${length} bytes is over maxBinaryBytes (${maxBinaryBytes})`)
      pos = skip(pos, 1 + size, length)
      result.binaries++
    } else if (head === 0xdc || head === 0xdd || head === 0xde || head === 0xdf) {
      const size = head === 0xdc || head === 0xde ? 2 : 4
      containerKind = head <= 0xdd ? FRAME_ARRAY : FRAME_MAP
      containerLength = readLength(pos + 1, size)
      pos += 1 + size
    } else if (head >= 0xd4 && head <= 0xd8) {
      shape = openExtension(2, 1 << (head - 0xd4)) // fixext 1, 2, 4, 8, 16
    } else if (head === 0xc7 || head === 0xc8 || head === 0xc9) {
      const size = head === 0xc7 ? 1 : head === 0xc8 ? 2 : 4
      shape = openExtension(2 + size, readLength(pos + 1, size))
    } else {
      const total = FIXED_SIZE[head - 0xc0]! // 0xc1 (never used) has none
      if (total === 0) throw malformed(`0x${head.toString(16)} at byte ${pos} is not a msgpack type`)
      pos = skip(pos, total, 0)
    }

    if (containerKind >= 0) {
      // The array or map that is an extension's payload belongs to that extension's level.
      const level = payloadShape === 0 || payloadShape === PAYLOAD_SHAPE.any ? 1 : 0
      if (depth + level > maxDepth) throw tooDeep(maxDepth)
      if (payloadShape === PAYLOAD_SHAPE.mapArray && containerLength % 2 !== 0) throw badExtension('the payload of a Map extension has an odd length')
      elements += payloadShape === PAYLOAD_SHAPE.mapArray ? containerLength / 2 : containerLength
      if (elements > maxElements) throw tooManyElements(maxElements)
      const items = containerKind === FRAME_MAP ? containerLength * 2 : containerLength
      if (items > end - pos) throw malformed(`a container at byte ${pos} claims ${items} items but only ${end - pos} bytes remain`)
      if (items > 0) {
        top++
        kinds[top] = containerKind
        counts[top] = items
        levels[top] = level
        depth += level
        continue // read its first item
      }
    } else if (shape !== 0) {
      continue // an extension payload was opened: read its value
    }

    // ── a value is complete: close every frame it completes ──
    for (;;) {
      if (top < 0) {
        if (pos !== bytes.length) throw malformed(`${bytes.length - pos} trailing bytes after the value`)
        result.elements = elements
        return result
      }
      const kind = kinds[top]
      if (kind === FRAME_ARRAY || kind === FRAME_MAP) {
        if (--counts[top]! > 0) break
        depth -= levels[top]!
        top--
        continue
      }
      // An extension payload holds exactly one value.
      if (pos !== end) throw badExtension(`an extension payload has ${end - pos} bytes after its value`)
      depth -= levels[top]!
      if (kind === FRAME_PORT) openPorts--
      end = savedEnds[top]!
      top--
    }
  }

  function skipString(at: number, headerBytes: number, length: number): number {
    if (length > maxStringBytes) throw new CodecError('CODEC_TOO_LARGE', `a string of ${length} bytes is over maxStringBytes (${maxStringBytes})`)
    const next = skip(at, headerBytes, length)
    if (!isWellFormedUtf8(bytes, at + headerBytes, next)) throw malformed(`the string at byte ${at} is not well-formed UTF-8`)
    return next
  }

  function skip(at: number, headerBytes: number, length: number): number {
    if (length > end - at - headerBytes) throw malformed(`truncated value at byte ${at}`)
    return at + headerBytes + length
  }

  /**
   * Skips a leaf extension, or opens the payload of one that holds nested msgpack and returns the
   * shape that payload must have. `headerBytes` counts the head byte, the length and the type byte.
   */
  function openExtension(headerBytes: number, length: number): PayloadShape | 0 {
    if (pos + headerBytes > end) throw malformed(`truncated extension header at byte ${pos}`)
    const type = (bytes[pos + headerBytes - 1]! << 24) >> 24 // the type byte is signed
    // Limits first, then truncation, as for strings and binaries.
    if (type === EXT.bigint && length > maxBinaryBytes) {
      throw new CodecError('CODEC_TOO_LARGE', `a bigint of ${length} bytes is over maxBinaryBytes (${maxBinaryBytes})`)
    }
    if (length > end - pos - headerBytes) throw malformed(`truncated extension at byte ${pos}`)
    const payloadStart = pos + headerBytes
    switch (type) {
      case EXT.constant:
      case EXT.bigint:
      case EXT.date:
        pos = payloadStart + length // their payloads are checked by the decoder
        return 0
      case EXT.map:
      case EXT.set:
      case EXT.error:
        if (depth + 1 > maxDepth) throw tooDeep(maxDepth)
        pushPayload(FRAME_EXT, payloadStart + length, 1)
        pos = payloadStart
        return type === EXT.map ? PAYLOAD_SHAPE.mapArray : type === EXT.set ? PAYLOAD_SHAPE.setArray : PAYLOAD_SHAPE.errorMap
      case EXT.port:
        if (openPorts > 0) throw badExtension('a port inside the payload of a port')
        openPorts++
        result.ports++
        pushPayload(FRAME_PORT, payloadStart + length, 0)
        pos = payloadStart
        return PAYLOAD_SHAPE.any
      default:
        throw badExtension(`unknown extension type ${type}`)
    }
  }

  function pushPayload(kind: number, payloadEnd: number, level: number): void {
    top++
    kinds[top] = kind
    savedEnds[top] = end
    levels[top] = level
    depth += level
    end = payloadEnd
  }
}

/**
 * RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. The encoder never writes
 * anything else, and the Decoder would turn such bytes into different strings depending on their
 * length (lone surrogates below 200 bytes, U+FFFD above), so they are refused instead.
 */
function isWellFormedUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start
  while (i < end) {
    const lead = bytes[i]!
    if (lead < 0x80) {
      i++
      continue
    }
    const need = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : -1
    if (need < 0 || i + need >= end) return false
    const second = bytes[i + 1]!
    // The second byte's range is narrower after these leads: it rules out overlongs, surrogates and > U+10FFFF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf
    if (second < low || second > high) return false
    for (let k = 2; k <= need; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return false
    i += need + 1
  }
  return true
}

const isStringHead = (head: number) => (head >= 0xa0 && head <= 0xbf) || head === 0xd9 || head === 0xda || head === 0xdb
const isArrayHead = (head: number) => (head >= 0x90 && head <= 0x9f) || head === 0xdc || head === 0xdd
const isMapHead = (head: number) => (head >= 0x80 && head <= 0x8f) || head === 0xde || head === 0xdf
const shapeName = (shape: PayloadShape) => (shape === PAYLOAD_SHAPE.mapArray ? 'Map' : shape === PAYLOAD_SHAPE.setArray ? 'Set' : 'error')

const tooDeep = (maxDepth: number) => new CodecError('CODEC_TOO_DEEP', `the value nests deeper than maxDepth (${maxDepth})`)
const tooManyElements = (maxElements: number) => new CodecError('CODEC_TOO_MANY_ELEMENTS', `the value has more elements than maxElements (${maxElements})`)
