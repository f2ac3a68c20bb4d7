/**
 * meshscope's browser-safe entry point. Node programs import `meshscope/node`, which re-exports all
 * of this and installs `@roamhq/wrtc` and `ws` as the platform.
 */
export { Mesh, type MeshEvents, type MeshGossip, type MeshState, type PeerLeaveReason } from './mesh/mesh.js'
export type { GossipMessageEvent } from './mesh/scamp-topology.js'
export type { GossipMessage, GossipMessageType, PeerId, ScampConfig, ScampMetrics } from './gossip/index.js'
export { MAILBOX_DEFAULTS, Mailbox, MailboxRef, type Envelope, type MailboxHandler, type MailboxOptions } from './services/mailboxes.js'
export type { ClusterHandlers, Service, ServiceStats, Subscription, TopicHandler } from './services/clusters/service.js'
export type { ServiceLimits } from './services/clusters/limits.js'
export type { Tunnel, TunnelOperationOptions } from './services/clusters/tunnel.js'
export type { WorkQueueStats } from './services/clusters/work-queue.js'
export { rfn, type AnyFunction, type RemoteFunction, type RemoteFunctionOptions } from './rpc/remote-function.js'
export type { Remote, WithoutContext } from './rpc/remote-object.js'
export type { CallOptions } from './rpc/call.js'
export type { CallContext } from './rpc/serve.js'
export { RemoteError } from './rpc/errors.js'
export {
  ALLOW_ROOM_MEMBERS,
  defineHop,
  hop,
  HopError,
  type Here,
  type HopBlock,
  type HopBody,
  type HopCallOptions,
  type HopOptions,
  type HopPolicy,
  type PeerRef,
} from './scope/index.js'
export { mpsc, oneshot, watch, broadcast, bytes } from './channels/index.js'
export type { ProgressListener } from './channels/bytes.js'
export { ChannelClosedError, LaggedError, type ChannelCloseReason } from './channels/errors.js'
// Remote objects (issue 15 §1): handles, lazy values, lazy blobs, read-write locks
export { handle, Handle, type HandleOptions } from './objects/handle.js'
export { lazy, Lazy } from './objects/lazy.js'
export { lazyBlob, LazyBlob, type BlobFetchOptions } from './objects/lazy-blob.js'
export { rwLock, RwLock, type ReadGuard, type WriteGuard, type RwLockOptions } from './objects/rw-lock.js'
export { OBJECT_LIMITS, type ObjectLimits } from './objects/limits.js'
export { CodecError, type CodecErrorCode, type CodecLimits } from './codec/index.js'
export type { MeshJoinOptions, PeerLimits } from './mesh/options.js'
export type { MuxConfig } from './mux/config.js'
export type { MuxSessionStats } from './mux/session.js'
export type { SharedBudgetStats } from './mux/shared-budget.js'
export type { ChannelLimits } from './channels/limits.js'
export type { ServeLimits } from './rpc/serve-limits.js'
export { installPlatform, type Platform } from './mesh/platform.js'
export { MeshscopeError, isMeshscopeError, type ErrorCode } from './errors.js'
export { Identity, type SignatureDomain } from './identity/identity.js'
export { loadOrCreateIdentity, type IdentityStore } from './identity/store.js'
export { indexedDbIdentityStore } from './identity/indexeddb-store.js'
export type { SignalingState, WebSocketConstructor } from './signaling/client.js'
export type { Topology } from './signaling/protocol.js'
export type { TokenSource } from './signaling/token-keeper.js'
export type { Principal } from './identity/principal.js'
export type { Link, LinkCloseInfo, LinkCloseReason, LinkEvents, LinkLane, LinkState } from './transport/link.js'
export type { StreamLane } from './mux/frame.js'
export { createMemoryLinkPair, type MemoryLinkOptions, type MemoryLinkPair } from './transport/memory-link.js'
export type { RtcPeerConnectionConstructor } from './transport/webrtc-link.js'
export type { Emitter, EventMap, Listener } from './util/emitter.js'

// Issue 15 §3, the channel and process semantics (Engineer C): sends with no receiver left,
// withdrawable remote functions and exposed objects, closable remote-object proxies.
export { SendClosedError } from './channels/errors.js'
export type { RemoteFunctionProvider } from './rpc/remote-function.js'
export type { RemoteLifecycle } from './rpc/remote-object.js'
export type { ExposedObject } from './mesh/messaging.js'
export { LinkedError, type SpawnOptions } from './services/mailboxes.js'

// Issue 15, observable collections (src/objects/collections)
export { ObservableMap, MapSubscription, MirroredMap } from './objects/collections/map.js'
export { ObservableSet, SetSubscription, MirroredSet } from './objects/collections/set.js'
export { ObservableArray, ArraySubscription, MirroredArray } from './objects/collections/array.js'
export { ObservableList, ListSubscription, MirroredList } from './objects/collections/list.js'
export { ObservableCollection, type SubscribeOptions } from './objects/collections/collection.js'
export { CollectionSubscription } from './objects/collections/subscription.js'
export { Mirror, type MirrorOptions } from './objects/collections/mirror.js'
export type { ArrayChange, CollectionChange, CollectionKind, ListChange, MapChange, SetChange } from './objects/collections/protocol.js'
