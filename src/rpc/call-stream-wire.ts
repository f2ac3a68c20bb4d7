/**
 * Messages on a call stream (docs/protocol.md "Requests"): one long-lived stream per peer and
 * direction that carries every request small enough for one frame, each under a call id, so a call
 * costs no stream of its own. Every message starts with a 5-byte header:
 *
 *   type u8 | call id u32 (big-endian) | payload
 *
 *   caller → server  0 request  payload: the request as on a request stream (protocol.ts)
 *                    1 cancel   no payload: the caller gave up on that call
 *   server → caller  0 reply    payload: the reply as on a request stream
 *                    1 accepted no payload: a plain send was accepted by its mailbox
 *
 * A caller's call ids start at 1 and only grow on a stream, so a repeated or older id is a broken
 * peer (the server resets the stream) and an answer is matched to at most one call.
 */

export const CallStreamMessage = { request: 0, cancel: 1 } as const
export const CallStreamAnswer = { reply: 0, accepted: 1 } as const

export const CALL_HEADER_BYTES = 5
/** The largest call id; a caller that reaches it opens a new call stream. */
export const MAX_CALL_ID = 0xffffffff

/** A message's header: `type` and `id`, in 5 bytes of their own (sent as the first part of the message). */
export function callHeader(type: number, id: number): Uint8Array {
  const header = new Uint8Array(CALL_HEADER_BYTES)
  header[0] = type
  header[1] = id >>> 24
  header[2] = (id >>> 16) & 0xff
  header[3] = (id >>> 8) & 0xff
  header[4] = id & 0xff
  return header
}

/** A message's type and id, or undefined when it is shorter than its header or has an id of 0. */
export function readCallHeader(message: Uint8Array): { type: number; id: number } | undefined {
  if (message.byteLength < CALL_HEADER_BYTES) return undefined
  const id = ((message[1]! << 24) >>> 0) + (message[2]! << 16) + (message[3]! << 8) + message[4]!
  return id === 0 ? undefined : { type: message[0]!, id }
}
