/**
 * A crowd of hostile signaling clients, in a process of its own so that the server's memory can be
 * measured apart (forked by signaling-load.test.ts; plain JS with `ws` and WebCrypto only).
 *
 * Three kinds, spread over several loopback source addresses:
 * - silent: open a socket and never say hello;
 * - flooders: join the scamp room "flood" (up to 10 000 members) and send oversized signals to the slow readers far past the rate
 *   limit; when the server closes one, it comes back (churn);
 * - slow readers: join the same room, then stop reading their socket.
 *
 * IPC: the parent sends { type: 'stop' }; the crowd answers { type: 'stats', … } every 500 ms and
 * once more when stopped, then exits.
 */
import { WebSocket } from 'ws'

const config = JSON.parse(process.argv[2])
const { url, sockets: total, addresses, payloadBytes } = config
const HELLO_PREFIX = 'meshscope/hello/v1'

const stats = { attempted: 0, opened: 0, refusedByStatus: {}, joined: 0, closedByCode: {}, sent: 0, open: 0 }
const live = new Set()
const slowReaderIds = []
let running = true
const blob = 'x'.repeat(payloadBytes)

const base64Url = (bytes) => Buffer.from(bytes).toString('base64url')
const count = (table, key) => {
  table[key] = (table[key] ?? 0) + 1
}

async function hello(socket, nonce, room) {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
  const publicKey = base64Url(await crypto.subtle.exportKey('raw', keys.publicKey))
  const text = `${HELLO_PREFIX}\n${nonce}\n${room}`
  const signature = base64Url(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, new TextEncoder().encode(text)))
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'hello', version: 1, room, topology: 'scamp', publicKey, signature }))
}

function flood(socket) {
  const timer = setInterval(() => {
    if (socket.readyState !== WebSocket.OPEN || slowReaderIds.length === 0) return
    // A burst far over the per-socket rate: most are refused (RATE_LIMITED) and the socket is struck out.
    for (let i = 0; i < 20 && socket.bufferedAmount < 1_000_000; i++) {
      const to = slowReaderIds[Math.floor(Math.random() * slowReaderIds.length)]
      socket.send(JSON.stringify({ type: 'signal', to, payload: { blob } }))
      stats.sent++
    }
  }, 10)
  socket.once('close', () => clearInterval(timer))
}

function open(kind, address) {
  if (!running) return
  stats.attempted++
  const socket = new WebSocket(url, { localAddress: address })
  socket.on('error', () => {})
  socket.on('unexpected-response', (request, response) => {
    count(stats.refusedByStatus, response.statusCode)
    request.destroy()
  })
  socket.on('open', () => {
    stats.opened++
    stats.open++
    live.add(socket)
  })
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString())
    if (message.type === 'challenge' && kind !== 'silent') void hello(socket, message.nonce, 'flood')
    if (message.type === 'welcome') {
      stats.joined++
      if (kind === 'slow') {
        slowReaderIds.push(message.id)
        socket._socket.pause()
      } else flood(socket)
    }
  })
  socket.on('close', (code) => {
    if (live.delete(socket)) stats.open--
    count(stats.closedByCode, code)
    // Flooders come back; churn is part of the attack.
    if (kind === 'flooder' && running) setTimeout(() => open(kind, address), 100)
  })
}

const kinds = (index) => (index % 10 < 5 ? 'silent' : index % 10 < 8 ? 'flooder' : 'slow')
for (let i = 0; i < total; i++) {
  open(kinds(i), addresses[i % addresses.length])
  if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 5))
}

const report = setInterval(() => process.send?.({ type: 'stats', stats }), 500)
process.on('message', (message) => {
  if (message?.type !== 'stop') return
  running = false
  clearInterval(report)
  for (const socket of live) socket.terminate()
  process.send?.({ type: 'stats', stats, final: true }, () => process.exit(0))
})
process.on('disconnect', () => process.exit(0))
