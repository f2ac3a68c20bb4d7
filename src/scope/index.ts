export { defineHop, type HopBlock, type HopBody, type HopOptions } from './registry.js'
export { hop, HopError } from './hop.js'
export type { Here, PeerRef } from './here.js'
