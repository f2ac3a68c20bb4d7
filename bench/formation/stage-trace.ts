/**
 * Diagnosis for join → first message (FORMATION_TRACE=1): an RTCPeerConnection that stamps when its
 * link reached each stage — made, local and remote description set, first remote candidate added,
 * connected, each lane's data channel open — so the runner can say where a join's time goes on both
 * sides. Off by default: in wrtc the extra state read per change event is a call into its
 * signaling thread, which the measured figure should not pay.
 */
/** An absolute high-resolution time, comparable between processes and tabs of one machine. */
const now = (): number => performance.timeOrigin + performance.now()

/** Stage name → absolute time (ms) it was first reached. */
export type StageStamps = Record<string, number>

type PeerConnectionClass = new (config?: RTCConfiguration) => RTCPeerConnection

/** A subclass of `Base` whose instances stamp their stages into `stamps` (first occurrence only). */
export function tracedPeerConnection(Base: PeerConnectionClass, stamps: StageStamps): PeerConnectionClass {
  const stamp = (stage: string) => void (stamps[stage] ??= now())
  return class TracedPeerConnection extends Base {
    constructor(config?: RTCConfiguration) {
      const before = now()
      super(config)
      stamps['pc made'] ??= before
      stamp('pc constructed')
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected') stamp('connected')
      })
    }
    override async setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
      await super.setLocalDescription(description)
      stamp(`local ${description?.type ?? 'description'} set`)
    }
    override async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
      stamp(`remote ${description.type} in`)
      await super.setRemoteDescription(description)
      stamp(`remote ${description.type} set`)
    }
    override async addIceCandidate(candidate?: RTCIceCandidateInit | null): Promise<void> {
      stamp('remote candidate in')
      await super.addIceCandidate(candidate)
    }
    override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
      const channel = super.createDataChannel(label, init)
      channel.addEventListener('open', () => stamp(`${label} open`))
      return channel
    }
  }
}

type WebSocketClass = new (url: string) => WebSocket

/**
 * A subclass of `Base` whose first socket stamps the signaling stages into `stamps`: socket made,
 * open, the server's first two messages (the challenge, then the welcome) and the hello sent.
 */
export function tracedWebSocket(Base: WebSocketClass, stamps: StageStamps): WebSocketClass {
  const stamp = (stage: string) => void (stamps[stage] ??= now())
  return class TracedWebSocket extends Base {
    constructor(url: string) {
      stamp('socket made')
      super(url)
      let messages = 0
      this.addEventListener('open', () => stamp('socket open'))
      this.addEventListener('message', () => {
        messages++
        if (messages === 1) stamp('challenge in')
        if (messages === 2) stamp('welcome in')
      })
    }
    override send(data: Parameters<WebSocket['send']>[0]): void {
      stamp('hello sent')
      super.send(data)
    }
  }
}
