/**
 * Loaded into the demo's Node peer (`meshscope peer --require demo/chat-server.ts`): the chat log is
 * an ObservableList this peer owns. Tabs post lines to it ("demo.chat.post") and mirror it
 * ("demo.chat.log"), so a tab that opens late gets the history. The log is bounded: at
 * `DEMO_LIMITS.chatLogLines` it is done() and a new one begins, which the tabs then mirror.
 */
import { ObservableList, type Mesh } from 'meshscope'
import { DEMO_LIMITS, MAILBOX, parseChat, type ChatEntry } from './protocol.js'

/** A tab's choice of buffer, within what the demo allows. */
const MAX_BUFFER = 1024

/** Called by `meshscope peer` once it joined the room. */
export function onJoin(mesh: Mesh): void {
  let log = new ObservableList<ChatEntry>()
  mesh.register(MAILBOX.chatLog, (value) => {
    const asked = (value as { buffer?: unknown } | null)?.buffer
    const buffer = Number.isInteger(asked) && (asked as number) >= 1 ? Math.min(asked as number, MAX_BUFFER) : 256
    return log.subscribe({ buffer })
  })
  mesh.register(MAILBOX.chatPost, (value, { from }) => {
    const chat = parseChat(value)
    if (!chat) return false
    if (log.length >= DEMO_LIMITS.chatLogLines) {
      log.done()
      log = new ObservableList<ChatEntry>()
    }
    log.push({ from, text: chat.text })
    console.log(`chat-server: line ${log.length} from ${from.slice(0, 8)}`)
    return true
  })
  console.log('chat-server: the chat log is served')
}
