/**
 * The tab's side of the chat log: finds the peer that owns it (the demo's Node peer), mirrors it
 * and shows each line once — the history first, then every new line. When the log is done (the
 * owner began a new one) or the mirror fails (the owner left), it looks for the log again.
 */
import { ListSubscription, type Mesh } from 'meshscope'
import type { ChatLine } from './chat.js'
import { DEMO_LIMITS, MAILBOX, parseChatEntry, shortId } from './protocol.js'

const ASK_TIMEOUT_MS = 5_000

export interface ChatLog {
  /** Appends a line to the log (the owner puts it there for every tab); false if no owner is linked. */
  post(text: string): Promise<boolean>
  /** Call when a peer joins: it may be the log's owner. */
  peerJoined(peerId: string): void
}

export function followChatLog(mesh: Mesh, show: (line: ChatLine) => void): ChatLog {
  let owner: string | undefined
  let looking = false
  let lookAgain = false

  async function mirrorFrom(peerId: string): Promise<boolean> {
    let subscription: unknown
    try {
      subscription = await mesh.call(peerId, MAILBOX.chatLog, { buffer: 256 }, { timeout: ASK_TIMEOUT_MS })
    } catch {
      return false // not the owner (no such mailbox), or gone
    }
    if (!(subscription instanceof ListSubscription)) return false
    owner = peerId
    const mirror = subscription.mirror({ maxSize: DEMO_LIMITS.chatLogLines })
    void showLines(mirror).then((reason) => {
      if (owner === peerId) owner = undefined
      if (reason) show({ kind: 'system', text: `chat log: ${reason}` })
      void lookForOwner()
    })
    return true
  }

  /** Shows the mirror's lines as they arrive; resolves when it ends, with why unless it was done. */
  async function showLines(mirror: ReturnType<ListSubscription<unknown>['mirror']>): Promise<string | undefined> {
    let shown = 0
    try {
      for (;;) {
        for (; shown < mirror.value.length; shown++) {
          const entry = parseChatEntry(mirror.value[shown])
          if (!entry) continue // out of bounds: not shown
          show(entry.from === mesh.id ? { kind: 'self', text: entry.text } : { kind: 'peer', from: entry.from, text: entry.text })
        }
        if (mirror.done) return undefined
        await mirror.changed()
      }
    } catch (error) {
      return (error as { code?: string }).code ?? String(error)
    }
  }

  async function lookForOwner(): Promise<void> {
    if (owner) return
    if (looking) {
      lookAgain = true // a peer joined while asking the others: ask again after
      return
    }
    looking = true
    try {
      do {
        lookAgain = false
        for (const peerId of mesh.peers) if (!owner && (await mirrorFrom(peerId))) break
      } while (lookAgain && !owner)
    } finally {
      looking = false
    }
  }

  void lookForOwner()
  return {
    async post(text) {
      if (!owner) {
        await lookForOwner()
        if (!owner) return false
      }
      try {
        return (await mesh.call(owner, MAILBOX.chatPost, { text }, { timeout: ASK_TIMEOUT_MS })) === true
      } catch (error) {
        show({ kind: 'system', text: `could not post to ${shortId(owner)}: ${(error as { code?: string }).code ?? error}` })
        return true
      }
    },
    peerJoined() {
      void lookForOwner()
    },
  }
}
