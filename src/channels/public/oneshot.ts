/** The public `oneshot` namespace: the channel and its halves (the module's port kinds stay internal). */
export { channel, Receiver, Sender } from '../oneshot.js'
