/**
 * Every failure meshscope reports is a `MeshscopeError` with a stable `code`.
 * Codes are part of the public API and listed in docs/errors.md; messages are for humans and may change.
 */
export type ErrorCode =
  // argument and lifecycle errors raised by local calls
  | 'INVALID_ARGUMENT'
  | 'MESH_CLOSED'
  | 'ABORTED'
  | 'TIMEOUT'
  // signaling: reported by the server in an `error` message, or by the client
  | 'BAD_JSON'
  | 'BAD_MESSAGE'
  | 'BINARY_NOT_ALLOWED'
  | 'UNSUPPORTED_VERSION'
  | 'NOT_JOINED'
  | 'ALREADY_JOINED'
  | 'BAD_PUBLIC_KEY'
  | 'BAD_SIGNATURE'
  | 'ROOM_FULL'
  | 'TOPOLOGY_MISMATCH'
  | 'RATE_LIMITED'
  | 'UNKNOWN_PEER'
  | 'SIGNALING_UNREACHABLE'
  | 'SIGNALING_REFUSED'
  // token-authorised rooms and principals (issue 16)
  | 'TOKEN_REQUIRED'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'ROOM_FORBIDDEN'
  | 'ATTESTATION_INVALID'
  | 'AUTHENTICATION_REQUIRED'
  | 'SIGNALING_UNAVAILABLE'
  // peers and links
  | 'PEER_NOT_CONNECTED'
  | 'PEER_GONE'
  | 'BAD_SIGNAL'
  | 'MESSAGE_TOO_LARGE'
  | 'LINK_CLOSED'
  | 'LINK_FAILED'
  | 'TOO_MANY_LINKS'
  | 'PEER_BUSY'
  // multiplexer and streams
  | 'DISCONNECTED'
  | 'STREAM_RESET'
  | 'TOO_MANY_STREAMS'
  | 'TOO_MANY_REQUESTS'
  | 'PEER_NOT_READING'
  | 'STREAM_CLOSED'
  | 'ITEM_TOO_LARGE'
  | 'MUX_PROTOCOL_ERROR'
  | 'MUX_VERSION_MISMATCH'
  // channels
  | 'CHANNEL_CLOSED'
  | 'CHANNEL_LAGGED'
  | 'CHANNEL_MOVED'
  | 'BAD_PORT'
  // mailboxes
  | 'UNKNOWN_MAILBOX'
  | 'MAILBOX_FULL'
  | 'HANDLER_FAILED'
  // rpc
  | 'REMOTE_ERROR'
  | 'UNKNOWN_METHOD'
  | 'ALREADY_CALLED'
  // issue 15 §3: withdrawn remote functions and objects, linked processes
  | 'WITHDRAWN'
  | 'LINKED_ERROR'
  | 'SELF_CALL'
  | 'NOT_A_CALL'
  // service clusters (src/services/clusters)
  | 'NO_MEMBER'
  | 'SERVICE_CLOSED'
  | 'SERVICE_OVERLOADED'
  | 'ALREADY_SUBSCRIBED'
  | 'NOT_SUBSCRIBED'
  | 'ANNOUNCEMENT_REFUSED'
  // scope hops
  | 'HOP_FAILED'
  | 'UNKNOWN_HOP'
  | 'HOP_REFUSED'
  | 'HOP_NEEDS_PLUGIN'
  | 'HOP_BUILD_FAILED'
  // identity persistence
  | 'IDENTITY_STORE_FAILED'
  // installs: an optional peer dependency the imported entry point needs is not installed (the message names the npm command)
  | 'PLATFORM_MISSING'
  | 'BUILD_DEPENDENCY_MISSING'
  // value codec (src/codec): raised by `Codec.encode` for values that cannot travel, by `Codec.decode` for bad bytes
  | 'CODEC_UNSUPPORTED_VALUE'
  | 'CODEC_CYCLE'
  | 'CODEC_TOO_LARGE'
  | 'CODEC_TOO_DEEP'
  | 'CODEC_TOO_MANY_ELEMENTS'
  | 'CODEC_MALFORMED'
  | 'CODEC_BAD_EXTENSION'
  // gossip (src/gossip): a peer's SCAMP or gossip message refused, or a local call on a node that left
  | 'GOSSIP_MALFORMED'
  | 'GOSSIP_TOO_LARGE'
  | 'GOSSIP_RATE_LIMITED'
  | 'GOSSIP_UNSOLICITED'
  | 'GOSSIP_FORGED'
  | 'GOSSIP_CLOSED'
  // remote objects (src/objects): handles, lazy values and blobs, read-write locks
  | 'HANDLE_NOT_LOCAL'
  | 'HANDLE_WRONG_KIND'
  | 'HANDLE_UNKNOWN'
  | 'OBJECT_MOVED'
  | 'OBJECT_GONE'
  | 'OBJECT_LIMIT'
  | 'BLOB_TOO_LARGE'
  | 'BLOB_SIZE_MISMATCH'
  | 'LOCK_LEASE_EXPIRED'
  // observable collections (src/objects/collections): a frozen collection changed, or a mirror refusing what its owner sent
  | 'COLLECTION_DONE'
  | 'MIRROR_TOO_LARGE'
  | 'MIRROR_BAD_INDEX'
  | 'MIRROR_BAD_EVENT'

export class MeshscopeError extends Error {
  override name = 'MeshscopeError'
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** True when `value` is a MeshscopeError, optionally with the given code. */
export function isMeshscopeError(value: unknown, code?: ErrorCode): value is MeshscopeError {
  return value instanceof MeshscopeError && (code === undefined || value.code === code)
}
