/**
 * The remote object port kinds, for a connection's port table (src/mesh/ports.ts joins them into
 * the mesh's): handles, lazy values, lazy blobs and read-write lock halves.
 */
import type { PortTable } from '../channels/port.js'
import { decodeHandlePort } from './handle.js'
import { decodeLazyPort } from './lazy.js'
import { decodeBlobPort } from './lazy-blob.js'
import { decodeRwLockPort } from './rw-lock.js'

export const objectPorts: PortTable = {
  kinds: {
    handle: decodeHandlePort,
    lazy: decodeLazyPort,
    blob: decodeBlobPort,
    rwlock: decodeRwLockPort,
  },
}
