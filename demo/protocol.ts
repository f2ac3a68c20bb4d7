/**
 * The demo's messages between peers, sent to two mailboxes with `mesh.send(peer, name, value)`:
 *   "demo.links"  { peers: ["<id>", …] }  the sender's open links, sent to every peer whenever they change
 *   "demo.chat"   { text: "…" }           a chat line (the Node peer answers with `echo: false`)
 * `parseLinks` and `parseChat` take whatever value a peer sent and return a message or undefined; they never throw.
 */

export const MAILBOX = { links: 'demo.links', chat: 'demo.chat' } as const

export const DEMO_LIMITS = {
  /** Longest chat line, in UTF-16 code units (what `String.length` and `maxlength` count). */
  chatTextChars: 2000,
  /** Most ids in one links message (the signaling server's default room size is 64). */
  linkPeers: 256,
} as const

/** Peer ids are 32 lowercase hex characters (the library's PEER_ID_PATTERN, which it does not export). */
const PEER_ID = /^[0-9a-f]{32}$/

export function isPeerId(value: unknown): value is string {
  return typeof value === 'string' && PEER_ID.test(value)
}

/** The first 8 hex characters: how the page names a peer (the full id shows on hover). */
export function shortId(peerId: string): string {
  return peerId.slice(0, 8)
}

export function parseChat(value: unknown): { text: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const text = (value as { text?: unknown }).text
  if (typeof text !== 'string' || text.length === 0 || text.length > DEMO_LIMITS.chatTextChars) return undefined
  return { text }
}

export function parseLinks(value: unknown): { peers: string[] } | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const peers = (value as { peers?: unknown }).peers
  if (!Array.isArray(peers) || peers.length > DEMO_LIMITS.linkPeers || !peers.every(isPeerId)) return undefined
  return { peers: [...new Set(peers)] }
}
