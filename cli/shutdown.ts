/**
 * Resolves with the first SIGINT or SIGTERM, so commands can close what they hold before exiting.
 * Later signals are ignored while the command shuts down (a terminal's Ctrl-C often arrives twice),
 * so the goodbye is not cut short.
 */
export function untilShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) return
      received = true
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
