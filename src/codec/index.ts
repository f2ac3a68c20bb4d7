/** The value codec's public surface (see codec.ts). */
export { Codec, type CodecOptions } from './codec.js'
export { CodecError, type CodecErrorCode } from './codec-error.js'
export { DEFAULT_CODEC_LIMITS, type CodecLimits } from './limits.js'
export { NOT_A_PORT, type PortHooks } from './port-hooks.js'
export type { RemoteError } from './remote-error.js'
