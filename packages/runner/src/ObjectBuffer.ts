/**
 * The buffer the store assembles an object in before hashing and writing it, reused across writes.
 *
 * Hashing needs an object's bytes in one piece, and Arrow's writer hands a table's IPC bytes over in
 * pieces. Joining them into a new buffer each time made most of the cost of storing a table: the
 * first touch of freshly allocated memory costs a page fault per 4 KiB page (25–35 µs each on the
 * VMs this runs on, against ~3 µs to copy the page), so a reused buffer writes several times faster.
 * The first object of a process still pays for touching the buffer once.
 *
 * A process keeps at most RETAIN_BYTES for this, and only while it keeps writing: the buffer is
 * dropped once no object has been assembled for IDLE_MS, long enough to span the stages of a worker
 * or runner that writes now and then (touching 64 MiB anew costs ~0.5 s here, holding it a minute
 * costs nothing but memory), short enough that an idle process does not hold the size of its largest
 * output for good. A larger object gets a buffer of its own, dropped after its write;
 * so does one under POOL_MIN_BYTES, whose few pages cost less than the idle timer (the first timer
 * of a process loads Node's timer module, milliseconds a fresh worker would pay for a tiny output).
 */

/** The most this process keeps between writes. */
export const RETAIN_BYTES = 256 * 2 ** 20

/** Objects smaller than this get a buffer of their own. */
export const POOL_MIN_BYTES = 256 * 2 ** 10

/** How long the buffer outlives its last use. */
export const IDLE_MS = 60_000

let pooled: Uint8Array = new Uint8Array(0)

let idle: NodeJS.Timeout | undefined

/** Restarts the countdown to dropping the buffer; it never keeps the process alive. */
const touch = () => {
  clearTimeout(idle)
  idle = setTimeout(() => {
    pooled = new Uint8Array(0)
  }, IDLE_MS).unref()
}

const bufferFor = (byteLength: number): Uint8Array => {
  if (byteLength < POOL_MIN_BYTES) return Buffer.allocUnsafe(byteLength)
  if (byteLength > RETAIN_BYTES) return Buffer.allocUnsafeSlow(byteLength)
  touch()
  if (pooled.byteLength < byteLength) {
    // Doubling (up to the cap) so that a run of slowly growing objects does not reallocate each time.
    pooled = Buffer.allocUnsafeSlow(Math.min(RETAIN_BYTES, Math.max(byteLength, pooled.byteLength * 2)))
  }
  return pooled
}

/**
 * The pieces copied one after another into the reused buffer: a view that is valid only until the
 * next call (the store hashes and writes it at once, synchronously, and keeps no reference).
 */
export const assemble = (chunks: ReadonlyArray<Uint8Array>, byteLength: number): Uint8Array => {
  const target = bufferFor(byteLength)
  let offset = 0
  for (const chunk of chunks) {
    target.set(chunk, offset)
    offset += chunk.byteLength
  }
  if (offset !== byteLength) throw new Error(`assembling an object: the pieces hold ${offset} bytes, expected ${byteLength}`)
  return target.subarray(0, byteLength)
}
