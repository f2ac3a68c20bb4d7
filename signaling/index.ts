export { createSignalingServer, type SignalingServer } from './server.js'
export type { SignalingServerOptions } from './options.js'
