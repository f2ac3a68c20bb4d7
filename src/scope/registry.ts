/**
 * Hop blocks by id. Code never travels: every peer runs the same codebase, which registers each
 * block at module level (`defineHop`, or the build plugin for the inline form), and a hop request
 * names a block only by its id. A peer that does not know an id refuses it (UNKNOWN_HOP); nothing
 * from the wire is ever evaluated.
 */
import { MeshscopeError } from '../errors.js'
import type { Here } from './here.js'
import type { Principal } from '../identity/principal.js'

/** A block's body: receives the captured values and the context `here`. */
export type HopBody<C, R> = (captures: C, here: Here) => R | Promise<R>

export interface HopOptions {
  /**
   * Who may run this block: a predicate on the caller's verified peer id and its verified principal
   * (undefined in a room without auth, or without a valid attestation); others get HOP_REFUSED. A
   * block without one follows the mesh's `hopPolicy` (`Mesh.join`).
   */
  allow?: (callerId: string, principal: Principal | undefined) => boolean
}

/**
 * Who may run a block that does not say (`Mesh.join({ hopPolicy })`): a predicate on the caller's
 * verified id, the block's id and the caller's verified principal (if any). A throw counts as no.
 */
export type HopPolicy = (callerId: string, blockId: string, principal: Principal | undefined) => boolean

/** Everyone in the room may run every block that does not say otherwise: room membership is the trust boundary. */
export const ALLOW_ROOM_MEMBERS: HopPolicy = () => true

export interface HopBlock<C = unknown, R = unknown> {
  readonly id: string
  readonly body: HopBody<C, R>
  readonly options: HopOptions
}

const blocks = new Map<string, HopBlock<never, unknown>>()
const ID_PATTERN = /^[\x21-\x7e]{1,300}$/

/**
 * Registers a block under a stable id (the build plugin writes these calls: the id is the file's
 * project-relative path, the body's line:col and a hash of its text). Without an id, the id is a hash
 * of the body's source text: stable only while every peer runs the very same source.
 */
export function defineHop<C, R>(id: string, body: HopBody<C, R>, options?: HopOptions): HopBlock<C, R>
export function defineHop<C, R>(body: HopBody<C, R>, options?: HopOptions): HopBlock<C, R>
export function defineHop<C, R>(idOrBody: string | HopBody<C, R>, bodyOrOptions?: HopBody<C, R> | HopOptions, maybeOptions?: HopOptions): HopBlock<C, R> {
  const [id, body, options] =
    typeof idOrBody === 'string'
      ? [idOrBody, bodyOrOptions as HopBody<C, R>, maybeOptions ?? {}]
      : [`source#${hashText(String(idOrBody))}`, idOrBody, (bodyOrOptions as HopOptions | undefined) ?? {}]
  if (!ID_PATTERN.test(id)) throw new MeshscopeError('INVALID_ARGUMENT', 'a hop id is 1..300 printable ASCII characters')
  if (typeof body !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'a hop body must be a function')
  if (options.allow !== undefined && typeof options.allow !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'allow must be a function')
  const existing = blocks.get(id)
  // A module evaluated twice (hot reload, two bundles) re-registers the same id: the newest body wins.
  const block: HopBlock<C, R> = Object.freeze({ id, body, options })
  if (existing && existing.body !== body) blocks.set(id, block as HopBlock<never, unknown>)
  else if (!existing) blocks.set(id, block as HopBlock<never, unknown>)
  return (blocks.get(id) as HopBlock<C, R> | undefined) ?? block
}

export function findHop(id: string): HopBlock<unknown, unknown> | undefined {
  return blocks.get(id) as HopBlock<unknown, unknown> | undefined
}

/** The ids of every registered block, in registration order: for tools and tests (not exported from the package entry). */
export function registeredHopIds(): string[] {
  return [...blocks.keys()]
}

export function isHopBlock(value: unknown): value is HopBlock {
  return typeof value === 'object' && value !== null && typeof (value as HopBlock).id === 'string' && blocks.get((value as HopBlock).id) !== undefined
}

/** FNV-1a, 64 bits as two 32-bit halves, in hex: short, stable, the same in every runtime. */
export function hashText(text: string): string {
  let h1 = 0x811c9dc5
  let h2 = 0x01000193
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ code, 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ code, 0x811c9dc5) >>> 0
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')
}
