/**
 * Block ids for hoisted hop bodies. A tab built by Vite and a Node peer running the same source
 * through the loader must derive the same id for the same body, so the id depends only on the
 * source: the file's path relative to its project, the body's line:col in the original text, and
 * a hash of the body's text (so a peer running an edited body refuses it instead of running
 * different code under the same location).
 */
import { existsSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { hashText } from '../scope/registry.js'

/** The runtime accepts ids of 1..300 printable ASCII characters (src/scope/registry.ts). */
const MAX_ID_LENGTH = 300

const rootByDirectory = new Map<string, string>()

/** The nearest directory at or above `file`'s directory that holds a package.json (else the file's directory). */
export function projectRoot(file: string): string {
  const start = dirname(resolve(file))
  const cached = rootByDirectory.get(start)
  if (cached !== undefined) return cached
  let directory = start
  let found = start
  for (;;) {
    if (existsSync(join(directory, 'package.json'))) {
      found = directory
      break
    }
    const parent = dirname(directory)
    if (parent === directory) break
    directory = parent
  }
  rootByDirectory.set(start, found)
  return found
}

/** `file` relative to `root` (default: its project root), with forward slashes. */
export function projectPath(file: string, root?: string): string {
  const absolute = resolve(file)
  const base = root === undefined ? projectRoot(absolute) : isAbsolute(root) ? root : resolve(root)
  return relative(base, absolute).split(sep).join('/')
}

/**
 * `path:line:col#hash`: `line` and `column` are 1-based, in UTF-16 code units like every JS
 * runtime counts them. Line endings are normalised before hashing, so a CRLF checkout derives the
 * same id as an LF one. Characters the runtime does not accept in ids are percent-encoded.
 */
export function hopId(path: string, line: number, column: number, bodyText: string): string {
  const hash = hashText(bodyText.replace(/\r\n?/g, '\n'))
  const safePath = path.replace(/[^\x21-\x7e]|[%#]/gu, encodeCharacter)
  const suffix = `:${line}:${column}#${hash}`
  if (safePath.length + suffix.length <= MAX_ID_LENGTH) return safePath + suffix
  // Keep the end of a very long path (the file name is the useful part) plus a hash of all of it.
  const keep = MAX_ID_LENGTH - suffix.length - 10
  return `~${hashText(safePath).slice(0, 8)}~${safePath.slice(-keep)}${suffix}`
}

function encodeCharacter(char: string): string {
  try {
    return encodeURIComponent(char)
  } catch {
    // A lone surrogate: encodeURIComponent refuses it.
    return `%u${char.charCodeAt(0).toString(16).toUpperCase()}`
  }
}
