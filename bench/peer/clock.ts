/** Time and waiting, the same in a tab and in Node. */

export const now = (): number => performance.now()
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Rejects with "<what> timed out after <ms> ms" unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** One turn of the event loop without a timer's minimum delay (a MessageChannel task, in browsers and Node); made on first use. */
let yieldChannel: MessageChannel | undefined
const yieldWaiters: Array<() => void> = []
export function yieldToEventLoop(): Promise<void> {
  if (!yieldChannel) {
    yieldChannel = new MessageChannel()
    yieldChannel.port1.onmessage = () => yieldWaiters.shift()?.()
  }
  const channel = yieldChannel
  return new Promise((resolve) => {
    yieldWaiters.push(resolve)
    channel.port2.postMessage(0)
  })
}
