/**
 * A real `redis-server` for the tests of signaling servers sharing rooms: started on a free loopback
 * port with persistence off, in a temporary directory, and stopped by its pid. `npm test` installs
 * Debian's redis-server when missing (scripts/ensure-redis.mjs); where none can be found the tests
 * skip and say why (`REDIS_MISSING`). On CI (CI=true) a missing redis-server fails instead.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection as netConnect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// @ts-expect-error plain ESM helper shared with scripts/
import { findRedisServer } from '../../scripts/redis-path.mjs'

export const redisServerPath: string | undefined = (findRedisServer as () => string | undefined)()

/** Why the Redis tests skip, or undefined when they run. */
export const REDIS_MISSING: string | undefined = redisServerPath
  ? undefined
  : "SKIPPED: no redis-server found (install Debian's redis-server: node scripts/ensure-redis.mjs, or set REDIS_SERVER_PATH)"

if (REDIS_MISSING) {
  if (process.env.CI) throw new Error(`${REDIS_MISSING}; CI must run these tests`)
  console.warn(REDIS_MISSING)
}

export interface RedisProcess {
  url: string
  port: number
  pid: number
  /** Stops the server (SIGTERM, by pid) and removes its directory. */
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Starts a redis-server on a free 127.0.0.1 port; resolves once it accepts connections. */
export async function startRedis(): Promise<RedisProcess> {
  if (!redisServerPath) throw new Error(REDIS_MISSING)
  const dir = mkdtempSync(join(tmpdir(), 'meshscope-redis-'))
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const child: ChildProcess = spawn(
      redisServerPath,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const up = await waitForPort(port, exited)
    if (up) {
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        pid: child.pid!,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM')
          await exited
          rmSync(dir, { recursive: true, force: true })
        },
      }
    }
    if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL')
    await exited
    // Another process may have taken the port between the probe and redis-server's bind: try another.
    if (attempt >= 3) throw new Error(`redis-server did not start: ${output.slice(-500)}`)
  }
}

/** Polls until something accepts connections on `port`, or the process exits (false). */
async function waitForPort(port: number, exited: Promise<void>): Promise<boolean> {
  let gone = false
  void exited.then(() => (gone = true))
  for (let tries = 0; tries < 200 && !gone; tries++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port)
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return false
}

const createConnection = (port: number) => netConnect({ port, host: '127.0.0.1' })
