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

/** Wall-clock milliseconds (sub-ms): comparable between two processes or tabs of one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now()
}

/** The echoing side writes when the ping arrived (bytes 8..16) into the pong, for the one-way split. */
export function stampArrival(message: Uint8Array): void {
  new DataView(message.buffer, message.byteOffset).setFloat64(8, wallClockMs())
}

/** When the echoing side had the ping (wall clock ms; see `stampArrival`). */
export function arrivalStamp(message: Uint8Array): number {
  return new DataView(message.buffer, message.byteOffset).getFloat64(8)
}
