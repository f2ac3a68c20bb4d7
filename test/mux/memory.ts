/** Memory in use after a full garbage collection: heap plus ArrayBuffers (vitest runs with --expose-gc). */
export function memoryAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('memoryAfterGc needs node --expose-gc (see vitest.config.ts)')
  gc()
  gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}
