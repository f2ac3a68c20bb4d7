/**
 * The demo's messages between peers, UTF-8 JSON carried by `mesh.send`:
 *   {"type":"links","peers":["<id>", …]}  the sender's open links, sent to every peer whenever they change
 *   {"type":"chat","text":"…"}             a chat line (the Node peer answers with "echo": false)
 * `parseDemoMessage` takes any bytes a peer sent and returns a message or undefined; it never throws.
 */

export const DEMO_LIMITS = {
  /** Longest chat line, in UTF-16 code units (what `String.length` and `maxlength` count). */
  chatTextChars: 2000,
  /** Most ids in one links message (the signaling server's default room size is 64). */
  linkPeers: 256,
  /** Bigger messages are not even decoded: 2000 characters escaped as \uXXXX fit well within this. */
  messageBytes: 32 * 1024,
} as const

export type DemoMessage = { type: 'links'; peers: string[] } | { type: 'chat'; text: string }

/** Peer ids are 32 lowercase hex characters (the library's PEER_ID_PATTERN, which it does not export). */
const PEER_ID = /^[0-9a-f]{32}$/

export function isPeerId(value: unknown): value is string {
  return typeof value === 'string' && PEER_ID.test(value)
}

/** The first 8 hex characters: how the page names a peer (the full id shows on hover). */
export function shortId(peerId: string): string {
  return peerId.slice(0, 8)
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeDemoMessage(message: DemoMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

export function parseDemoMessage(data: Uint8Array): DemoMessage | undefined {
  if (data.byteLength > DEMO_LIMITS.messageBytes) return undefined
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(data))
  } catch {
    return undefined // not UTF-8 or not JSON
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const message = value as Record<string, unknown>
  if (message.type === 'chat') {
    const text = message.text
    if (typeof text !== 'string' || text.length === 0 || text.length > DEMO_LIMITS.chatTextChars) return undefined
    return { type: 'chat', text }
  }
  if (message.type === 'links') {
    const peers = message.peers
    if (!Array.isArray(peers) || peers.length > DEMO_LIMITS.linkPeers || !peers.every(isPeerId)) return undefined
    return { type: 'links', peers: [...new Set(peers)] }
  }
  return undefined
}
