/** The public `mpsc` namespace: the channel and its halves (the module's port kinds stay internal). */
export { channel, Permit, Receiver, Sender, type ChannelOptions } from '../mpsc.js'
