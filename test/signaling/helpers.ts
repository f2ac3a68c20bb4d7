/**
 * Test helpers for the signaling server: a raw `ws` client that records everything the server sends,
 * and a harness that starts servers and clients on 127.0.0.1 and closes all of them after each test.
 *
 * Every frame the server sends is also run through `parseServerMessage`: a frame the real client would
 * refuse is a protocol violation, and `Harness.dispose` fails the test on any.
 */
import { WebSocket, type ClientOptions } from 'ws'
import { Identity } from '../../src/identity/identity.js'
import {
  PROTOCOL_VERSION,
  helloSigningText,
  parseServerMessage,
  type ChallengeMessage,
  type ServerMessage,
  type WelcomeMessage,
} from '../../src/signaling/protocol.js'
import { createSignalingServer, type SignalingServer } from '../../signaling/server.js'
import type { SignalingServerOptions } from '../../signaling/options.js'

export const DEFAULT_WAIT_MS = 2_000

export type MessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>

export interface CloseInfo {
  code: number
  reason: string
}

/** Rejects with a message naming `what` when `promise` has not settled within `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A raw WebSocket client that records every frame from the server, in order. */
export class RawClient {
  /** Every frame the client's parser accepted, in arrival order. */
  readonly messages: ServerMessage[] = []
  /** The same frames as the server wrote them (JSON.parse only), to check exact shapes. */
  readonly rawMessages: unknown[] = []
  /** Frames `parseServerMessage` refused: the server must never send one. */
  readonly violations: string[] = []
  /** Settles when the socket closes, with the code and reason the client saw. */
  readonly closed: Promise<CloseInfo>
  closeInfo?: CloseInfo
  #listeners = new Set<() => void>()

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.violations.push('<binary frame>')
        return
      }
      const text = data.toString()
      const parsed = parseServerMessage(text)
      if (!parsed.ok) {
        this.violations.push(`${parsed.code}: ${text.slice(0, 200)}`)
      } else {
        this.messages.push(parsed.message)
        this.rawMessages.push(JSON.parse(text))
      }
      for (const listener of [...this.#listeners]) listener()
    })
    // Errors (refused connections, protocol errors) are followed by `close`; tests look at that.
    socket.on('error', () => {})
    this.closed = new Promise((resolve) => {
      socket.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() }
        resolve(this.closeInfo)
        for (const listener of [...this.#listeners]) listener()
      })
    })
  }

  /** Opens a socket to `url` and waits until it is open. */
  static async connect(url: string, options?: ClientOptions): Promise<RawClient> {
    const socket = new WebSocket(url, options)
    const client = new RawClient(socket)
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve())
        socket.once('close', (code) => reject(new Error(`closed with ${code} before opening`)))
      }),
      DEFAULT_WAIT_MS,
      `a connection to ${url}`,
    )
    return client
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN
  }

  /** Sends an object as JSON, or a string as it is, in one text frame. */
  send(message: object | string): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  sendBinary(bytes: Uint8Array): void {
    this.socket.send(bytes, { binary: true })
  }

  ofType<T extends ServerMessage['type']>(type: T, since = 0): Array<MessageOf<T>> {
    return this.messages.slice(since).filter((message): message is MessageOf<T> => message.type === type)
  }

  /** The error codes received so far, in order. */
  errorCodes(since = 0): string[] {
    return this.ofType('error', since).map((message) => message.code)
  }

  /**
   * The first message at index `since` or later that matches `predicate`; waits for one up to `timeoutMs`.
   * Rejects when the socket closes first, or on timeout, listing what did arrive.
   */
  waitFor<T extends ServerMessage>(
    predicate: (message: ServerMessage) => message is T,
    options?: { since?: number; timeoutMs?: number; what?: string },
  ): Promise<T>
  waitFor(predicate: (message: ServerMessage) => boolean, options?: { since?: number; timeoutMs?: number; what?: string }): Promise<ServerMessage>
  waitFor(predicate: (message: ServerMessage) => boolean, options: { since?: number; timeoutMs?: number; what?: string } = {}): Promise<ServerMessage> {
    const since = options.since ?? 0
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS
    const what = options.what ?? 'a matching message'
    return new Promise<ServerMessage>((resolve, reject) => {
      const check = () => {
        const found = this.messages.slice(since).find(predicate)
        if (found) return finish(() => resolve(found))
        if (this.closeInfo) finish(() => reject(new Error(`socket closed (${this.closeInfo!.code}) before ${what}; got ${this.#describe(since)}`)))
      }
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.#describe(since)}`))),
        timeoutMs,
      )
      const finish = (settle: () => void) => {
        clearTimeout(timer)
        this.#listeners.delete(check)
        settle()
      }
      this.#listeners.add(check)
      check()
    })
  }

  /** Waits for the next message of `type` at index `since` or later. */
  waitForType<T extends ServerMessage['type']>(type: T, since = 0, timeoutMs = DEFAULT_WAIT_MS): Promise<MessageOf<T>> {
    return this.waitFor((message): message is MessageOf<T> => message.type === type, { since, timeoutMs, what: `a ${type} message` })
  }

  /** Waits for an error message with `code`. */
  waitForError(code: string, since = 0, timeoutMs = DEFAULT_WAIT_MS): Promise<MessageOf<'error'>> {
    return this.waitFor((message): message is MessageOf<'error'> => message.type === 'error' && message.code === code, {
      since,
      timeoutMs,
      what: `an error ${code}`,
    })
  }

  /** Waits for the socket to close. */
  waitForClose(timeoutMs = DEFAULT_WAIT_MS): Promise<CloseInfo> {
    return withTimeout(this.closed, timeoutMs, 'the socket to close')
  }

  challenge(): Promise<ChallengeMessage> {
    return this.waitForType('challenge')
  }

  /** Sends a hello for `identity` in `room`, signed over this socket's nonce and room unless `overrides` say otherwise. */
  async sendHello(
    identity: Identity,
    room: string,
    overrides: { nonce?: string; signedRoom?: string; version?: number; publicKey?: string; topology?: string; token?: string } = {},
  ): Promise<void> {
    const { nonce } = await this.challenge()
    const signature = await identity.sign(helloSigningText(overrides.nonce ?? nonce, overrides.signedRoom ?? room), 'hello')
    const topology = overrides.topology === undefined ? {} : { topology: overrides.topology }
    this.send({
      type: 'hello',
      version: overrides.version ?? PROTOCOL_VERSION,
      room,
      ...topology,
      publicKey: overrides.publicKey ?? identity.publicKey,
      signature,
      ...(overrides.token !== undefined && { token: overrides.token }),
    })
  }

  /** Joins `room` as `identity`; resolves with the welcome, rejects with the server's error if there is one. */
  async join(identity: Identity, room: string, topology?: 'full' | 'scamp'): Promise<WelcomeMessage> {
    const since = this.messages.length
    await this.sendHello(identity, room, { topology })
    const answer = await this.waitFor((message) => message.type === 'welcome' || message.type === 'error', { since, what: 'a welcome' })
    if (answer.type !== 'welcome') throw new Error(`join refused: ${JSON.stringify(answer)}`)
    return answer
  }

  close(): void {
    if (this.socket.readyState === WebSocket.CLOSED) return
    this.socket.terminate()
  }

  #describe(since: number): string {
    const messages = this.messages.slice(since).map((message) => (message.type === 'error' ? `error ${message.code}` : message.type))
    return messages.length > 0 ? messages.join(', ') : 'nothing'
  }
}

