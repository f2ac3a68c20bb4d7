/**
 * A request stream carries one message each way (the request, the reply). The other side's CLOSE
 * normally arrives in the same link message as its one message, so it has been handled by the time
 * that message is read; if not, this side stops receiving (STOP) rather than reading on: a peer that
 * sends more, or never closes, can neither make it hold another message nor keep the stream open.
 */
import type { MuxStream } from '../mux/stream.js'

export function endAfterOneMessage(stream: MuxStream): void {
  if (stream.receiveEnded)
    void stream.receive().catch(() => {}) // releases it once nothing is left
  else stream.stop('closed')
}
