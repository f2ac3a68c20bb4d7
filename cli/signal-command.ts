import { createSignalingServer } from '../signaling/index.js'
import { untilShutdownSignal } from './shutdown.js'

export async function runSignal(options: { port: number; host: string }): Promise<number> {
  const server = createSignalingServer({ port: options.port, host: options.host })
  await server.ready
  console.log(`meshscope-signal listening on ${server.address().url}`)
  const signal = await untilShutdownSignal()
  console.log(`meshscope-signal ${signal}: closing`)
  await server.close()
  return 0
}
