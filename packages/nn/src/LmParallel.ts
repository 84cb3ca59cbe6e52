/**
 * Data-parallel next-token training (pretraining, SFT, PTX): an LmBatch cut into row shards on the
 * parent, the "lm" shard loss the pool's threads run, and the step that the Train loops take instead of
 * Train.trainStep when given a pool.
 *
 * The batch loss is Σ(ce · mask) / max(Σ mask, 1) over the whole batch; a shard's share is its own
 * masked mean weighted by its share of the batch's loss tokens, so the shares add up to the batch
 * loss and the summed shard gradients to the batch gradient.
 */
import * as tf from "@tensorflow/tfjs-core"
import type * as AdamW from "./AdamW.ts"
import * as DataParallel from "./DataParallel.ts"
import type * as Gpt from "./Gpt.ts"
import * as Train from "./Train.ts"

/** Rows of an LmBatch as plain arrays, with the shard's share of the batch's loss tokens. */
export interface LmShard {
  readonly rows: number
  readonly width: number
  readonly ids: Int32Array
  readonly targets: Int32Array
  readonly lossMask: Float32Array
  readonly attentionMask: Float32Array
  /** Loss tokens in this shard / loss tokens in the whole batch (0 when the batch has none). */
  readonly share: number
}

/** Cuts `batch` into at most `parts` shards of contiguous rows (see DataParallel.shardRanges). */
export const lmShards = (batch: Train.LmBatch, parts: number): LmShard[] => {
  const [n, t] = batch.ids.shape
  const ids = batch.ids.dataSync() as Int32Array, targets = batch.targets.dataSync() as Int32Array
  const lossMask = batch.lossMask.dataSync() as Float32Array, attentionMask = batch.attentionMask.dataSync() as Float32Array
  const sum = (a: Float32Array) => a.reduce((s, x) => s + x, 0)
  const total = sum(lossMask)
  return DataParallel.shardRanges(n, parts).map(([a, b]) => {
    const cut = <A extends Int32Array | Float32Array>(x: A) => x.slice(a * t, b * t) as A
    const mask = cut(lossMask)
    return { rows: b - a, width: t, ids: cut(ids), targets: cut(targets), lossMask: mask, attentionMask: cut(attentionMask), share: total > 0 ? sum(mask) / total : 0 }
  })
}

/** The shard as an LmBatch of tensors (for the caller, or its tidy, to free). */
export const lmShardBatch = (s: LmShard): Train.LmBatch => {
  const shape: [number, number] = [s.rows, s.width]
  return {
    ids: tf.tensor2d(s.ids, shape, "int32"),
    targets: tf.tensor2d(s.targets, shape, "int32"),
    lossMask: tf.tensor2d(s.lossMask, shape),
    attentionMask: tf.tensor2d(s.attentionMask, shape)
  }
}

/** The shard's share of the batch LM loss under `model` (differentiable; call inside a tidy). */
export const lmShardShare = (model: Gpt.Model, shard: LmShard): tf.Scalar => {
  const b = lmShardBatch(shard)
  return tf.mul(Train.lmBatchLoss(model, b), shard.share) as tf.Scalar
}

/** The losses of this module: "lm". */
export const tasks: DataParallel.WorkerTasks = {
  losses: { lm: (ctx: DataParallel.LossContext, shard: LmShard) => lmShardShare(ctx.model, shard) }
}

/** This module's tasks, for a pool's `taskModules` (lmStepper needs them). */
export const taskModule: DataParallel.TaskModule = { url: import.meta.url, tasks }

/**
 * The Train loops' step on a pool opened with {@link taskModule}: the batch cut into one shard per
 * thread, replica `name` (default "lm") trained with the "lm" loss.
 */
export const lmStepper = (pool: DataParallel.Pool, name = "lm"): Train.LmStepper => ({
  step: (model: Gpt.Model, opt: AdamW.Optimizer, batch: Train.LmBatch, o: { lr: number; maxGradNorm: number }) => {
    const r = pool.step(name, model, opt, "lm", lmShards(batch, pool.size), o)
    return { loss: r.loss, gradNorm: r.gradNorm }
  }
})
