/** What the build plugin reports about a file: warnings and errors, each at a place in the original source. */

export interface HopDiagnostic {
  /** `file:line:col: text`, ready to print. */
  readonly message: string
  /** The problem alone, without the location. */
  readonly text: string
  /** The file as the tool named it (an absolute path from Vite and the Node loader). */
  readonly file: string
  /** 1-based line in the original source. */
  readonly line: number
  /** 1-based column in the original source, in UTF-16 code units. */
  readonly column: number
}

export function diagnostic(file: string, position: { line: number; column: number }, text: string): HopDiagnostic {
  // Babel's columns are 0-based; editors and compilers print 1-based ones.
  const line = position.line
  const column = position.column + 1
  return { message: `${file}:${line}:${column}: ${text}`, text, file, line, column }
}

/**
 * Thrown by the Node loader when a file's hops do not pass the checks: the module is not loaded.
 * `code` is `HOP_BUILD_FAILED`; `diagnostics` lists every error found in the file.
 */
export class HopBuildError extends Error {
  override name = 'HopBuildError'
  readonly code = 'HOP_BUILD_FAILED'
  constructor(readonly diagnostics: readonly HopDiagnostic[]) {
    super(
      `meshscope: ${diagnostics.length === 1 ? 'a hop does' : `${diagnostics.length} hops do`} not pass the build checks:\n${diagnostics.map((d) => `  ${d.message}`).join('\n')}`,
    )
  }
}
