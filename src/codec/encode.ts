/**
 * The encode-side walk. It checks a value before any byte is written and turns it into a "wire
 * tree" that @msgpack/msgpack's Encoder writes as is: primitives, arrays, plain objects, Uint8Arrays
 * and `ExtData` for everything msgpack has no type for. Containers are copied only when something
 * inside them changes (copy-on-write), so a value of plain data is handed over untouched.
 *
 * It refuses what cannot travel with a CodecError naming the path (src/codec/path.ts), and enforces
 * the limits exactly as the decoder's scan (src/codec/scan.ts) counts them, so a value that encodes
 * also decodes under the same limits. Extension payloads that hold nested msgpack (Map, Set, error,
 * port) are encoded bottom-up through the same Encoder, between — never inside — its other calls
 * (msgpack needs an extension's length before its payload, so the bytes inside n nested Maps are
 * copied n times; maxDepth bounds n).
 *
 * Choices documented in docs/protocol.md, section "Values":
 * - undefined stays undefined (an extension), in arrays, object properties and at the top;
 * - array holes travel as undefined (what reading them gives), so decoded arrays are dense;
 *   other own properties of arrays are not carried;
 * - plain objects carry their own enumerable string keys, null-prototype objects included (they
 *   arrive with Object.prototype); an own "__proto__" key is refused (it cannot be rebuilt safely);
 * - strings with lone surrogates travel with U+FFFD in their place (UTF-8 cannot hold them);
 * - a value reachable twice (not a cycle) is encoded twice and arrives as two copies.
 */
import { ExtData } from '@msgpack/msgpack'
import { MeshscopeError } from '../errors.js'
import { CodecError, type CodecErrorCode } from './codec-error.js'
import type { CodecLimits } from './limits.js'
import { CollectionSegment, formatPath, PORT_PAYLOAD_SEGMENT, type PathSegment } from './path.js'
import { NOT_A_PORT, type PortHooks } from './port-hooks.js'
import { bigintByteLength, CONSTANT_NEGATIVE_ZERO, CONSTANT_UNDEFINED, encodeBigintPayload, encodeDatePayload, EXT } from './protocol.js'
import { errorRecord } from './remote-error.js'

const UNDEFINED_EXT = new ExtData(EXT.constant, Uint8Array.of(CONSTANT_UNDEFINED))
const NEGATIVE_ZERO_EXT = new ExtData(EXT.constant, Uint8Array.of(CONSTANT_NEGATIVE_ZERO))

/** The smallest msgpack header of an extension (fixext: head, type); `minBytes` must stay a lower bound. */
const EXT_HEADER_BYTES = 2

export interface WalkOptions {
  limits: Readonly<CodecLimits>
  ports: PortHooks | undefined
  sendErrorStacks: boolean
  /** Encodes a finished wire tree (an extension payload) to bytes. */
  encodeWire: (wire: unknown) => Uint8Array
}

/** One per Codec; `toWire` resets it, and the Codec never runs two walks on one walker at once. */
export class ValueWalker {
  private readonly segments: PathSegment[] = []
  /** The containers on the path from the root: meeting one again is a cycle. */
  private readonly ancestors = new Set<object>()
  private elements = 0
  /** A lower bound of the encoded size, so a value that could only encode to gigabytes fails early. */
  private minBytes = 0
  private insidePortPayload = false

  constructor(private readonly options: WalkOptions) {}

  toWire(value: unknown): unknown {
    this.segments.length = 0
    this.ancestors.clear()
    this.elements = 0
    this.minBytes = 0
    this.insidePortPayload = false
    return this.walk(value, 0)
  }

  /** `depth` is the number of levels (containers) around `value`. */
  private walk(value: unknown, depth: number): unknown {
    switch (typeof value) {
      case 'number':
        this.addBytes(1)
        return Object.is(value, -0) ? NEGATIVE_ZERO_EXT : value
      case 'string':
        return this.string(value)
      case 'boolean':
        this.addBytes(1)
        return value
      case 'undefined':
        this.addBytes(3)
        return UNDEFINED_EXT
      case 'bigint':
        return this.bigint(value)
      case 'symbol':
        throw this.error('CODEC_UNSUPPORTED_VALUE', 'cannot encode a symbol')
      case 'object':
        if (value === null) {
          this.addBytes(1)
          return null
        }
        return this.object(value, depth)
      case 'function':
        return this.object(value, depth)
    }
  }

