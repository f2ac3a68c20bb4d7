/**
 * Requests and replies on request streams. The caller opens a stream and writes one request; the
 * serving side answers with one reply (except for a plain mailbox send, which is answered only to
 * refuse it: its CLOSE without a reply says the mailbox accepted the message) and both sides close. A caller that gives up resets the stream: the serving side sees
 * that as its handler's AbortSignal aborting.
 *
 *   request  [0, name, value]               mailbox send (acknowledged by CLOSE, refused by a reply)
 *            [1, name, value]               mailbox call
 *            [2, functionId, args]          call of a remote function (its port stream id)
 *            [3, objectName, method, args]  call of a method of an exposed object
 *   reply    [0, value]                     the result
 *            [1, error]                     refused by meshscope (unknown mailbox or method, too large…)
 *            [2, error]                     the handler threw
 */
import { MeshscopeError } from '../errors.js'

export const RequestKind = { send: 0, call: 1, function: 2, method: 3 } as const
export const ReplyKind = { value: 0, refused: 1, threw: 2 } as const

export type Request =
  | { kind: 'send'; name: string; value: unknown }
  | { kind: 'call'; name: string; value: unknown }
  | { kind: 'function'; functionId: number; args: unknown[] }
  | { kind: 'method'; object: string; method: string; args: unknown[] }

export type Reply = { kind: 'value'; value: unknown } | { kind: 'refused'; error: MeshscopeError } | { kind: 'threw'; error: Error }

const MAX_NAME_LENGTH = 128

export function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH
}

export function validateName(what: string, name: unknown): asserts name is string {
  if (!isName(name)) throw new MeshscopeError('INVALID_ARGUMENT', `a ${what} name is a string of 1..${MAX_NAME_LENGTH} characters`)
}

export function requestToWire(request: Request): unknown[] {
  switch (request.kind) {
    case 'send':
      return [RequestKind.send, request.name, request.value]
    case 'call':
      return [RequestKind.call, request.name, request.value]
    case 'function':
      return [RequestKind.function, request.functionId, request.args]
    case 'method':
      return [RequestKind.method, request.object, request.method, request.args]
  }
}

/** A request from a peer, checked; throws BAD_MESSAGE for anything else. */
export function requestFromWire(decoded: unknown): Request {
  if (Array.isArray(decoded)) {
    const [kind, a, b, c] = decoded as unknown[]
    if ((kind === RequestKind.send || kind === RequestKind.call) && decoded.length === 3 && isName(a)) {
      return { kind: kind === RequestKind.send ? 'send' : 'call', name: a, value: b }
    }
    if (kind === RequestKind.function && decoded.length === 3 && Number.isInteger(a) && (a as number) > 0 && Array.isArray(b)) {
      return { kind: 'function', functionId: a as number, args: b }
    }
    if (kind === RequestKind.method && decoded.length === 4 && isName(a) && isName(b) && Array.isArray(c)) {
      return { kind: 'method', object: a, method: b, args: c }
    }
  }
  throw new MeshscopeError('BAD_MESSAGE', 'a request must be [kind, …] with valid fields')
}

export function replyToWire(reply: Reply): unknown[] {
  return reply.kind === 'value' ? [ReplyKind.value, reply.value] : [ReplyKind[reply.kind], reply.error]
}

export function replyFromWire(decoded: unknown): Reply {
  if (Array.isArray(decoded) && decoded.length === 2) {
    const [kind, payload] = decoded as [unknown, unknown]
    if (kind === ReplyKind.value) return { kind: 'value', value: payload }
    if (kind === ReplyKind.refused && payload instanceof MeshscopeError) return { kind: 'refused', error: payload }
    if (kind === ReplyKind.threw && payload instanceof Error) return { kind: 'threw', error: payload }
  }
  throw new MeshscopeError('BAD_MESSAGE', 'a reply must be [kind, value or error]')
}
