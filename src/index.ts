/**
 * meshscope's browser-safe entry point. Node programs import `meshscope/node`, which re-exports all
 * of this and installs `@roamhq/wrtc` and `ws` as the platform.
 */
export { Mesh, type MeshEvents, type MeshState, type PeerLeaveReason } from './mesh/mesh.js'
export { Mailbox, MailboxRef, type Envelope, type MailboxHandler } from './services/mailboxes.js'
export { rfn, type RemoteFunction, type RemoteFunctionOptions } from './rpc/remote-function.js'
export type { Remote } from './rpc/remote-object.js'
export type { CallOptions } from './rpc/call.js'
export type { CallContext } from './rpc/serve.js'
export { RemoteError } from './rpc/errors.js'
export { mpsc, oneshot, watch, broadcast, bytes } from './channels/index.js'
export { ChannelClosedError, LaggedError, type ChannelCloseReason } from './channels/errors.js'
export { CodecError, type CodecLimits } from './codec/index.js'
export type { MeshJoinOptions } from './mesh/options.js'
export { installPlatform, type Platform } from './mesh/platform.js'
export { MeshscopeError, isMeshscopeError, type ErrorCode } from './errors.js'
export { Identity } from './identity/identity.js'
export { loadOrCreateIdentity, type IdentityStore } from './identity/store.js'
export { indexedDbIdentityStore } from './identity/indexeddb-store.js'
export type { SignalingState } from './signaling/client.js'
export type { Link, LinkCloseInfo, LinkCloseReason, LinkEvents, LinkState } from './transport/link.js'
export { createMemoryLinkPair, type MemoryLinkOptions, type MemoryLinkPair } from './transport/memory-link.js'
export type { Emitter } from './util/emitter.js'
