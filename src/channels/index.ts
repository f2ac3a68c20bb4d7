/** The channel kinds, each as a namespace: `mpsc.channel()`, `mpsc.Sender`, `mpsc.Receiver`, … */
import * as broadcast from './broadcast.js'
import * as bytes from './bytes.js'
import * as mpsc from './mpsc.js'
import * as oneshot from './oneshot.js'
import * as watch from './watch.js'

export { broadcast, bytes, mpsc, oneshot, watch }
