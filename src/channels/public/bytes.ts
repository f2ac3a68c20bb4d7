/** The public `bytes` namespace: the channel and its halves (the module's port kinds stay internal). */
export { ByteReceiver, ByteSender, channel, type BytesChannelOptions } from '../bytes.js'
