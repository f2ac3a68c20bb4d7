/** Channel failures. Close reasons follow remoc: the other half closed on purpose, was dropped, or the connection failed. */
import { MeshscopeError } from '../errors.js'

export type ChannelCloseReason =
  /** The other half was closed on purpose (`close()`). */
  | 'closed'
  /** The other half was disposed or garbage-collected without `close()`. */
  | 'dropped'
  /** The connection to the peer holding the other half failed. */
  | 'disconnected'

/** A send or receive on a channel whose other side is gone. `reason` says how it went. */
export class ChannelClosedError extends MeshscopeError {
  override name = 'ChannelClosedError'
  constructor(
    readonly reason: ChannelCloseReason,
    message = `the channel's other half was ${reason === 'disconnected' ? 'disconnected' : reason}`,
  ) {
    super('CHANNEL_CLOSED', message)
  }
}

/**
 * A watch or broadcast `send` with no receiver left to see the value: CHANNEL_CLOSED, with the
 * value handed back (remoc's `SendError`) and how the last receiver went.
 */
export class SendClosedError<T> extends ChannelClosedError {
  override name = 'SendClosedError'
  constructor(
    reason: ChannelCloseReason,
    /** The value that was not sent. */
    readonly value: T,
    message = `no receiver is left on this channel (the last was ${reason})`,
  ) {
    super(reason, message)
  }
}

/** A broadcast receiver fell behind; `skipped` values were lost. The next receive goes on with newer values. */
export class LaggedError extends MeshscopeError {
  override name = 'LaggedError'
  constructor(readonly skipped: number) {
    super('CHANNEL_LAGGED', `this receiver fell behind and missed ${skipped} value(s)`)
  }
}

export function movedError(what: string): MeshscopeError {
  return new MeshscopeError('CHANNEL_MOVED', `this ${what} was sent to another peer and can no longer be used here`)
}

/** Maps a mux stream's end reason to a channel close reason. */
export function channelReasonOf(reason: string): ChannelCloseReason {
  return reason === 'dropped' ? 'dropped' : reason === 'closed' ? 'closed' : 'disconnected'
}
