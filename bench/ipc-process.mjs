/**
 * A benchmark process forked from a built bundle and driven over IPC: `call(cmd, args)` sends
 * `{ id, cmd, args }` and settles with the process's `{ id, result }` or `{ id, error }`; every pending
 * call fails when the process exits. The first message of a process must be `{ ready: true }`.
 * Shared by the link benchmark (drivers.mjs), the formation benchmark and the cluster benchmark.
 */
import { fork } from 'node:child_process'

export class IpcProcess {
  #next = 0
  #pending = new Map()
  /** The process a relayed message goes to (see `relay`). */
  other

  /**
   * `name` names the process in errors; messages carrying a `relay` field (signals between two peers)
   * are passed on to `other` as they are.
   */
  constructor(child, { name, relay }) {
    this.child = child
    child.on('message', (message) => {
      if (relay && message[relay]) return this.other?.child.send({ [relay]: message[relay] })
      if (message.id === undefined) return
      const pending = this.#pending.get(message.id)
      this.#pending.delete(message.id)
      if (message.error !== undefined) pending?.reject(new Error(`${name}: ${message.error}`))
      else pending?.resolve(message.result)
    })
    child.once('exit', (code, signal) => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`${name} exited (${code ?? signal})`))
      this.#pending.clear()
    })
  }

  /** Forks `bundle` with `execArgv` and resolves once it says it is ready. */
  static async start(bundle, { name, relay, execArgv = [] }) {
    const child = fork(bundle, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    await new Promise((resolve, reject) => {
      child.once('message', (message) => (message.ready ? resolve() : reject(new Error('unexpected first message'))))
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)))
    })
    return new this(child, { name, relay })
  }

  call(cmd, args = {}) {
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.child.send({ id, cmd, args })
    })
  }

  /** Asks the process to close and exit; SIGKILL by its pid if it has not within 3 s. */
  async stop() {
    const child = this.child
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    this.call('close').catch(() => {})
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        // exited meanwhile
      }
    }, 3000)
    await exited
    clearTimeout(timer)
  }
}

/** Extra Node flags from the environment variable `name` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
export function nodeArgsFrom(name) {
  return (process.env[name] ?? '').split(' ').filter(Boolean)
}
