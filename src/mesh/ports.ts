/**
 * The full port table: every kind of port a mesh peer may send inside a value — channel halves,
 * remote functions, mailbox references, remote objects — and the encoder that turns plain functions into remote
 * functions. The peer stack (./peer-stack.ts) hands it to each connection unless told otherwise.
 */
import { broadcastPorts } from '../channels/broadcast.js'
import { bytesPorts } from '../channels/bytes.js'
import { mpscPorts } from '../channels/mpsc.js'
import { oneshotPorts } from '../channels/oneshot.js'
import { joinPortTables, type PortTable } from '../channels/port.js'
import { watchPorts } from '../channels/watch.js'
import { collectionPorts } from '../objects/collections/ports.js'
import { rfnPorts } from '../rpc/remote-function.js'
import { mailboxPorts } from '../services/mailboxes.js'
import { objectPorts } from '../objects/ports.js'

export const DEFAULT_PORTS: PortTable = joinPortTables(
  mpscPorts,
  oneshotPorts,
  watchPorts,
  broadcastPorts,
  bytesPorts,
  rfnPorts,
  mailboxPorts,
  objectPorts,
  collectionPorts,
)
