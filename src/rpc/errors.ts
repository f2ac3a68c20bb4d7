/** What a caller gets when the remote handler threw. */
import { MeshscopeError } from '../errors.js'

export class RemoteError extends MeshscopeError {
  override name = 'RemoteError'
  /** The code the remote error carried (a MeshscopeError's code, or an own `code` string), if any. */
  readonly remoteCode: string | undefined
  /** The remote error's name after the codec's allowlist (`remoteName` kept for unknown names). */
  readonly remoteName: string
  /** The remote stack, only when the remote side allows sending stacks (`exposeErrorStacks`). */
  readonly remoteStack: string | undefined

  constructor(
    /** The peer the error happened on. */
    readonly peerId: string,
    remote: Error & { remoteName?: string; code?: unknown },
    stackWasSent: boolean,
  ) {
    super('REMOTE_ERROR', remote.message, { cause: remote })
    this.remoteCode = typeof remote.code === 'string' ? remote.code : undefined
    this.remoteName = remote.remoteName ?? remote.name
    this.remoteStack = stackWasSent ? remote.stack : undefined
  }
}
