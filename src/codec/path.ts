/**
 * Where a value sits inside the value being encoded, for error messages and the port hook:
 * `value.items[3].tx`, `value["a b"]`, `value.m.get("k")`, `value.m.keys()[0]`, `value.s.values()[2]`,
 * `value.err.cause`, `value.tx::payload.id`. The encoder keeps a stack of segments and only formats
 * it when a path is needed, so walking a value costs no string building.
 */

/** A Map entry or Set member; the encoder mutates one per container as it walks it. */
export class CollectionSegment {
  constructor(
    public kind: 'mapKey' | 'mapValue' | 'setMember',
    public index: number,
    public key: unknown = undefined,
  ) {}
}

export const PORT_PAYLOAD_SEGMENT = Symbol('port payload')

/** A number is an array index, a string an object key. */
export type PathSegment = number | string | CollectionSegment | typeof PORT_PAYLOAD_SEGMENT

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const MAX_KEY_CHARS = 40

export function formatPath(segments: readonly PathSegment[]): string {
  let path = 'value'
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`
    else if (typeof segment === 'string') path += IDENTIFIER.test(segment) ? `.${segment}` : `[${quote(segment)}]`
    else if (segment === PORT_PAYLOAD_SEGMENT) path += '::payload'
    else if (segment.kind === 'mapKey') path += `.keys()[${segment.index}]`
    else if (segment.kind === 'setMember') path += `.values()[${segment.index}]`
    else path += mapValueSegment(segment)
  }
  return path
}

function mapValueSegment(segment: CollectionSegment): string {
  const key = segment.key
  switch (typeof key) {
    case 'string':
      return `.get(${quote(key)})`
    case 'number':
    case 'boolean':
    case 'undefined':
      return `.get(${String(key)})`
    case 'bigint':
      return `.get(${key}n)`
    default:
      return key === null ? '.get(null)' : `.values()[${segment.index}]`
  }
}

function quote(key: string): string {
  return JSON.stringify(key.length > MAX_KEY_CHARS ? `${key.slice(0, MAX_KEY_CHARS)}…` : key)
}
