/**
 * TypeScript → JavaScript for the Node loader, with sucrase (pure JS, no binary; handles enums,
 * namespaces and parameter properties, keeps line numbers). Modern syntax is left as it is
 * (`disableESTransforms`): Node 20 runs ES2022, and class fields keep their define semantics as with
 * `tsc` at target ES2022. Imports used only as types are dropped, as `tsc` does.
 *
 * When the hop transform ran first, its map (original → hopped TS) and sucrase's (hopped TS → JS)
 * are composed, so stack traces under `--enable-source-maps` point into the original file.
 */
import remapping, { type EncodedSourceMap } from '@jridgewell/remapping'
import sucrase from 'sucrase'
import type { HopSourceMap } from './transform.js'

export interface StrippedModule {
  code: string
  /** From the JavaScript back to the original file. */
  map: EncodedSourceMap
}

/** Strips the types of `code` (TypeScript, or TSX when `filename` ends in .tsx). `inputMap` leads `code` back to an earlier source. */
export function stripTypes(code: string, filename: string, inputMap?: HopSourceMap): StrippedModule {
  const { code: js, sourceMap } = sucrase.transform(code, {
    transforms: /\.tsx$/.test(filename) ? ['typescript', 'jsx'] : ['typescript'],
    disableESTransforms: true,
    filePath: filename,
    sourceMapOptions: { compiledFilename: filename },
  })
  const stripped = { ...sourceMap!, sourcesContent: [code] } as EncodedSourceMap
  if (!inputMap) return { code: js, map: stripped }
  const input = JSON.parse(inputMap.toString()) as EncodedSourceMap
  const composed = remapping([stripped, input], () => null)
  return { code: js, map: JSON.parse(composed.toString()) as EncodedSourceMap }
}

/** `code` with its map inline, as Node's `--enable-source-maps` reads it. */
export function withInlineMap(code: string, map: EncodedSourceMap): string {
  return `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`
}
