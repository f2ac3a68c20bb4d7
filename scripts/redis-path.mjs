/** Where a `redis-server` binary is: REDIS_SERVER_PATH, or the usual places. Shared by ensure-redis.mjs and the tests. */
import { existsSync } from 'node:fs'

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']

/** The path of a redis-server binary, or undefined when there is none. */
export function findRedisServer() {
  const fromEnv = process.env.REDIS_SERVER_PATH
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined
  return CANDIDATES.find((path) => existsSync(path))
}

findRedisServer.hasAptGet = () => existsSync('/usr/bin/apt-get')
