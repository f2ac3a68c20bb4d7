/**
 * The mesh's own framing on a peer link, until the multiplexer takes the link over: one kind byte, then
 * the payload. Heartbeats are how a peer notices a dead link itself (a killed process closes nothing);
 * a goodbye makes a graceful leave immediate instead of waiting for the timeout.
 *
 *   0x01 DATA       payload = the application's bytes
 *   0x02 HEARTBEAT  no payload
 *   0x03 GOODBYE    no payload
 */
export const FRAME_KIND = { data: 0x01, heartbeat: 0x02, goodbye: 0x03 } as const

export type PeerFrame = { kind: 'data'; payload: Uint8Array } | { kind: 'heartbeat' } | { kind: 'goodbye' }

export function encodeDataFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(payload.byteLength + 1)
  frame[0] = FRAME_KIND.data
  frame.set(payload, 1)
  return frame
}

export const HEARTBEAT_FRAME = Uint8Array.of(FRAME_KIND.heartbeat)
export const GOODBYE_FRAME = Uint8Array.of(FRAME_KIND.goodbye)

/** Parses one link message; undefined for anything that is not a valid frame. */
export function parsePeerFrame(bytes: Uint8Array): PeerFrame | undefined {
  switch (bytes[0]) {
    case FRAME_KIND.data:
      return { kind: 'data', payload: bytes.subarray(1) }
    case FRAME_KIND.heartbeat:
      return bytes.byteLength === 1 ? { kind: 'heartbeat' } : undefined
    case FRAME_KIND.goodbye:
      return bytes.byteLength === 1 ? { kind: 'goodbye' } : undefined
    default:
      return undefined
  }
}
