/**
 * Which spawned mailbox's loop the running code belongs to (Factor's `self`), so a `call` from a
 * loop to its own mailbox can fail with SELF_CALL instead of waiting forever for a reply only that
 * loop could give. It follows the code across `await`s where the platform can: Node's
 * AsyncLocalStorage, or the TC39 AsyncContext where a runtime has it. Elsewhere (browsers today)
 * it only sees the synchronous part of the loop, up to its first `await`: a later self-call there
 * waits for the call's timeout instead (docs: README, "Linked processes").
 */

interface ContextStore<T> {
  run<R>(value: T, fn: () => R): R
  get(): T | undefined
}

interface AsyncLocalStorageLike<T> {
  run<R>(store: T, fn: () => R): R
  getStore(): T | undefined
}

interface AsyncContextVariableLike<T> {
  run<R>(value: T, fn: () => R): R
  get(): T | undefined
}

type NodeProcess = { getBuiltinModule?: (id: string) => { AsyncLocalStorage?: new <T>() => AsyncLocalStorageLike<T> } | undefined }
type WithAsyncContext = { AsyncContext?: { Variable: new <T>() => AsyncContextVariableLike<T> } }

function createStore<T>(): ContextStore<T> {
  const nodeProcess = (globalThis as { process?: NodeProcess }).process
  const Storage = nodeProcess?.getBuiltinModule?.('node:async_hooks')?.AsyncLocalStorage
  if (Storage) {
    const storage = new Storage<T>()
    return { run: (value, fn) => storage.run(value, fn), get: () => storage.getStore() }
  }
  const Variable = (globalThis as WithAsyncContext).AsyncContext?.Variable
  if (Variable) {
    const variable = new Variable<T>()
    return { run: (value, fn) => variable.run(value, fn), get: () => variable.get() }
  }
  // Synchronous only: the value is set while `fn` runs up to its first await.
  let current: T | undefined
  return {
    run(value, fn) {
      const previous = current
      current = value
      try {
        return fn()
      } finally {
        current = previous
      }
    },
    get: () => current,
  }
}

const runningLoop = createStore<object>()

/** Runs `fn` as the loop of `owner` (a spawned mailbox): code it runs, awaits included, sees `owner` as `currentLoop()`. */
export function runAsLoopOf<R>(owner: object, fn: () => R): R {
  return runningLoop.run(owner, fn)
}

/** The spawned mailbox whose loop is running this code, if any. */
export function currentLoop(): object | undefined {
  return runningLoop.get()
}
