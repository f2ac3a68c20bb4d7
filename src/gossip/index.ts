/**
 * SCAMP membership and gossip dissemination (src/gossip): a pure state machine the mesh drives.
 * See scamp.ts for the protocol, protocol.ts for the wire messages, config.ts for the limits.
 */
export { createScampNode, ScampNode, type ScampNodeOptions, type ScampState } from './scamp.js'
export type { GossipEffect, ScampMetrics } from './effects.js'
export { DEFAULT_SCAMP_CONFIG, resolveScampConfig, type ScampConfig } from './config.js'
export {
  GOSSIP_MESSAGE_TYPES,
  isMessageId,
  isPeerId,
  messageToWire,
  parseGossipMessage,
  type GossipMessage,
  type GossipMessageType,
  type GossipRefusalCode,
  type ParseResult,
  type PeerId,
  type WireLimits,
} from './protocol.js'
export { createRng, cryptoRng, type Rng } from './rng.js'