  private object(value: object, depth: number): unknown {
    const prototype = Object.getPrototypeOf(value) as unknown
    if (prototype === Array.prototype && Array.isArray(value)) return this.array(value, depth)
    if ((prototype === Object.prototype || prototype === null) && typeof value === 'object') return this.plainObject(value, depth)
    if (isUint8Array(value)) return this.binary(value)
    if (prototype === Date.prototype) {
      this.addBytes(EXT_HEADER_BYTES + 8)
      return new ExtData(EXT.date, encodeDatePayload(value as Date))
    }
    if (prototype === Map.prototype) return this.map(value as Map<unknown, unknown>, depth)
    if (prototype === Set.prototype) return this.set(value as Set<unknown>, depth)
    if (this.options.ports) {
      const payload = this.callEncodePort(this.options.ports, value)
      if (payload !== NOT_A_PORT) return this.port(payload, depth)
    }
    if (value instanceof Error) return this.errorValue(value, depth)
    throw this.error('CODEC_UNSUPPORTED_VALUE', `cannot encode ${describe(value)}`)
  }

  private array(value: unknown[], depth: number): unknown[] {
    this.enter(value, depth)
    const length = value.length
    this.addElements(length)
    this.addBytes(1) // each item adds its own bytes
    const segments = this.segments
    const at = segments.push(0) - 1
    let copy: unknown[] | undefined
    for (let i = 0; i < length; i++) {
      segments[at] = i
      const item = value[i] // a hole reads as undefined, and travels as undefined
      const wire = this.walk(item, depth + 1)
      if (copy === undefined && !Object.is(wire, item)) copy = value.slice(0, i)
      if (copy !== undefined) copy.push(wire)
    }
    segments.pop()
    this.ancestors.delete(value)
    return copy ?? value
  }

  private plainObject(value: object, depth: number): object {
    this.enter(value, depth)
    const keys = Object.keys(value)
    this.addElements(keys.length)
    this.addBytes(1)
    const segments = this.segments
    const at = segments.push('') - 1
    let copy: Record<string, unknown> | undefined
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      segments[at] = key
      // The decoder refuses this key: assigning it would set the prototype of the rebuilt object.
      if (key === '__proto__') throw this.error('CODEC_UNSUPPORTED_VALUE', 'cannot encode an own "__proto__" property')
      const wireKey = this.string(key)
      const item = (value as Record<string, unknown>)[key]
      const wire = this.walk(item, depth + 1)
      if (copy === undefined && (wireKey !== key || !Object.is(wire, item))) {
        copy = {}
        for (let j = 0; j < i; j++) copy[keys[j]!] = (value as Record<string, unknown>)[keys[j]!]
      }
      if (copy !== undefined) copy[wireKey] = wire
    }
    segments.pop()
    this.ancestors.delete(value)
    return copy ?? value
  }

  private map(value: Map<unknown, unknown>, depth: number): ExtData {
    this.enter(value, depth)
    this.addElements(value.size)
    this.addBytes(EXT_HEADER_BYTES + 1)
    const payload: unknown[] = []
    const segment = new CollectionSegment('mapKey', 0)
    this.segments.push(segment)
    let index = 0
    for (const [key, item] of value) {
      segment.kind = 'mapKey'
      segment.index = index++
      payload.push(this.walk(key, depth + 1))
      segment.kind = 'mapValue'
      segment.key = key
      payload.push(this.walk(item, depth + 1))
    }
    this.segments.pop()
    this.ancestors.delete(value)
    return new ExtData(EXT.map, this.options.encodeWire(payload))
  }

  private set(value: Set<unknown>, depth: number): ExtData {
    this.enter(value, depth)
    this.addElements(value.size)
    this.addBytes(EXT_HEADER_BYTES + 1)
    const payload: unknown[] = []
    const segment = new CollectionSegment('setMember', 0)
    this.segments.push(segment)
    for (const member of value) {
      segment.index = payload.length
      payload.push(this.walk(member, depth + 1))
    }
    this.segments.pop()
    this.ancestors.delete(value)
    return new ExtData(EXT.set, this.options.encodeWire(payload))
  }

  /** An error is one level; its record's map belongs to that level, as in the scan. */
  private errorValue(value: Error, depth: number): ExtData {
    this.enter(value, depth)
    const record = errorRecord(value, this.options.sendErrorStacks)
    const keys = Object.keys(record)
    this.addElements(keys.length)
    this.addBytes(EXT_HEADER_BYTES + 1)
    const segments = this.segments
    const at = segments.push('') - 1
    for (const key of keys) {
      segments[at] = key
      this.string(key)
      record[key] = this.walk(record[key], depth + 1)
    }
    segments.pop()
    this.ancestors.delete(value)
    return new ExtData(EXT.error, this.options.encodeWire(record))
  }

  /** A port opens no level: its payload's containers count for themselves, as in the scan. */
  private port(payload: unknown, depth: number): ExtData {
    if (this.insidePortPayload) throw this.error('CODEC_UNSUPPORTED_VALUE', 'cannot encode a port inside the payload of a port')
    this.addBytes(EXT_HEADER_BYTES)
    this.segments.push(PORT_PAYLOAD_SEGMENT)
    this.insidePortPayload = true
    const wire = this.walk(payload, depth)
    this.insidePortPayload = false
    this.segments.pop()
    return new ExtData(EXT.port, this.options.encodeWire(wire))
  }

  private callEncodePort(ports: PortHooks, value: object): unknown {
    try {
      return ports.encodePort(value, formatPath(this.segments))
    } catch (error) {
      if (error instanceof MeshscopeError) throw error
      throw new CodecError('CODEC_UNSUPPORTED_VALUE', 'the port hook failed', { path: formatPath(this.segments), cause: error })
    }
  }

  private string(value: string): string {
    const text = toWellFormed(value)
    const { maxStringBytes } = this.options.limits
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit, so most strings need no counting.
    if (text.length * 3 > maxStringBytes) {
      const bytes = text.length > maxStringBytes ? text.length : utf8ByteLength(text)
      if (bytes > maxStringBytes) {
        throw this.error(
          'CODEC_TOO_LARGE',
          `a string of ${text.length > maxStringBytes ? 'at least ' : ''}${bytes} bytes is over maxStringBytes (${maxStringBytes})`,
        )
      }
    }
    this.addBytes(1 + text.length)
    return text
  }

  private binary(value: Uint8Array): Uint8Array {
    const { maxBinaryBytes } = this.options.limits
    if (value.byteLength > maxBinaryBytes) {
      throw this.error('CODEC_TOO_LARGE', `a binary of ${value.byteLength} bytes is over maxBinaryBytes (${maxBinaryBytes})`)
    }
    this.addBytes(1 + value.byteLength)
    return value
  }

  private bigint(value: bigint): ExtData {
    const length = bigintByteLength(value)
    const { maxBinaryBytes } = this.options.limits
    if (length > maxBinaryBytes) throw this.error('CODEC_TOO_LARGE', `a bigint of ${length} bytes is over maxBinaryBytes (${maxBinaryBytes})`)
    this.addBytes(EXT_HEADER_BYTES + length)
    return new ExtData(EXT.bigint, encodeBigintPayload(value))
  }

  /** Opens a level: refuses cycles, then too deep a value (the same order as the scan: depth, then elements). */
  private enter(value: object, depth: number): void {
    if (this.ancestors.has(value)) throw this.error('CODEC_CYCLE', 'cannot encode a cyclic reference (the value contains itself)')
    const { maxDepth } = this.options.limits
    if (depth + 1 > maxDepth) throw this.error('CODEC_TOO_DEEP', `the value nests deeper than maxDepth (${maxDepth})`)
    this.ancestors.add(value)
  }

  private addElements(count: number): void {
    this.elements += count
    const { maxElements } = this.options.limits
    if (this.elements > maxElements) throw this.error('CODEC_TOO_MANY_ELEMENTS', `the value has more elements than maxElements (${maxElements})`)
  }

  private addBytes(count: number): void {
    this.minBytes += count
    const { maxMessageBytes } = this.options.limits
    if (this.minBytes > maxMessageBytes) throw this.error('CODEC_TOO_LARGE', `the value encodes to more than maxMessageBytes (${maxMessageBytes})`)
  }

  private error(code: CodecErrorCode, message: string): CodecError {
    return new CodecError(code, message, { path: formatPath(this.segments) })
  }
}

