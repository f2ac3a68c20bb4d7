#!/usr/bin/env node
/**
 * Opt-in stress of wrtc's close path (not part of `npm test`): small meshes (and bare wrtc pairs)
 * form and tear down in a loop, each scenario in child processes so a native crash is counted, not
 * fatal. Peers leave the ways they do in the cluster bench and the scamp test: while calls and bulk
 * data are in flight, while links still form, several at once, with the process exiting right after
 * leave, under GC pressure (`--expose-gc`, `gc()` between rounds). Prints, per scenario, how many
 * children ran, how many rounds they did and how each ended (exit code or signal).
 *
 *   npm run build && flock /tmp/meshscope-bench.lock node scripts/wrtc-close-stress.mjs
 *
 * STRESS_SECONDS (default 90) bounds the whole run; STRESS_SCENARIOS=a,b picks scenarios;
 * STRESS_ROUNDS (default 6) is rounds per child; STRESS_VERBOSE=1 logs each round. Runs the built dist/
 * (build first), or the build at STRESS_DIST (an A/B against a copy of the build before a change).
 */
import { fork } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'

const SCENARIOS = {
  /** 4 peers, calls with 32 KiB values in flight, all leave at once (Promise.all of close). */
  'leave-all-in-flight': { peers: 4, traffic: true, leave: 'all' },
  /** 4 peers, calls in flight, one leaves at a time, each close awaited. */
  'leave-one-by-one': { peers: 4, traffic: true, leave: 'serial' },
  /** 4 peers join and leave at once, while their links are still forming. */
  'leave-while-forming': { peers: 4, traffic: false, leave: 'forming' },
  /** 4 peers with traffic leave; the process exits right after close() resolves (no settling). */
  'exit-after-leave': { peers: 4, traffic: true, leave: 'all', exitAfterLeave: true },
  /** 4 peers with traffic; the process exits without closing at all (the user's mistake). */
  'exit-without-leave': { peers: 4, traffic: true, leave: 'none', exitAfterLeave: true },
  /** Bare wrtc pairs, both lanes sending, closed from one side while the other reads bufferedAmount. */
  'raw-close-while-reading': { raw: true },
}

const ROUNDS = Number(process.env.STRESS_ROUNDS ?? 6)
/** A child still running after this long is stuck (a hang, not a crash): killed and counted as `timeout`. */
const CHILD_LIMIT_MS = 90_000

if (process.argv[2] === '--child') await runChild(process.argv[3])
else await runParent()

async function runParent() {
  const budgetMs = Number(process.env.STRESS_SECONDS ?? 90) * 1000
  const names = process.env.STRESS_SCENARIOS ? process.env.STRESS_SCENARIOS.split(',') : Object.keys(SCENARIOS)
  const started = Date.now()
  const results = Object.fromEntries(names.map((name) => [name, { children: 0, rounds: 0, endings: {} }]))
  while (Date.now() - started < budgetMs) {
    for (const name of names) {
      if (Date.now() - started >= budgetMs) break
      const { ending, rounds, stderr } = await runChildProcess(name, CHILD_LIMIT_MS)
      const result = results[name]
      result.children++
      result.rounds += rounds
      result.endings[ending] = (result.endings[ending] ?? 0) + 1
      if (ending !== 'exit 0') console.error(`[stress] ${name}: child ended with ${ending} after ${rounds} rounds\n${stderr.slice(-2000)}`)
    }
  }
  console.log(JSON.stringify({ seconds: Math.round((Date.now() - started) / 1000), rounds_per_child: ROUNDS, results }, null, 2))
}

function runChildProcess(name, timeoutMs) {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', name], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    let rounds = 0
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('message', (message) => {
      if (message.round) rounds = message.round
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ ending: timedOut ? 'timeout' : signal ? signal : `exit ${code}`, rounds, stderr })
    })
  })
}

