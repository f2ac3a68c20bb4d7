import { createSignalingServer, type SharedRoomsOptions } from '../signaling/index.js'
import { untilShutdownSignal } from './shutdown.js'

export async function runSignal(options: {
  port: number
  host: string
  allowedOrigins?: string[]
  roomTopology?: 'full' | 'scamp'
  redis?: SharedRoomsOptions
}): Promise<number> {
  // Listen for signals before announcing anything: whoever reads "listening" may stop us at once.
  const shutdown = untilShutdownSignal()
  const server = createSignalingServer({
    port: options.port,
    host: options.host,
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    ...(options.roomTopology ? { roomTopology: options.roomTopology } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
  })
  // Not ready (port taken, Redis out of reach): close what did start, so the process can exit.
  await server.ready.catch(async (error: unknown) => {
    await server.close()
    throw error
  })
  console.log(`meshscope-signal listening on ${server.address().url}`)
  const signal = await shutdown
  console.log(`meshscope-signal ${signal}: closing`)
  await server.close()
  return 0
}
