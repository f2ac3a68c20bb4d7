/** Tunnels over real meshes, with Iris's tests: ordered echo over many pairs, no member, 16 MiB, a send timing out mid-message, close. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Mesh } from '../../../src/mesh/mesh.js'
import type { Tunnel } from '../../../src/services/clusters/tunnel.js'
import { delay, until } from '../../until.js'
import { closeRoom, openRoom, type Room } from './helpers.js'

let room: Room | undefined
let meshes: Mesh[]
beforeAll(async () => {
  room = await openRoom(3)
  meshes = room.meshes
})
afterAll(() => closeRoom(room))

/** A member's tunnel handler that echoes every message until the tunnel closes. */
const echo = {
  tunnel: async (tunnel: Tunnel) => {
    for await (const message of tunnel) await tunnel.send(message)
  },
}

describe('mesh.tunnel', () => {
  test('many pairs × ordered messages: every tunnel echoes its messages in order', async () => {
    const services = await Promise.all(meshes.slice(1).map((mesh) => mesh.serve('tunnel-echo', echo)))
    const tunnels = await Promise.all(meshes.flatMap((mesh) => [0, 1, 2, 3].map(() => mesh.tunnel('tunnel-echo', { timeout: 2_000 }))))
    await Promise.all(
      tunnels.map(async (tunnel, index) => {
        const sent = Array.from({ length: 100 }, (_, message) => `${index}:${message}`)
        const sending = Promise.all(sent.map((message) => tunnel.send(message, { timeout: 5_000 })))
        const received: unknown[] = []
        for (let count = 0; count < sent.length; count++) received.push(await tunnel.receive({ timeout: 5_000 }))
        await sending
        expect(received).toEqual(sent)
        tunnel.close()
      }),
    )
    for (const service of services) service.close()
  })

  test('no member within the timeout fails with NO_MEMBER; a timeout under 1 ms is refused', async () => {
    const [a] = meshes as [Mesh]
    await expect(a.tunnel('no-tunnel-member', { timeout: 30 })).rejects.toMatchObject({ code: 'NO_MEMBER' })
    await expect(a.tunnel('no-tunnel-member', { timeout: 0.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  test('a message at the codec limit (16 MiB encoded) echoes intact', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    const service = await b.serve('tunnel-big', echo)
    const tunnel = await a.tunnel('tunnel-big')
    const big = new Uint8Array(16 * 1024 * 1024 - 16)
    for (let index = 0; index < big.length; index += 4099) big[index] = index % 251
    await tunnel.send(big, { timeout: 10_000 })
    const back = (await tunnel.receive({ timeout: 10_000 })) as Uint8Array
    expect(back.byteLength).toBe(big.byteLength)
    expect(Buffer.compare(Buffer.from(back), Buffer.from(big))).toBe(0)
    tunnel.close()
    service.close()
  })

  test('a send that times out mid-message leaves no partial message at the other end, and small messages still echo after it', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    const sizes: number[] = []
    let startReading!: () => void
    const reading = new Promise<void>((resolve) => (startReading = resolve))
    const service = await b.serve('tunnel-timeout', {
      tunnel: async (tunnel: Tunnel) => {
        await reading // a slow reader: the writer fills the channel and the link's credit
        for await (const message of tunnel) {
          sizes.push((message as Uint8Array).byteLength)
          await tunnel.send(message)
        }
      },
    })
    const tunnel = await a.tunnel('tunnel-timeout')
    const big = new Uint8Array(2 * 1024 * 1024)
    let sentBig = 0
    for (; sentBig < 64; sentBig++) {
      const outcome = await tunnel.send(big, { timeout: 50 }).catch((error) => error)
      if (outcome !== undefined) {
        expect(outcome).toMatchObject({ code: 'TIMEOUT' })
        break
      }
    }
    expect(sentBig).toBeLessThan(64) // a send did time out, part of its message on its way
    startReading()
    await tunnel.send(new Uint8Array(3), { timeout: 5_000 })
    // Whatever arrives is whole: the big messages (the timed-out one may still arrive, whole), then the small one.
    for (;;) {
      const message = (await tunnel.receive({ timeout: 5_000 })) as Uint8Array
      if (message.byteLength === 3) break
      expect(message.byteLength).toBe(big.byteLength)
    }
    expect(sizes.every((size) => size === 3 || size === big.byteLength)).toBe(true)
    expect(sizes.length).toBeGreaterThanOrEqual(sentBig + 1)
    tunnel.close()
    service.close()
  })

  test('close() makes a pending receive and a pending send fail with SERVICE_CLOSED, here and at the other end', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    let memberSide: Tunnel | undefined
    const service = await b.serve('tunnel-close', { tunnel: (tunnel: Tunnel) => void (memberSide = tunnel) })
    const tunnel = await a.tunnel('tunnel-close')
    const receiving = tunnel.receive()
    // The member never reads: sends pile up until the channel and the link's credit are full.
    const sends = Array.from({ length: 64 }, () => tunnel.send(new Uint8Array(64 * 1024)))
    const settled = Promise.allSettled(sends)
    await until('the member side', () => memberSide !== undefined)
    await delay(50)
    const memberReceiving = memberSide!.receive({ timeout: 5_000 })
    tunnel.close()
    await expect(receiving).rejects.toMatchObject({ code: 'SERVICE_CLOSED' })
    const results = await settled
    expect(results.some((result) => result.status === 'rejected' && result.reason.code === 'SERVICE_CLOSED')).toBe(true)
    await expect(tunnel.send(1)).rejects.toMatchObject({ code: 'SERVICE_CLOSED' })
    // The member had messages queued: it reads them, then learns that the tunnel closed.
    await memberReceiving
    await expect(
      (async () => {
        for (;;) await memberSide!.receive({ timeout: 5_000 })
      })(),
    ).rejects.toMatchObject({ code: 'SERVICE_CLOSED' })
    memberSide!.close()
    service.close()
  })
})