/** True for Uint8Array and its subclasses (Node's Buffer), from any realm; false for other views. */
export function isUint8Array(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]'
}

function describe(value: object): string {
  if (typeof value === 'function') return value.name ? `a function (${value.name})` : 'a function'
  if (ArrayBuffer.isView(value)) return `a ${Object.prototype.toString.call(value).slice(8, -1)} (of binary views, only Uint8Array travels)`
  if (value instanceof ArrayBuffer) return 'an ArrayBuffer (wrap it in a Uint8Array)'
  let name: unknown
  try {
    name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } }).constructor?.name
  } catch {
    name = undefined
  }
  return `an instance of ${typeof name === 'string' && name ? name : 'a class'} (only plain objects, arrays and the built-ins listed in docs/protocol.md travel)`
}

// ── UTF-8 ───────────────────────────────────────────────────────────────────
type WellFormedString = string & { isWellFormed(): boolean; toWellFormed(): string }
const hasNativeWellFormed = typeof (String.prototype as Partial<WellFormedString>).isWellFormed === 'function'
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** Replaces lone surrogates with U+FFFD, as TextEncoder would; returns `text` itself when it has none. */
function toWellFormed(text: string): string {
  if (hasNativeWellFormed) return (text as WellFormedString).isWellFormed() ? text : (text as WellFormedString).toWellFormed()
  LONE_SURROGATE.lastIndex = 0
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text
}

/** UTF-8 length of a well-formed string. */
function utf8ByteLength(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0x80) bytes += 1
    else if (unit < 0x800) bytes += 2
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4 // a high surrogate, followed by its low one
      i++
    } else bytes += 3
  }
  return bytes
}