export interface TestServer {
  server: SignalingServer
  url: string
  port: number
  /** Every line the server logged. */
  log: string[]
}

export interface JoinedClient {
  client: RawClient
  identity: Identity
  welcome: WelcomeMessage
}

/** Starts servers and clients for one test and closes all of them in `dispose`. */
export class Harness {
  #servers: SignalingServer[] = []
  #clients: RawClient[] = []
  #closeables: Array<{ close(): void }> = []

  async server(options: SignalingServerOptions = {}): Promise<TestServer> {
    const log: string[] = []
    const server = createSignalingServer({ port: 0, host: '127.0.0.1', log: (line) => log.push(line), ...options })
    this.#servers.push(server)
    await server.ready
    const { url, port } = server.address()
    return { server, url, port, log }
  }

  async connect(url: string, options?: ClientOptions): Promise<RawClient> {
    const client = await RawClient.connect(url, options)
    this.#clients.push(client)
    return client
  }

  /** A new identity, connected and joined to `room`. */
  async joined(url: string, room: string, options?: ClientOptions & { identity?: Identity }): Promise<JoinedClient> {
    const identity = options?.identity ?? (await Identity.generate())
    const client = await this.connect(url, options)
    const welcome = await client.join(identity, room)
    return { client, identity, welcome }
  }

  /** Registers something else (a SignalingClient) to close after the test; returns it. */
  track<T extends { close(): void }>(closeable: T): T {
    this.#closeables.push(closeable)
    return closeable
  }

  /** Closes everything; throws if any client received a frame the client parser refuses. */
  async dispose(): Promise<void> {
    for (const closeable of this.#closeables) closeable.close()
    for (const client of this.#clients) client.close()
    await Promise.all(this.#servers.map((server) => server.close()))
    const violations = this.#clients.flatMap((client) => client.violations)
    this.#servers = []
    this.#clients = []
    this.#closeables = []
    if (violations.length > 0) throw new Error(`the server sent frames the client parser refuses: ${violations.join(' | ')}`)
  }
}
