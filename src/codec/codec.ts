/**
 * The value codec: every value that travels between peers goes through `Codec.encode` and
 * `Codec.decode`. The wire format (msgpack plus extension types) is in src/codec/protocol.ts and
 * docs/protocol.md, section "Values"; the limits are in src/codec/limits.ts.
 */
import { Encoder, ExtData, type ExtensionCodecType } from '@msgpack/msgpack'
import { MeshscopeError } from '../errors.js'
import { CodecError } from './codec-error.js'
import { ValueDecoder, type DecodeOptions } from './decode.js'
import { ValueWalker, isUint8Array, type WalkOptions } from './encode.js'
import { resolveCodecLimits, type CodecLimits } from './limits.js'
import type { PortHooks } from './port-hooks.js'

export interface CodecOptions {
  /** Overrides of DEFAULT_CODEC_LIMITS. Both peers should use the same limits. */
  limits?: Partial<CodecLimits>
  /** How ports (channel halves, remote functions) travel inside values. Without hooks they are refused. */
  ports?: PortHooks
  /**
   * Send error stacks to the peer. Off by default: a stack names local files and code paths, which a
   * remote peer has no business seeing. Without it, a rebuilt error's stack is only its first line.
   * @default false
   */
  sendErrorStacks?: boolean
}

/** An encoder whose internal buffer grew past this is replaced, so one big value does not pin its memory. */
const RETAINED_ENCODER_BYTES = 1024 * 1024

/**
 * Encodes values to bytes and back. One Codec reuses one msgpack Encoder and its Decoders (about 3×
 * faster on small values than fresh ones), and is re-entrant: a port hook may call encode or decode
 * on the same Codec.
 */
/** What one decoded array or map entry costs beyond its encoded bytes, about (an empty object: ~60 B measured in Node 20). */
export const DECODED_ELEMENT_BYTES = 64

export class Codec {
  /** The limits in force, defaults filled in. */
  readonly limits: Readonly<CodecLimits>
  private encoder: Encoder
  private readonly walkOptions: WalkOptions
  private readonly walker: ValueWalker
  private walking = false
  private readonly decoder: ValueDecoder

  /** Throws INVALID_ARGUMENT for a bad limit or incomplete port hooks. */
  constructor(options: CodecOptions = {}) {
    this.limits = resolveCodecLimits(options.limits)
    const ports = options.ports
    if (ports !== undefined && (typeof ports.encodePort !== 'function' || typeof ports.decodePort !== 'function')) {
      throw new MeshscopeError('INVALID_ARGUMENT', 'port hooks need both encodePort and decodePort')
    }
    this.encoder = this.createEncoder()
    this.walkOptions = {
      limits: this.limits,
      ports,
      sendErrorStacks: options.sendErrorStacks ?? false,
      encodeWire: (wire) => this.encodeWire(wire),
    }
    this.walker = new ValueWalker(this.walkOptions)
    this.decoder = new ValueDecoder(this.limits, ports)
  }

  /**
   * Encodes one value to a fresh Uint8Array. Throws a CodecError (with `path`) for a value that cannot
   * travel — CODEC_UNSUPPORTED_VALUE, CODEC_CYCLE, CODEC_TOO_LARGE, CODEC_TOO_DEEP,
   * CODEC_TOO_MANY_ELEMENTS — or whatever MeshscopeError a port hook threw. (What a getter or proxy
   * trap inside the value throws propagates unchanged.)
   */
  encode(value: unknown): Uint8Array {
    // A port hook that encodes on this Codec gets a walker of its own.
    const walker = this.walking ? new ValueWalker(this.walkOptions) : this.walker
    const wasWalking = this.walking
    this.walking = true
    let wire: unknown
    try {
      wire = walker.toWire(value)
    } finally {
      this.walking = wasWalking
    }
    const bytes = this.encodeWire(wire)
    if (bytes.length > RETAINED_ENCODER_BYTES) this.encoder = this.createEncoder()
    if (bytes.length > this.limits.maxMessageBytes) {
      throw new CodecError('CODEC_TOO_LARGE', `the value encodes to ${bytes.length} bytes, over maxMessageBytes (${this.limits.maxMessageBytes})`)
    }
    return bytes
  }

  /**
   * Decodes the one value `bytes` holds. Any input gives a value or a CodecError (CODEC_TOO_LARGE,
   * CODEC_TOO_DEEP, CODEC_TOO_MANY_ELEMENTS, CODEC_MALFORMED, CODEC_BAD_EXTENSION) — or the
   * MeshscopeError a port hook threw. Binaries in the result are copies, never views of `bytes` —
   * unless `options.owned` says the caller hands `bytes` over (see DecodeOptions).
   */
  decode(bytes: Uint8Array, options?: DecodeOptions): unknown {
    if (!isUint8Array(bytes)) throw new CodecError('CODEC_MALFORMED', 'decode takes a Uint8Array')
    return this.decoder.decode(bytes, options)
  }

  /**
   * About what the value the last `decode` returned costs in memory, beyond its encoded bytes: each
   * array or map entry becomes a JS value (an empty object is ~60 B of heap for its 1 encoded byte),
   * so budgets that count received values count this, not just their bytes.
   */
  get lastDecodedOverheadBytes(): number {
    return this.decoder.lastElements * DECODED_ELEMENT_BYTES
  }

  private createEncoder(): Encoder {
    const extensionCodec: ExtensionCodecType<undefined> = {
      // The walker has already turned everything msgpack has no type for into ExtData.
      tryToEncode: (object) => (object instanceof ExtData ? object : null),
      decode: () => null,
    }
    // The walker enforces maxDepth; the Encoder's own guard (wire trees nest no deeper) stays as a backstop.
    return new Encoder({ extensionCodec, maxDepth: this.limits.maxDepth + 2 })
  }

  private encodeWire(wire: unknown): Uint8Array {
    try {
      return this.encoder.encode(wire)
    } catch (error) {
      // Only a value that changed while being encoded (a getter, a proxy) can get here.
      throw new CodecError('CODEC_UNSUPPORTED_VALUE', `the value could not be encoded (${error instanceof Error ? error.message : String(error)})`, {
        cause: error,
      })
    }
  }
}
