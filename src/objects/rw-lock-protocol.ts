/**
 * The read-write lock's messages on a half's stream (or in process, for the owner's own half).
 *
 *   half → owner   [0]               read: send me the value (a read lease)
 *                  [1]               write: grant me the value to change
 *                  [2, value]        commit the write guard's value
 *                  [3]               release the write guard without committing
 *                  [4, lease]        every read guard of that lease is released
 *   owner → half   [0, value, lease] the value, cached at the half until lease `lease` is invalidated
 *                  [1, lease]        invalidate that lease: tell its guards, answer [4, lease] once they are released
 *                  [2, value]        write granted
 *                  [3]               committed
 *                  [4]               the write lease expired: the guard's commit will fail
 *                  [5, 'r'|'w', error] a read or write request refused (too many waiters)
 */
import { MeshscopeError } from '../errors.js'

export const TO_OWNER = { read: 0, write: 1, commit: 2, abort: 3, released: 4 } as const
export const TO_HALF = { value: 0, invalidate: 1, granted: 2, committed: 3, revoked: 4, refused: 5 } as const

export type ToOwner = [0] | [1] | [2, unknown] | [3] | [4, number]
export type ToHalf = [0, unknown, number] | [1, number] | [2, unknown] | [3] | [4] | [5, 'r' | 'w', Error]

const isLease = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

/** Checks a message from a half; throws BAD_PORT for anything else. */
export function parseToOwner(message: unknown[]): ToOwner {
  const [tag] = message
  if ((tag === 0 || tag === 1 || tag === 3) && message.length === 1) return message as ToOwner
  if (tag === 2 && message.length === 2) return message as ToOwner
  if (tag === 4 && message.length === 2 && isLease(message[1])) return message as ToOwner
  throw new MeshscopeError('BAD_PORT', 'a read-write lock half sent a malformed message')
}

/** Checks a message from the owner; throws BAD_PORT for anything else. */
export function parseToHalf(message: unknown[]): ToHalf {
  const [tag] = message
  if (tag === 0 && message.length === 3 && isLease(message[2])) return message as ToHalf
  if (tag === 1 && message.length === 2 && isLease(message[1])) return message as ToHalf
  if (tag === 2 && message.length === 2) return message as ToHalf
  if ((tag === 3 || tag === 4) && message.length === 1) return message as ToHalf
  if (tag === 5 && message.length === 3 && (message[1] === 'r' || message[1] === 'w') && message[2] instanceof Error) return message as ToHalf
  throw new MeshscopeError('BAD_PORT', 'a read-write lock owner sent a malformed message')
}
