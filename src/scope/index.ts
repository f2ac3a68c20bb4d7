export { ALLOW_ROOM_MEMBERS, defineHop, type HopBlock, type HopBody, type HopOptions, type HopPolicy } from './registry.js'
export { hop, HopError, type HopCallOptions } from './hop.js'
export type { Here, PeerRef } from './here.js'
