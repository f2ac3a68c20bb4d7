/**
 * The `meshscope` command:
 *   meshscope signal [--port 8787] [--host 127.0.0.1] [--allowed-origin <origin>]… [--room-topology full|scamp]
 *                    [--jwt-secret <s> | --jwt-jwks <url|file> | --jwt-public-key <pem file>…] [--jwt-issuer <iss>] [--jwt-audience <aud>]
 *                    [--attestation-key <private JWK or PEM file>] [--attestation-claim <claim>]…
 *                    [--redis redis://… [--redis-prefix meshscope:] [--presence-ttl-ms 15000]]
 *   meshscope peer --signaling ws://127.0.0.1:8787 --room demo [--identity ./peer-key.json] [--require ./hops.ts]…
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { JwtAuthOptions } from '../signaling/auth.js'
import { runSignal } from './signal-command.js'

const USAGE = `usage:
  meshscope signal [--port 8787] [--host 127.0.0.1] [--allowed-origin <origin>]… [--room-topology full|scamp]
      run the signaling server. A public one should name the pages that may use it
      (--allowed-origin https://app.example, repeated; other origins are refused with 403);
      --room-topology makes every room full or scamp (by default a room's topology is part of
      its identity: a full and a scamp room of the same name are two rooms)
      Token-authorised rooms: --jwt-secret <secret> (HS256; or the MESHSCOPE_JWT_SECRET
      variable, which ps does not show), --jwt-jwks <https URL or file>, or --jwt-public-key
      <PEM file> (RS256/ES256, repeated); --jwt-issuer and --jwt-audience are then required
      claims. A token's "rooms" claim lists the rooms it may join. --attestation-key <file>
      (a private ES256 JWK or PKCS#8 PEM) signs the principal attestations peers verify:
      give every instance serving the same rooms the same key (by default each process
      generates its own); --attestation-claim names a token claim passed on (repeated)
      --redis redis://host:6379 shares rooms with every instance using the same Redis and
      --redis-prefix; the peers of a crashed instance leave within 4/3 of --presence-ttl-ms
      (with auth, give the instances one --attestation-key)
  meshscope peer --signaling ws://127.0.0.1:8787 --room demo [--identity <file>] [--require <module>]… [--token <jwt>]
      join a room as a headless Node peer; logs joins, leaves and messages. Each --require
      module (.ts or .js) is imported first through the meshscope loader, so the peer serves
      its hop blocks (inline hops are checked and registered as the Vite plugin does); one
      that exports onJoin(mesh) has it called once the peer joined.
`

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === 'signal') {
      const { values } = parseArgs({
        args: rest,
        options: {
          port: { type: 'string' },
          host: { type: 'string' },
          'allowed-origin': { type: 'string', multiple: true },
          'room-topology': { type: 'string' },
          'jwt-secret': { type: 'string' },
          'jwt-jwks': { type: 'string' },
          'jwt-public-key': { type: 'string', multiple: true },
          'jwt-issuer': { type: 'string' },
          'jwt-audience': { type: 'string' },
          'attestation-key': { type: 'string' },
          'attestation-claim': { type: 'string', multiple: true },
          redis: { type: 'string' },
          'redis-prefix': { type: 'string' },
          'presence-ttl-ms': { type: 'string' },
        },
        strict: true,
      })
      const auth = jwtAuthFromArgs(values, process.env.MESHSCOPE_JWT_SECRET)
      return await runSignal({
        ...(auth && { auth }),
        ...(values['attestation-key'] !== undefined && { attestationKeyFile: values['attestation-key'] }),
        ...(values['attestation-claim'] !== undefined && { attestationClaims: values['attestation-claim'] }),
        port: values.port === undefined ? 8787 : parsePort(values.port),
        host: values.host ?? '127.0.0.1',
        allowedOrigins: values['allowed-origin'],
        roomTopology: values['room-topology'] === undefined ? undefined : parseTopology(values['room-topology']),
        redis:
          values.redis === undefined
            ? undefined
            : {
                url: values.redis,
                ...(values['redis-prefix'] === undefined ? {} : { keyPrefix: values['redis-prefix'] }),
                ...(values['presence-ttl-ms'] === undefined ? {} : { presenceTtlMs: Number(values['presence-ttl-ms']) }),
              },
      })
    }
    if (command === 'peer') {
      const { values } = parseArgs({
        args: rest,
        options: {
          signaling: { type: 'string' },
          room: { type: 'string' },
          identity: { type: 'string' },
          require: { type: 'string', multiple: true },
          token: { type: 'string' },
        },
        strict: true,
      })
      // Imported here, not at the top: the peer needs @roamhq/wrtc (an optional peer dependency), the
      // signal server does not. Without wrtc the import throws PLATFORM_MISSING, whose message (the
      // npm command) is printed below, and the command exits 2.
      const { runPeer } = await import('./peer-command.js')
      return await runPeer({
        signaling: values.signaling ?? 'ws://127.0.0.1:8787',
        room: values.room ?? 'demo',
        identityFile: values.identity,
        modules: values.require ?? [],
        ...(values.token !== undefined && { token: values.token }),
      })
    }
  } catch (error) {
    console.error(`meshscope: ${error instanceof Error ? error.message : String(error)}`)
    return 2
  }
  process.stderr.write(command === undefined || command === 'help' || command === '--help' ? USAGE : `meshscope: unknown command "${command}"\n${USAGE}`)
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2
}

/** The JWT verifier the flags describe: exactly one key source, or none (no auth). */
function jwtAuthFromArgs(
  values: { 'jwt-secret'?: string; 'jwt-jwks'?: string; 'jwt-public-key'?: string[]; 'jwt-issuer'?: string; 'jwt-audience'?: string },
  secretFromEnvironment: string | undefined,
): JwtAuthOptions | undefined {
  const secret = values['jwt-secret'] ?? (secretFromEnvironment || undefined)
  const publicKeys = values['jwt-public-key']?.map((file) => readFileSync(file, 'utf8'))
  const sources = [secret, values['jwt-jwks'], publicKeys].filter((source) => source !== undefined)
  if (sources.length === 0) {
    if (values['jwt-issuer'] !== undefined || values['jwt-audience'] !== undefined)
      throw new Error('--jwt-issuer and --jwt-audience need a key source (--jwt-secret, --jwt-jwks or --jwt-public-key)')
    return undefined
  }
  if (sources.length > 1) throw new Error('give one of --jwt-secret, --jwt-jwks and --jwt-public-key')
  return {
    ...(secret !== undefined && { secret }),
    ...(values['jwt-jwks'] !== undefined && { jwks: values['jwt-jwks'] }),
    ...(publicKeys !== undefined && { publicKeys }),
    ...(values['jwt-issuer'] !== undefined && { issuer: values['jwt-issuer'] }),
    ...(values['jwt-audience'] !== undefined && { audience: values['jwt-audience'] }),
  }
}

function parseTopology(text: string): 'full' | 'scamp' {
  if (text !== 'full' && text !== 'scamp') throw new Error(`--room-topology must be full or scamp, got "${text}"`)
  return text
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got "${text}"`)
  return port
}
