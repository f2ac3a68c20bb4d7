/**
 * Ports are live values (channel halves, remote functions) that travel inside a value. The codec
 * does not know what they are: the layer that owns them (src/channels) lends it these two hooks.
 */

/** Returned by `PortHooks.encodePort` for a value that is not a port. */
export const NOT_A_PORT: unique symbol = Symbol('meshscope.notAPort')

export interface PortHooks {
  /**
   * Called, while encoding, for every function and every object that is not a plain object, array,
   * Uint8Array, Date, Map or Set. Returns NOT_A_PORT if `value` is not a port (errors then travel as
   * errors, anything else is refused with CODEC_UNSUPPORTED_VALUE), else a payload describing it: any
   * value the codec carries, but no port inside it (CODEC_UNSUPPORTED_VALUE). `path` names where the
   * port sits, e.g. `value.items[3].tx`. A value holding the same port twice calls this twice.
   * A MeshscopeError thrown here fails the encode with that error; anything else thrown becomes a
   * CodecError CODEC_UNSUPPORTED_VALUE with the throw as its `cause`.
   */
  encodePort(value: object | ((...args: never) => unknown), path: string): unknown | typeof NOT_A_PORT
  /**
   * Rebuilds the live value from a payload on the receiving side. Called only once the whole
   * message has been checked and decoded, for each port in depth-first order, so a malformed message
   * never reaches it. A MeshscopeError thrown here fails the decode with that error (ports rebuilt
   * before it in the same message are not undone: the hook's owner must clean them up); anything
   * else thrown becomes a CodecError CODEC_BAD_EXTENSION with the throw as its `cause`.
   */
  decodePort(payload: unknown): unknown
}
