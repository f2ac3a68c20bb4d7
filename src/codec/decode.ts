/**
 * The decode side: scan (src/codec/scan.ts), then @msgpack/msgpack's Decoder with our extension
 * callbacks, then — only if the message holds binaries or ports — one pass that copies binaries
 * (the Decoder returns views into the input) and rebuilds ports through the hook, so the hook only
 * ever sees messages that decoded completely.
 *
 * Extension payloads that hold nested msgpack are decoded by one Decoder per extension nesting
 * level, created on first use and reused, so nothing re-enters a Decoder that is mid-decode. The
 * scan bounds that nesting by maxDepth + 1 (Map, Set and error open a level; a port cannot nest).
 */
import { Decoder, type ExtensionCodecType } from '@msgpack/msgpack'
import { MeshscopeError } from '../errors.js'
import { CodecError } from './codec-error.js'
import type { CodecLimits } from './limits.js'
import type { PortHooks } from './port-hooks.js'
import { CONSTANT_NEGATIVE_ZERO, CONSTANT_UNDEFINED, EXT, parseBigintPayload, parseDatePayload } from './protocol.js'
import { rebuildError } from './remote-error.js'
import { scanMessage } from './scan.js'

/** A port's decoded payload, waiting for the whole message to decode before its hook runs. */
class PortSlot {
  constructor(readonly payload: unknown) {}
}

const badExtension = (message: string, cause?: unknown) => new CodecError('CODEC_BAD_EXTENSION', message, { cause })

const stringKeysOnly = (key: unknown): string => {
  if (typeof key === 'string') return key
  throw new CodecError('CODEC_MALFORMED', 'map keys must be strings')
}

export interface DecodeOptions {
  /**
   * The caller hands the bytes over: nothing else reads or writes their buffer afterwards (a message
   * the multiplexer assembled or received). Then a binary covering at least half of the buffer is
   * returned as a view instead of a copy. Without it every binary is a copy.
   * @default false
   */
  owned?: boolean
}

export class ValueDecoder {
  private readonly decoders: Decoder[] = []

  constructor(
    private readonly limits: Readonly<CodecLimits>,
    private readonly ports: PortHooks | undefined,
  ) {}

  /** Set for one `decode` call: see `DecodeOptions.owned`. */
  private owned = false
  /** The elements of the value the last `decode` returned (arrays' and maps' entries). */
  lastElements = 0

  decode(input: Uint8Array, options: DecodeOptions = {}): unknown {
    this.owned = options.owned === true
    // A Buffer would make the Decoder hand out Buffer views: look at the same bytes as a plain Uint8Array.
    const bytes = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    const { binaries, ports, elements } = scanMessage(bytes, this.limits)
    this.lastElements = elements
    let value: unknown
    try {
      value = this.decoderAt(0).decode(bytes)
    } catch (error) {
      if (error instanceof CodecError) throw error
      // The scan leaves little for the Decoder to refuse (a "__proto__" key); wrap whatever it says.
      throw new CodecError('CODEC_MALFORMED', `malformed message (${error instanceof Error ? error.message : String(error)})`, { cause: error })
    }
    return binaries + ports > 0 ? this.finish(value) : value
  }

  private decoderAt(level: number): Decoder {
    let decoder = this.decoders[level]
    if (!decoder) {
      const { maxElements, maxMessageBytes, maxStringBytes } = this.limits
      const extensionCodec: ExtensionCodecType<undefined> = {
        tryToEncode: () => null,
        decode: (data, type) => this.decodeExtension(data, type, level),
      }
      // The scan has already bounded every length by the limits and by the bytes that back it;
      // these options are a second line of defence, never the first (they default to 2^32 - 1).
      // The Decoder applies maxBinLength to extension payloads as well, hence the message size.
      decoder = new Decoder({
        extensionCodec,
        maxStrLength: maxStringBytes,
        maxBinLength: maxMessageBytes,
        maxArrayLength: Math.min(2 * maxElements, maxMessageBytes), // a Map's payload array holds 2 items per entry
        maxMapLength: Math.min(maxElements, maxMessageBytes),
        maxExtLength: maxMessageBytes,
        mapKeyConverter: stringKeysOnly,
      })
      this.decoders[level] = decoder
    }
    return decoder
  }

  private decodeExtension(data: Uint8Array, type: number, level: number): unknown {
    switch (type) {
      case EXT.constant:
        if (data.length === 1 && data[0] === CONSTANT_UNDEFINED) return undefined
        if (data.length === 1 && data[0] === CONSTANT_NEGATIVE_ZERO) return -0
        throw badExtension('unknown constant')
      case EXT.bigint: {
        const value = parseBigintPayload(data)
        if (value === undefined) throw badExtension('a bigint payload that is empty or not in shortest form')
        return value
      }
      case EXT.date: {
        const value = parseDatePayload(data)
        if (value === undefined) throw badExtension('a Date payload that is not 8 bytes holding a time value or NaN')
        return value
      }
      case EXT.map: {
        const items = this.nested(data, level) as unknown[] // the scan checked: an array of even length
        const map = new Map<unknown, unknown>()
        for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1])
        if (map.size !== items.length / 2) throw badExtension('a Map with a duplicate key')
        return map
      }
      case EXT.set: {
        const items = this.nested(data, level) as unknown[] // the scan checked: an array
        const set = new Set<unknown>(items)
        if (set.size !== items.length) throw badExtension('a Set with a duplicate member')
        return set
      }
      case EXT.error: {
        const error = rebuildError(this.nested(data, level))
        if (!error) throw badExtension('an error without a string name and message, or with a code or stack that is not a string')
        return error
      }
      case EXT.port:
        if (!this.ports) throw badExtension('a port, but this codec has no port hooks')
        return new PortSlot(this.nested(data, level))
      default:
        throw badExtension(`unknown extension type ${type}`) // the scan refuses these first
    }
  }

  private nested(data: Uint8Array, level: number): unknown {
    return this.decoderAt(level + 1).decode(data)
  }

  /** Copies binaries and rebuilds ports, in place where the container allows it. Depth is bounded by the scan. */
  private finish(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value
    if (value instanceof Uint8Array) {
      // From owned input, a binary that is at least half of its buffer stays a view: it pins at most
      // as much again, and saves a copy of every bulk chunk a bytes channel receives.
      if (this.owned && value.byteLength * 2 >= value.buffer.byteLength) return value
      const copy = new Uint8Array(value.byteLength)
      copy.set(value)
      return copy
    }
    if (value instanceof PortSlot) return this.rebuildPort(this.finish(value.payload))
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = this.finish(value[i])
      return value
    }
    if (value instanceof Map) {
      const entries = [...value].map(([key, item]) => [this.finish(key), this.finish(item)] as const)
      value.clear()
      for (const [key, item] of entries) value.set(key, item)
      return value
    }
    if (value instanceof Set) {
      const members = [...value].map((member) => this.finish(member))
      value.clear()
      for (const member of members) value.add(member)
      return value
    }
    if (value instanceof Error) {
      if (Object.hasOwn(value, 'cause')) value.cause = this.finish(value.cause)
      return value
    }
    if (value instanceof Date) return value
    const record = value as Record<string, unknown>
    for (const key of Object.keys(record)) record[key] = this.finish(record[key])
    return record
  }

  private rebuildPort(payload: unknown): unknown {
    try {
      return this.ports!.decodePort(payload)
    } catch (error) {
      if (error instanceof MeshscopeError) throw error
      throw badExtension('the port hook failed', error)
    }
  }
}
