/**
 * `npm start` (after `npm run build`): the signaling server on 127.0.0.1:8787, the demo page through
 * Vite (vite.config.ts), and one headless Node peer in room "demo", whose output is prefixed.
 * SIGINT/SIGTERM stops the peer (SIGTERM, by pid), Vite and the signaling server, then exits 0;
 * a second signal while stopping exits at once. Exits 1 if port 8787 is taken.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createServer } from 'vite'
import { createSignalingServer } from '../dist/signaling/index.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const SIGNALING_HOST = '127.0.0.1'
const SIGNALING_PORT = 8787
const SIGNALING_URL = `ws://${SIGNALING_HOST}:${SIGNALING_PORT}`
const ROOM = 'demo'
/** The peer closes its mesh within about 2 s (goodbyes, then a grace period); after this it is killed. */
const PEER_EXIT_TIMEOUT_MS = 5_000

const signaling = createSignalingServer({ host: SIGNALING_HOST, port: SIGNALING_PORT })
try {
  await signaling.ready
} catch (error) {
  const reason = error?.code === 'EADDRINUSE' ? 'is already in use (another `npm start` or `meshscope signal`?)' : `cannot be used: ${error?.message ?? error}`
  console.error(`start: port ${SIGNALING_PORT} on ${SIGNALING_HOST} ${reason}`)
  process.exit(1)
}

let vite
let peer
let stopping = false
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
// Should this script die some other way, do not leave the peer behind (it runs in its own process group).
process.on('exit', () => {
  if (peer && peer.exitCode === null && peer.signalCode === null) peer.kill('SIGKILL')
})

try {
  vite = await withoutViteExitHandlers(async () => {
    const server = await createServer({ configFile: `${root}vite.config.ts` })
    await server.listen()
    return server
  })
  peer = startPeer()
} catch (error) {
  console.error(`start: ${error?.stack ?? error}`)
  await stop('error', 1)
}

const demoUrl = vite?.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5173/'
console.log(`
  meshscope demo
  signaling  ${SIGNALING_URL}
  room       ${ROOM}, with one Node peer in it (its output is prefixed [node-peer])

  Open ${demoUrl} in several tabs
  (Ctrl-C stops everything)
`)

/**
 * A Vite dev server (outside middleware mode) closes itself and exits the process on SIGTERM or when
 * stdin ends, which would cut the Node peer's goodbye short: this script owns shutdown, so the
 * listeners Vite adds while `start` runs are taken off again.
 */
async function withoutViteExitHandlers(start) {
  const sigtermBefore = new Set(process.listeners('SIGTERM'))
  const stdinEndBefore = new Set(process.stdin.listeners('end'))
  const result = await start()
  for (const listener of process.listeners('SIGTERM')) if (!sigtermBefore.has(listener)) process.off('SIGTERM', listener)
  for (const listener of process.stdin.listeners('end')) if (!stdinEndBefore.has(listener)) process.stdin.off('end', listener)
  return result
}

function startPeer() {
  // detached: its own process group, so a Ctrl-C in the terminal reaches only this script, which then
  // stops the peer with exactly one SIGTERM (a second signal would cut its goodbye short).
  // The peer serves the demo's scope hops (search over a cities dataset, the three-step demo) and
  // owns the chat log every tab mirrors.
  const child = spawn(
    process.execPath,
    [
      `${root}bin/meshscope.js`,
      'peer',
      '--signaling',
      SIGNALING_URL,
      '--room',
      ROOM,
      '--require',
      `${root}demo/search-server.ts`,
      '--require',
      `${root}demo/chat-server.ts`,
    ],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  )
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => console.log(`[node-peer] ${line}`))
  }
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`[node-peer] exited unexpectedly (${signal ?? `code ${code}`}); the demo goes on without it`)
  })
  return child
}

async function stop(reason, exitCode = 0) {
  if (stopping) {
    console.error(`start: ${reason} while stopping: exiting now`)
    process.exit(1) // the 'exit' handler kills the peer
  }
  stopping = true
  console.log(`\nstart: ${reason}: stopping the Node peer, Vite and the signaling server`)
  if (peer) await stopPeer(peer)
  await vite?.close()
  await signaling.close()
  console.log('start: stopped')
  process.exit(exitCode)
}

async function stopPeer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    process.kill(child.pid, 'SIGTERM')
  } catch {
    return // it exited just now
  }
  const timer = setTimeout(() => {
    console.error(`start: the Node peer (pid ${child.pid}) did not exit within ${PEER_EXIT_TIMEOUT_MS} ms; killing it`)
    child.kill('SIGKILL')
  }, PEER_EXIT_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}
