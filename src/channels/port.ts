/**
 * Ports: channel halves, remote functions and mailbox references that travel inside values. Encoding a port on
 * a connection opens a new mux stream there; the value carries only a small payload naming the kind
 * and the stream id, and the receiving side rebuilds a live endpoint bound to that stream.
 *
 * Encoding is two-phase so a value that fails to encode leaves nothing behind: each port first makes
 * a plan (stream opened, payload ready); only when the whole value encoded are the plans activated
 * (pumps start, receivers are marked moved). On failure every plan rolls back (its stream is reset).
 */
import { MeshscopeError } from '../errors.js'
import type { Connection } from './connection.js'

/** Implemented by everything that can travel as a port. */
export const ENCODE_PORT: unique symbol = Symbol('meshscope.encodePort')

export interface PortPayload {
  /** The port kind, e.g. `mpsc.tx`. */
  k: string
  /** The stream id on the carrying connection (0: the port has no stream). */
  s: number
  /** Kind-specific options (capacity, item limit…), plain values only. */
  o?: Record<string, number | boolean | string | null>
  /** A value that travels with the port (a watch's current value); anything the codec carries but ports. */
  v?: unknown
}

export interface PortPlan {
  payload: PortPayload
  /** The value carrying the port was encoded: start moving data. */
  activate(): void
  /** The value failed to encode: undo (reset the stream). */
  rollback(): void
}

export interface Portable {
  [ENCODE_PORT](connection: Connection, path: string): PortPlan
}

export function isPortable(value: unknown): value is Portable {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && ENCODE_PORT in value
}

/** Rebuilds a live endpoint from a validated payload (claims its stream); throws BAD_PORT. */
export type PortDecoder = (connection: Connection, payload: PortPayload) => unknown

/**
 * Plans a port for a value that does not implement ENCODE_PORT itself (a plain function becomes a
 * remote function), or returns undefined if the value is not its kind.
 */
export type PortEncoder = (connection: Connection, value: object, path: string) => PortPlan | undefined

/**
 * The ports a connection understands: how to rebuild each kind a peer may send, and encoders for
 * values that travel as ports without being Portable. Each module that owns a kind exports its part
 * as data (`mpscPorts`, `rfnPorts`…); the table is put together where the peer stack is assembled
 * (src/mesh/ports.ts) and passed to `Connection`, so what a connection can decode never depends on
 * what happened to be imported.
 */
export interface PortTable {
  /** Decoders by port kind (`mpsc.tx`, `rfn`…). A kind not listed is refused with BAD_PORT. */
  readonly kinds: Readonly<Record<string, PortDecoder>>
  /** Asked in order about every value that is not Portable. */
  readonly encoders?: readonly PortEncoder[]
}

/** One table from several (later kinds with the same name win; encoders are asked in order). */
export function joinPortTables(...tables: PortTable[]): PortTable {
  return {
    kinds: Object.assign({}, ...tables.map((table) => table.kinds)) as PortTable['kinds'],
    encoders: tables.flatMap((table) => table.encoders ?? []),
  }
}

/** Validates a payload from the wire and rebuilds the endpoint with the table's decoder for its kind. Throws BAD_PORT. */
export function decodePort(connection: Connection, kinds: PortTable['kinds'], payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null) throw new MeshscopeError('BAD_PORT', 'a port payload must be an object')
  const { k, s, o, v } = payload as Record<string, unknown>
  // Stream id 0 marks a port with no stream of its own (a mailbox reference).
  if (typeof k !== 'string' || !Number.isInteger(s) || (s as number) < 0 || (s as number) > 0xffffffff) {
    throw new MeshscopeError('BAD_PORT', 'a port payload needs a kind and a stream id')
  }
  if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o))) throw new MeshscopeError('BAD_PORT', 'port options must be an object')
  // Own properties only: a kind named "constructor" or "__proto__" must not reach Object.prototype.
  const decoder = Object.hasOwn(kinds, k) ? kinds[k] : undefined
  if (!decoder)
    throw new MeshscopeError('BAD_PORT', `unknown port kind "${k.slice(0, 40)}" (a peer on a different version, or a kind this connection was not given)`)
  return decoder(connection, { k, s: s as number, o: o as PortPayload['o'], v })
}

/** Reads a numeric option of a payload within bounds, or the fallback. */
export function numberOption(payload: PortPayload, name: string, fallback: number, min: number, max: number): number {
  const value = payload.o?.[name]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new MeshscopeError('BAD_PORT', `port option ${name} must be an integer in ${min}..${max}`)
  }
  return value
}
