/**
 * The demo's messages between peers:
 *   "demo.links"     { peers: ["<id>", …] }  the sender's open links, sent to every peer whenever they change
 *   "demo.chat.log"  { buffer }              called on the Node peer: a subscription to its chat log, an
 *                                            ObservableList of { from, text } that every tab mirrors
 *   "demo.chat.post" { text: "…" }           called on the Node peer: appends a line (from = the caller)
 * `parseLinks`, `parseChat` and `parseChatEntry` take whatever value a peer sent and return a message
 * or undefined; they never throw.
 */

export const MAILBOX = { links: 'demo.links', chatLog: 'demo.chat.log', chatPost: 'demo.chat.post' } as const

/** A line of the chat log. */
export interface ChatEntry {
  from: string
  text: string
}

export const DEMO_LIMITS = {
  /** Longest chat line, in UTF-16 code units (what `String.length` and `maxlength` count). */
  chatTextChars: 2000,
  /** Most ids in one links message (the signaling server's default room size is 64). */
  linkPeers: 256,
  /** Lines the Node peer's chat log holds; then it is done() and a new one begins (tabs follow it). */
  chatLogLines: 1000,
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

export function parseChatEntry(value: unknown): ChatEntry | undefined {
  const chat = parseChat(value)
  const from = (value as { from?: unknown } | undefined)?.from
  return chat && isPeerId(from) ? { from, text: chat.text } : undefined
}
