/**
 * Ports: channel halves (and, later, remote functions) that travel inside values. Encoding a port on
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

export type PortDecoder = (connection: Connection, payload: PortPayload) => unknown

const decoders = new Map<string, PortDecoder>()

/** Each channel kind registers how to rebuild its endpoint from a payload. */
export function registerPortKind(kind: string, decoder: PortDecoder): void {
  decoders.set(kind, decoder)
}

/** Validates a payload from the wire and rebuilds the endpoint. Throws BAD_PORT. */
export function decodePort(connection: Connection, payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null) throw new MeshscopeError('BAD_PORT', 'a port payload must be an object')
  const { k, s, o, v } = payload as Record<string, unknown>
  // Stream id 0 marks a port with no stream of its own (a mailbox reference).
  if (typeof k !== 'string' || !Number.isInteger(s) || (s as number) < 0 || (s as number) > 0xffffffff) {
    throw new MeshscopeError('BAD_PORT', 'a port payload needs a kind and a stream id')
  }
  if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o))) throw new MeshscopeError('BAD_PORT', 'port options must be an object')
  const decoder = decoders.get(k)
  if (!decoder) throw new MeshscopeError('BAD_PORT', `unknown port kind "${k.slice(0, 40)}" (a peer on a different version?)`)
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
