/** Typed arrays the pool hands out (float32, int32 and bool tensors). */
export type Pooled = Float32Array | Int32Array | Uint8Array

type Kind = "f32" | "i32" | "u8"

// Buffers of 1024+ elements are allocated in size classes (four per power of
// two, at most 25% slack) and handed out as exact-length views, so shapes that
// grow a little each call (KV cache and attention rows during generation) still
// reuse buffers: on this kind of VM first-touching fresh memory costs ~9 ms per
// MiB in page faults.
const CLASS_MIN = 1024

/** Allocation size for a request of `n` elements. */
export const sizeClass = (n: number): number => {
  if (n < CLASS_MIN) return n
  const quarter = 2 ** Math.floor(Math.log2(n)) / 4
  return Math.ceil(n / quarter) * quarter
}

interface Owner {
  readonly array: Pooled
  readonly kind: Kind
  /** Data-store entries whose values view this buffer (a slice may alias it). */
  live: number
  /** Set once the buffer was handed to code outside the kernels (dataSync & co). */
  escaped: boolean
}

/** Counters for tests and benchmarks. */
export interface PoolStats {
  readonly bytes: number
  readonly buffers: number
  readonly hits: number
  readonly misses: number
  readonly maxBytes: number
}

/**
 * Recycles the output buffers of disposed tensors so a training step does not
 * allocate (and later garbage-collect) hundreds of megabytes of fresh typed
 * arrays.
 *
 * Safety rule: a buffer returns to the free lists only when (a) the pool
 * allocated it, (b) no data-store entry still views it (counted per
 * ArrayBuffer, so zero-copy slices keep their parent alive) and (c) it never
 * escaped through `readSync`/`read` — after `dataSync()` the caller may hold
 * the array forever, so it is never reused.
 */
export class BufferPool {
  private readonly owners = new WeakMap<ArrayBufferLike, Owner>()
  // Map iteration order is insertion order: the oldest lengths are evicted first.
  private readonly free = new Map<string, Pooled[]>()
  private bytes = 0
  private buffers = 0
  private hits = 0
  private misses = 0

  constructor(readonly maxBytes: number) {}

  /** A float32 buffer of `n` elements with arbitrary contents (possibly a view of a larger one). */
  f32(n: number): Float32Array {
    return this.take("f32", n) as Float32Array
  }

  /** An int32 buffer of `n` elements with arbitrary contents. */
  i32(n: number): Int32Array {
    return this.take("i32", n) as Int32Array
  }

  /** A uint8 (bool) buffer of `n` elements with arbitrary contents. */
  u8(n: number): Uint8Array {
    return this.take("u8", n) as Uint8Array
  }

  /** A buffer of the same element type as `like`. */
  like(like: Pooled, n: number): Pooled {
    return like instanceof Float32Array ? this.f32(n) : like instanceof Int32Array ? this.i32(n) : this.u8(n)
  }

  /** A data-store entry now views `values`. */
  retain(values: unknown): void {
    const owner = this.ownerOf(values)
    if (owner !== undefined) owner.live++
  }

  /** `values` left the kernels' control: never recycle its buffer. */
  escape(values: unknown): void {
    const owner = this.ownerOf(values)
    if (owner !== undefined) owner.escaped = true
  }

  /** A data-store entry that viewed `values` was deleted. */
  release(values: unknown): void {
    const owner = this.ownerOf(values)
    if (owner === undefined) return
    owner.live--
    if (owner.live > 0 || owner.escaped) return
    const size = owner.array.byteLength
    if (size > this.maxBytes) return
    this.evictUntil(this.maxBytes - size)
    const key = `${owner.kind}${owner.array.length}`
    let list = this.free.get(key)
    if (list === undefined) {
      list = []
      this.free.set(key, list)
    }
    list.push(owner.array)
    this.bytes += size
    this.buffers++
  }

  /** Current size and hit counters. */
  stats(): PoolStats {
    return { bytes: this.bytes, buffers: this.buffers, hits: this.hits, misses: this.misses, maxBytes: this.maxBytes }
  }

  /** Drops every pooled buffer (they become ordinary garbage). */
  clear(): void {
    this.free.clear()
    this.bytes = 0
    this.buffers = 0
  }

  private take(kind: Kind, n: number): Pooled {
    const capacity = sizeClass(n)
    let key = `${kind}${capacity}`
    let list = this.free.get(key)
    if (list === undefined && capacity >= CLASS_MIN) {
      // Best fit among free buffers of the next classes up to 4x larger (at
      // most eight lookups): first-touching fresh memory costs far more than
      // the unused tail of a recycled buffer.
      for (let c = sizeClass(capacity + 1); c <= 4 * capacity && list === undefined; c = sizeClass(c + 1)) {
        key = `${kind}${c}`
        list = this.free.get(key)
      }
    }
    let array = list?.pop()
    if (array !== undefined) {
      if (list !== undefined && list.length === 0) this.free.delete(key)
      this.bytes -= array.byteLength
      this.buffers--
      this.hits++
    } else {
      this.misses++
      array = kind === "f32" ? new Float32Array(capacity) : kind === "i32" ? new Int32Array(capacity) : new Uint8Array(capacity)
      this.owners.set(array.buffer, { array, kind, live: 0, escaped: false })
    }
    // The buffer may come from a larger class (best fit): always hand out exactly n elements.
    return array.length === n ? array : array.subarray(0, n)
  }

  private ownerOf(values: unknown): Owner | undefined {
    return ArrayBuffer.isView(values) ? this.owners.get(values.buffer) : undefined
  }

  private evictUntil(limit: number): void {
    for (const [key, list] of this.free) {
      if (this.bytes <= limit) return
      while (list.length > 0 && this.bytes > limit) {
        const dropped = list.pop()
        if (dropped !== undefined) {
          this.bytes -= dropped.byteLength
          this.buffers--
        }
      }
      if (list.length === 0) this.free.delete(key)
    }
  }
}
