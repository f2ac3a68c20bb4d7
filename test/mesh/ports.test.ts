/**
 * The port table a peer stack hands its connection: the default decodes every kind the library
 * sends, and a kind left out of a table is refused with BAD_PORT — what a connection can decode
 * depends on the table it was given, not on what happened to be imported.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as broadcast from '../../src/channels/broadcast.js'
import * as bytes from '../../src/channels/bytes.js'
import * as mpsc from '../../src/channels/mpsc.js'
import * as oneshot from '../../src/channels/oneshot.js'
import { joinPortTables } from '../../src/channels/port.js'
import * as watch from '../../src/channels/watch.js'
import { Codec, NOT_A_PORT } from '../../src/codec/index.js'
import { MeshscopeError } from '../../src/errors.js'
import { DEFAULT_PORTS } from '../../src/mesh/ports.js'
import { ListSubscription, ObservableList } from '../../src/objects/collections/list.js'
import { MailboxRef, mailboxPorts } from '../../src/services/mailboxes.js'
import { connectionPair, type ConnectionPair } from '../channels/helpers.js'

const EVERY_KIND = [
  'blob',
  'broadcast.rx',
  'broadcast.tx',
  'bytes.rx',
  'bytes.tx',
  'handle',
  'lazy',
  'mailbox.ref',
  'mpsc.rx',
  'mpsc.tx',
  'observable',
  'oneshot.rx',
  'oneshot.tx',
  'rfn',
  'rwlock',
  'watch.rx',
  'watch.tx',
]

/** Everything but remote functions: no `rfn` kind, no encoder for functions. */
const WITHOUT_RFN = joinPortTables(mpsc.mpscPorts, oneshot.oneshotPorts, watch.watchPorts, broadcast.broadcastPorts, bytes.bytesPorts, mailboxPorts)

describe('port tables', () => {
  let peers: ConnectionPair | undefined
  afterEach(async () => {
    await peers?.dispose()
    peers = undefined
  })

  it('the default table lists every kind, with one encoder (functions)', () => {
    expect(Object.keys(DEFAULT_PORTS.kinds).sort()).toEqual(EVERY_KIND)
    expect(DEFAULT_PORTS.encoders).toHaveLength(1)
  })

  it('a connection with the default table decodes a value holding every kind, live', async () => {
    peers = await connectionPair()
    const [mpscTx, mpscRx] = mpsc.channel<number>()
    const [mpscTx2, mpscRx2] = mpsc.channel<number>()
    const [oneshotTx, oneshotRx] = oneshot.channel<number>()
    const [oneshotTx2, oneshotRx2] = oneshot.channel<number>()
    const [watchTx, watchRx] = watch.channel(1)
    const [watchTx2, watchRx2] = watch.channel(2)
    const [broadcastTx, broadcastRx] = broadcast.channel<number>()
    const [broadcastTx2, broadcastRx2] = broadcast.channel<number>()
    const [bytesTx, bytesRx] = bytes.channel()
    const [bytesTx2, bytesRx2] = bytes.channel()
    const value = {
      mpsc: { tx: mpscTx, rx: mpscRx2 },
      oneshot: { tx: oneshotTx, rx: oneshotRx2 },
      watch: { tx: watchTx, rx: watchRx2 },
      broadcast: { tx: broadcastTx, rx: broadcastRx2 },
      bytes: { tx: bytesTx, rx: bytesRx2 },
      negate: (x: number) => -x,
      inbox: new MailboxRef('c'.repeat(32), 'inbox', undefined),
      log: new ObservableList([1]).subscribe(),
    }
    const arrived = await peers.transfer(value)
    expect(arrived.log).toBeInstanceOf(ListSubscription)
    arrived.log.close()
    expect(arrived.mpsc.tx).toBeInstanceOf(mpsc.Sender)
    expect(arrived.mpsc.rx).toBeInstanceOf(mpsc.Receiver)
    expect(arrived.oneshot.tx).toBeInstanceOf(oneshot.Sender)
    expect(arrived.oneshot.rx).toBeInstanceOf(oneshot.Receiver)
    expect(arrived.watch.tx).toBeInstanceOf(watch.Sender)
    expect(arrived.watch.rx).toBeInstanceOf(watch.Receiver)
    expect(arrived.broadcast.tx).toBeInstanceOf(broadcast.Sender)
    expect(arrived.broadcast.rx).toBeInstanceOf(broadcast.Receiver)
    expect(arrived.bytes.tx).toBeInstanceOf(bytes.ByteSender)
    expect(arrived.bytes.rx).toBeInstanceOf(bytes.ByteReceiver)
    expect(arrived.inbox).toBeInstanceOf(MailboxRef)
    expect(arrived.inbox.name).toBe('inbox')
    expect(typeof arrived.negate).toBe('function')

    // Live: each half still talks to the one left here.
    await arrived.mpsc.tx.send(7)
    expect(await mpscRx.recv()).toBe(7)
    await mpscTx2.send(8)
    expect(await arrived.mpsc.rx.recv()).toBe(8)
    await arrived.oneshot.tx.send(9)
    expect(await oneshotRx.recv()).toBe(9)
    await oneshotTx2.send(10)
    expect(await arrived.oneshot.rx.recv()).toBe(10)
    expect(arrived.watch.rx.borrow()).toBe(2)
    expect(watchRx.borrow()).toBe(1)
    watchTx2.close()
    watchTx.close()
    arrived.watch.tx.close()
    for (const half of [arrived.mpsc.tx, arrived.mpsc.rx, mpscTx2, mpscRx, arrived.broadcast.tx, arrived.broadcast.rx, broadcastTx2, broadcastRx]) half.close()
    await arrived.bytes.tx.close()
    await bytesTx2.close()
    expect(await bytesRx.read()).toBeUndefined()
    expect(await arrived.bytes.rx.read()).toBeUndefined()
  })

  it('a connection whose table has no rfn kind refuses a remote function with BAD_PORT', async () => {
    peers = await connectionPair('memory', { ports: { b: WITHOUT_RFN } })
    const refused = await peers.transfer({ negate: (x: number) => -x }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(MeshscopeError)
    expect((refused as MeshscopeError).code).toBe('BAD_PORT')
    expect((refused as MeshscopeError).message).toContain('unknown port kind "rfn"')
    // The kinds it was given still decode.
    const [tx, rx] = mpsc.channel<number>()
    const arrived = await peers.transfer({ tx })
    await arrived.tx.send(1)
    expect(await rx.recv()).toBe(1)
  })

  it('a side without a function encoder cannot send a function (nothing is sent)', async () => {
    peers = await connectionPair('memory', { ports: { a: WITHOUT_RFN } })
    expect(() => peers!.a.encode({ negate: (x: number) => -x })).toThrow(expect.objectContaining({ code: 'CODEC_UNSUPPORTED_VALUE' }))
  })

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'a port of kind "%s" (a property of Object.prototype) is refused with BAD_PORT',
    async (kind) => {
      peers = await connectionPair()
      // A hostile peer's encoder: any class instance becomes a port of the given kind.
      const hostile = new Codec({ ports: { encodePort: (value) => (value instanceof Date ? NOT_A_PORT : { k: kind, s: 0 }), decodePort: () => null } })
      const bytes = hostile.encode({ port: new (class Fake {})() })
      expect(() => peers!.b.decode(bytes)).toThrow(expect.objectContaining({ code: 'BAD_PORT' }))
    },
  )
})
