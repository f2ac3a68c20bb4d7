/**
 * The chat panel: a bounded log of lines and the form that sends one. Text from peers only ever goes
 * into `textContent`, never into HTML.
 */
import { DEMO_LIMITS, shortId } from './protocol.js'

/** Older lines are dropped past this many, so a chatty peer cannot grow the page without end. */
const MAX_LOG_LINES = 200

export type ChatLine = { kind: 'self'; text: string } | { kind: 'peer'; from: string; text: string } | { kind: 'system'; text: string }

export interface ChatPanel {
  append(line: ChatLine): void
  setEnabled(enabled: boolean): void
}

export function createChatPanel(
  elements: { log: HTMLOListElement; form: HTMLFormElement; input: HTMLInputElement },
  onSend: (text: string) => void,
): ChatPanel {
  const { log, form, input } = elements
  input.maxLength = DEMO_LIMITS.chatTextChars
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const text = input.value.trim()
    if (text === '') return
    input.value = ''
    onSend(text)
  })

  return {
    append(line) {
      const item = document.createElement('li')
      item.className = line.kind
      if (line.kind !== 'system') {
        const who = document.createElement('span')
        who.className = 'who'
        who.textContent = line.kind === 'self' ? 'you' : shortId(line.from)
        if (line.kind === 'peer') who.title = line.from
        item.append(who)
      }
      const text = document.createElement('span')
      text.className = 'text'
      text.textContent = line.text
      item.append(text)
      const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24
      log.append(item)
      while (log.childElementCount > MAX_LOG_LINES) log.firstElementChild!.remove()
      if (atBottom || line.kind === 'self') log.scrollTop = log.scrollHeight
    },
    setEnabled(enabled) {
      for (const control of form.elements) {
        if (control instanceof HTMLInputElement || control instanceof HTMLButtonElement) control.disabled = !enabled
      }
      if (enabled) input.focus()
    },
  }
}
