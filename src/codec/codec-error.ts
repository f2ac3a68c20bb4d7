/** The one error class of the value codec. Codes are listed in docs/errors.md, section "Codec". */
import { MeshscopeError, type ErrorCode } from '../errors.js'

export type CodecErrorCode = Extract<ErrorCode, `CODEC_${string}`>

/**
 * A value that cannot be encoded (`path` says where it sits inside the value, e.g. `value.a[2].b`),
 * or bytes that cannot be decoded (no `path`).
 */
export class CodecError extends MeshscopeError {
  override name = 'CodecError'
  /** Where in the value being encoded the problem sits; undefined for decode errors. */
  readonly path: string | undefined

  constructor(code: CodecErrorCode, message: string, options?: { path?: string; cause?: unknown }) {
    super(code, options?.path === undefined ? message : `${message} at ${options.path}`, options?.cause === undefined ? undefined : { cause: options.cause })
    this.path = options?.path
  }
}
