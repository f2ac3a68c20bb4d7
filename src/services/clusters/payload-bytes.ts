/**
 * The size a service charges a request, broadcast or event against its `requestMemory`: the bytes of
 * its binary data and strings (UTF-16 code units, what a string holds in memory), 8 per number or
 * bigint, 1 per boolean, null or undefined, plus its keys; a port (a channel half, a function, a
 * reference) counts 64. So a 1-byte Uint8Array is 1 byte, as in Iris, and the figure is the same
 * whether the value came over a link or from this peer. The walk stops counting past `cap`: a value
 * that large is over any allowance anyway.
 */
const PORT_BYTES = 64

export function payloadBytes(value: unknown, cap = Number.MAX_SAFE_INTEGER): number {
  let total = 0
  const seen = new Set<object>()
  const stack: unknown[] = [value]
  while (stack.length > 0 && total <= cap) {
    const item = stack.pop()
    if (item === null || item === undefined || typeof item === 'boolean') total += 1
    else if (typeof item === 'number' || typeof item === 'bigint') total += 8
    else if (typeof item === 'string') total += item.length
    else if (ArrayBuffer.isView(item)) total += item.byteLength
    else if (item instanceof ArrayBuffer) total += item.byteLength
    else if (typeof item === 'object') {
      if (seen.has(item)) continue
      seen.add(item)
      if (Array.isArray(item)) stack.push(...item)
      else if (item instanceof Map) for (const [key, entry] of item) stack.push(key, entry)
      else if (item instanceof Set) stack.push(...item)
      else if (Object.getPrototypeOf(item) === Object.prototype || Object.getPrototypeOf(item) === null) {
        for (const [key, entry] of Object.entries(item)) {
          total += key.length
          stack.push(entry)
        }
      } else total += PORT_BYTES
    } else total += PORT_BYTES
  }
  return total
}
