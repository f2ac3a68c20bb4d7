/**
 * What remote objects (handles, lazy values and blobs, read-write lock halves) may cost on one
 * connection. Every object that crosses a connection holds one port stream there; the count of them
 * is bounded per connection, both ways, so a peer cannot make this side keep an unbounded table.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError } from '../errors.js'

export interface ObjectLimits {
  /**
   * Objects (handles, lazy values, lazy blobs, lock halves) crossing one connection at once, sent and
   * received together; one more is refused with OBJECT_LIMIT.
   * @default 1024
   */
  maxObjectsPerConnection: number
  /**
   * The largest lazy blob this side fetches; a bigger announced size is refused with BLOB_TOO_LARGE
   * before anything is fetched (a fetch can ask for less with its own `maxBytes`).
   * @default 256 * 1024 * 1024
   */
  maxBlobBytes: number
  /** Fetches of one lazy blob waiting or running at once here; one more is refused with OBJECT_LIMIT. @default 8 */
  maxPendingFetches: number
}

export const OBJECT_LIMITS: Readonly<ObjectLimits> = Object.freeze({
  maxObjectsPerConnection: 1024,
  maxBlobBytes: 256 * 1024 * 1024,
  maxPendingFetches: 8,
})

const configured = new WeakMap<Connection, ObjectLimits>()
const counts = new WeakMap<Connection, number>()

/** The defaults with `limits` over them; throws INVALID_ARGUMENT for a value that is not a positive integer. */
export function resolveObjectLimits(limits: Partial<ObjectLimits> = {}): ObjectLimits {
  const resolved = { ...OBJECT_LIMITS, ...limits }
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new MeshscopeError('INVALID_ARGUMENT', `object limit ${name} must be a positive integer`)
  }
  return resolved
}

/** Sets the object limits of one connection (the defaults otherwise); the peer stack calls it with `PeerLimits.objects`. */
export function configureObjects(connection: Connection, limits: Partial<ObjectLimits>): void {
  configured.set(connection, resolveObjectLimits(limits))
}

export function objectLimitsOf(connection: Connection): Readonly<ObjectLimits> {
  return configured.get(connection) ?? OBJECT_LIMITS
}

/** Objects crossing this connection now. */
export function objectCount(connection: Connection): number {
  return counts.get(connection) ?? 0
}

/** Counts one more object on the connection, or throws OBJECT_LIMIT. Returns its release (idempotent). */
export function admitObject(connection: Connection): () => void {
  const count = objectCount(connection)
  const limit = objectLimitsOf(connection).maxObjectsPerConnection
  if (count >= limit) throw new MeshscopeError('OBJECT_LIMIT', `${limit} remote objects already cross this connection (maxObjectsPerConnection)`)
  counts.set(connection, count + 1)
  let released = false
  return () => {
    if (released) return
    released = true
    counts.set(connection, objectCount(connection) - 1)
  }
}
