export { createSignalingServer, type SignalingServer } from './server.js'
export type { OriginPolicy, RoomTopologyPolicy, SignalingServerOptions } from './options.js'
export type { SharedRoomsOptions } from './redis-rooms.js'
export type { Topology } from '../src/signaling/protocol.js'
