import { readFileSync } from 'node:fs'
import { createSignalingServer, type SharedRoomsOptions, type SignalingServerOptions } from '../signaling/index.js'
import { untilShutdownSignal } from './shutdown.js'

export async function runSignal(options: {
  port: number
  host: string
  allowedOrigins?: string[]
  roomTopology?: 'full' | 'scamp'
  auth?: SignalingServerOptions['auth']
  attestationKeyFile?: string
  attestationClaims?: string[]
  redis?: SharedRoomsOptions
}): Promise<number> {
  // Listen for signals before announcing anything: whoever reads "listening" may stop us at once.
  const shutdown = untilShutdownSignal()
  const server = createSignalingServer({
    port: options.port,
    host: options.host,
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    ...(options.roomTopology ? { roomTopology: options.roomTopology } : {}),
    ...(options.auth && { auth: options.auth }),
    attestation: {
      ...(options.attestationKeyFile && { key: readAttestationKey(options.attestationKeyFile) }),
      ...(options.attestationClaims && { claims: options.attestationClaims }),
    },
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

/** A private key file: a JWK (JSON) or PEM text. */
function readAttestationKey(file: string): string | JsonWebKey {
  const text = readFileSync(file, 'utf8')
  return text.trimStart().startsWith('{') ? (JSON.parse(text) as JsonWebKey) : text
}
