import { muxCompliance } from './mux-compliance.js'
import { memorySessionPair, wrtcSessionPair } from './helpers.js'

muxCompliance('memory pair', memorySessionPair)
muxCompliance('wrtc data channel', wrtcSessionPair)
