/**
 * Errors on the wire (extension type 5): a msgpack map `{ name, message, code?, stack?, cause? }`.
 *
 * A peer's error is rebuilt through an allowlist of constructors, looked up by exact name in a Map
 * (never a property lookup, so `"constructor"`, `"__proto__"` or `"Function"` select nothing):
 * Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, and MeshscopeError
 * (with its code). Any other name gives a plain Error (its `name` stays `"Error"`) that keeps the
 * peer's name in `remoteName`. A `code` is kept on every rebuilt error (as MeshscopeError's code, or
 * as an own `code` property, like Node's). `stack` is the peer's when it sent one, else only the
 * `name: message` line, so no local frames pose as the remote failure.
 */
import { MeshscopeError, type ErrorCode } from '../errors.js'

/** An error rebuilt from a peer: `remoteName` is set when its name is not on the allowlist. */
export type RemoteError = Error & { remoteName?: string; code?: string }

type ErrorConstructorLike = new (message: string, options?: { cause?: unknown }) => Error

const ALLOWED_NATIVE_ERRORS = new Map<string, ErrorConstructorLike>([
  ['Error', Error],
  ['TypeError', TypeError],
  ['RangeError', RangeError],
  ['SyntaxError', SyntaxError],
  ['ReferenceError', ReferenceError],
  ['EvalError', EvalError],
  ['URIError', URIError],
])

/**
 * The fields an error travels with. MeshscopeError subclasses travel as MeshscopeError (their code
 * is what callers test). An error rebuilt from a peer travels under its `remoteName`, so forwarding
 * it keeps the original name. Only string codes travel. `cause` travels when the error has one, even
 * `undefined`; the codec encodes it with the same rules as any value (a cycle through it is refused).
 */
export function errorRecord(error: Error, sendStack: boolean): Record<string, unknown> {
  const remoteName = (error as RemoteError).remoteName
  const name = error instanceof MeshscopeError ? 'MeshscopeError' : typeof remoteName === 'string' ? remoteName : error.name
  const record: Record<string, unknown> = {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof error.message === 'string' ? error.message : '',
  }
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') record.code = code
  if (sendStack && typeof error.stack === 'string') record.stack = error.stack
  if (Object.hasOwn(error, 'cause')) record.cause = error.cause
  return record
}

/** Rebuilds an error from its decoded record; undefined if the record is not a valid one. */
export function rebuildError(record: unknown): RemoteError | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined
  const { name, message, code, stack } = record as Record<string, unknown>
  if (typeof name !== 'string' || typeof message !== 'string') return undefined
  if (code !== undefined && typeof code !== 'string') return undefined
  if (stack !== undefined && typeof stack !== 'string') return undefined
  const options = Object.hasOwn(record, 'cause') ? { cause: (record as { cause: unknown }).cause } : undefined

  let error: RemoteError
  if (name === 'MeshscopeError' && code !== undefined) {
    // Codes from a newer peer may be unknown here; they are kept as sent.
    error = new MeshscopeError(code as ErrorCode, message, options) as RemoteError
  } else {
    const NativeError = ALLOWED_NATIVE_ERRORS.get(name)
    error = NativeError ? new NativeError(message, options) : new Error(message, options)
    if (!NativeError) error.remoteName = name
    if (code !== undefined) error.code = code
  }
  error.stack = stack ?? (message ? `${name}: ${message}` : name)
  return error
}
