/**
 * The channel kinds, each as a namespace: `mpsc.channel()`, `mpsc.Sender`, `mpsc.Receiver`, … Each
 * namespace is a hand-picked list (./public/): the modules also export their port kinds, which only
 * the peer stack's port table (src/mesh/ports.ts) uses.
 */
import * as broadcast from './public/broadcast.js'
import * as bytes from './public/bytes.js'
import * as mpsc from './public/mpsc.js'
import * as oneshot from './public/oneshot.js'
import * as watch from './public/watch.js'

export { broadcast, bytes, mpsc, oneshot, watch }