async function runChild(name) {
  const scenario = SCENARIOS[name]
  if (!scenario) throw new Error(`no scenario ${name}`)
  const wrtc = (await import('@roamhq/wrtc')).default
  if (scenario.raw) {
    for (let round = 1; round <= ROUNDS * 3; round++) {
      await rawRound(wrtc)
      globalThis.gc?.()
      process.send?.({ round })
    }
    process.exit(0)
  }
  const { WebSocket } = await import('ws')
  // STRESS_DIST: another build to run (an A/B against a copy of the build before a change).
  const dist = process.env.STRESS_DIST ? pathToFileURL(`${process.env.STRESS_DIST}/`).href : new URL('../dist/', import.meta.url).href
  const { Mesh } = await import(`${dist}src/index.js`)
  const { createSignalingServer } = await import(`${dist}signaling/index.js`)
  const platform = { RTCPeerConnection: wrtc.RTCPeerConnection, WebSocket }
  const server = createSignalingServer({ port: 0, host: '127.0.0.1', log: () => {} })
  await server.ready
  const url = server.address().url
  for (let round = 1; round <= ROUNDS; round++) {
    const room = `stress-${process.pid}-${round}`
    const meshes = []
    if (scenario.leave === 'forming') {
      for (let i = 0; i < scenario.peers; i++) meshes.push(await Mesh.join({ signaling: url, room, platform }))
      await new Promise((resolve) => setTimeout(resolve, 20 * round))
      await Promise.all(meshes.map((mesh) => mesh.close()))
    } else {
      for (let i = 0; i < scenario.peers; i++) {
        const mesh = await Mesh.join({ signaling: url, room, platform })
        mesh.register('echo', (value) => value)
        meshes.push(mesh)
      }
      await waitFor(() => meshes.every((mesh) => mesh.peers.length === scenario.peers - 1), 15_000)
      const inFlight = scenario.traffic ? startTraffic(meshes) : []
      await new Promise((resolve) => setTimeout(resolve, 50 + 10 * round))
      const lastRound = round === ROUNDS
      log(`round ${round}: formed, leaving (${scenario.leave})`)
      if (scenario.leave === 'none' && lastRound) process.exit(0)
      const watchdog = process.env.STRESS_VERBOSE
        ? setInterval(
            () =>
              log(
                `leaving: ${meshes.map((mesh) => `${mesh.state}/${mesh.peers.length}`).join(' ')}, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`,
              ),
            1000,
          )
        : undefined
      if (scenario.leave === 'serial') for (const mesh of meshes) await mesh.close()
      else await Promise.all(meshes.map((mesh) => mesh.close()))
      clearInterval(watchdog)
      if (scenario.exitAfterLeave && lastRound) process.exit(0)
      await Promise.allSettled(inFlight)
    }
    globalThis.gc?.()
    process.send?.({ round })
    log(`round ${round} done`)
  }
  await server.close()
  process.exit(0)
}

/** Every mesh calls every peer with 32 KiB values, 8 at a time, until its mesh closes. */
function startTraffic(meshes) {
  const value = new Uint8Array(32 * 1024)
  return meshes.flatMap((mesh) =>
    mesh.peers.flatMap((peerId) =>
      Array.from({ length: 8 }, async () => {
        while (mesh.state === 'open') {
          // A call to a peer that left fails at once: yield, or the loop starves the event loop.
          const failed = await mesh.call(peerId, 'echo', value, { timeout: 5_000 }).then(
            () => false,
            () => true,
          )
          if (failed) await new Promise((resolve) => setTimeout(resolve, 10))
        }
      }),
    ),
  )
}

function log(message) {
  if (process.env.STRESS_VERBOSE) console.error(`[stress child ${process.pid}] ${message}`)
}

async function waitFor(condition, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Two bare connections with the link's two negotiated channels; one side floods, then either closes. */
async function rawRound(wrtc) {
  const a = new wrtc.RTCPeerConnection()
  const b = new wrtc.RTCPeerConnection()
  a.onicecandidate = ({ candidate }) => candidate && b.addIceCandidate(candidate).catch(() => {})
  b.onicecandidate = ({ candidate }) => candidate && a.addIceCandidate(candidate).catch(() => {})
  const channels = (pc) => [0, 1].map((id) => pc.createDataChannel(`c${id}`, { negotiated: true, id, ordered: true }))
  const [ca, cb] = [channels(a), channels(b)]
  const opened = Promise.all([...ca, ...cb].map((channel) => new Promise((resolve) => (channel.onopen = resolve))))
  await a.setLocalDescription(await a.createOffer())
  await b.setRemoteDescription(a.localDescription)
  await b.setLocalDescription(await b.createAnswer())
  await a.setRemoteDescription(b.localDescription)
  await Promise.race([opened, new Promise((resolve) => setTimeout(resolve, 5_000))])
  const chunk = new Uint8Array(16 * 1024)
  for (let i = 0; i < 64; i++) {
    for (const channel of ca) {
      try {
        channel.send(chunk)
      } catch {
        break
      }
    }
  }
  // b closes; a keeps asking for bufferedAmount and sending meanwhile (the link's drain poll).
  const closer = Math.random() < 0.5 ? [b, cb] : [a, ca]
  const reader = closer[0] === a ? [b, cb] : [a, ca]
  const stop = Date.now() + 30
  const poll = setInterval(() => {
    for (const channel of reader[1]) {
      try {
        void channel.bufferedAmount
        channel.send(chunk)
      } catch {}
    }
  }, 0)
  for (const channel of closer[1]) channel.close()
  if (Math.random() < 0.5) closer[0].close()
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, stop - Date.now())))
  clearInterval(poll)
  for (const channel of reader[1]) channel.close()
  reader[0].close()
  closer[0].close()
}
