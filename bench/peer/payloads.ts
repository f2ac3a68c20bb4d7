/** The payloads the measurements send: a fixed pattern, its first byte the raw channel's message type. */

export const PING_BYTES = 64

/** `length` bytes of a fixed pattern whose first byte is `type` (the raw channel's message type). */
export function filled(length: number, type: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(length)
  for (let i = 0; i < length; i++) data[i] = (i * 31 + 7) & 0xff
  data[0] = type
  return data
}

/** A 64-byte ping of `type` carrying its sequence number in bytes 1..4. */
export function pingPayload(type: number, seq: number): Uint8Array<ArrayBuffer> {
  const ping = filled(PING_BYTES, type)
  new DataView(ping.buffer).setUint32(1, seq)
  return ping
}

/** The sequence number of a ping or pong. */
export function pingSeq(message: Uint8Array): number {
  return new DataView(message.buffer, message.byteOffset).getUint32(1)
}
