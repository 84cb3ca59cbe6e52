import type { backend_util, DataId, DataType } from "@tensorflow/tfjs-core"
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu"
import type { NativeAddon } from "./Addon.ts"
import { BufferPool } from "./BufferPool.ts"

/**
 * The cpu backend plus a native addon and a buffer pool. Every data-store
 * entry is counted against the pool (write / move / disposeData) and every
 * read by user code marks its buffer as escaped, which is what makes output
 * buffer reuse safe (see BufferPool).
 */
export class NativeBackend extends MathBackendCPU {
  readonly pool: BufferPool

  constructor(
    readonly addon: NativeAddon,
    maxPoolBytes: number
  ) {
    super()
    this.pool = new BufferPool(maxPoolBytes)
    // The cpu backend's one-time "install tfjs-node" banner does not apply here.
    ;(this as unknown as { firstUse: boolean }).firstUse = false
  }

  override write(values: backend_util.BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = super.write(values, shape, dtype)
    this.pool.retain(values)
    return dataId
  }

  override move(dataId: DataId, values: backend_util.BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    super.move(dataId, values, shape, dtype, refCount)
    this.pool.retain(values)
  }

  override readSync(dataId: DataId): backend_util.BackendValues {
    const entry = this.data.get(dataId)
    if (entry !== undefined) this.pool.escape(entry.values)
    return super.readSync(dataId)
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const entry = this.data.has(dataId) ? this.data.get(dataId) : undefined
    const disposed = super.disposeData(dataId, force)
    if (entry !== undefined && !this.data.has(dataId)) this.pool.release(entry.values)
    return disposed
  }

  override dispose(): void {
    this.pool.clear()
    super.dispose()
  }
}
