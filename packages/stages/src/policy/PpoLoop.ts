/**
 * One PPO update over a batch of rollouts (InstructGPT / ChatGLM-RLHF recipe):
 * 1. per-token rewards: −β·KL_t at every response token plus the response's score at its last
 *    token (β from the KL controller; ppo/KlEstimators);
 * 2. advantages and value targets by GAE (γ, λ), advantages optionally whitened;
 * 3. `epochs` passes over shuffled minibatches; per minibatch one policy step on
 *    clipped-surrogate loss − entropyCoef·entropy + ptxCoef·PTX loss, and one critic step on the
 *    clipped value loss (policy and critic are separate models with separate AdamW states);
 * 4. the KL controller observes the batch's mean KL per response.
 *
 * PTX (InstructGPT's "PPO-ptx", ChatGLM-RLHF's defence against forgetting SFT abilities): the
 * next-token loss on SFT demonstrations, weighted by ptxCoef (λ_ptx), is added to the PPO policy
 * loss so a single optimiser step descends both; ptxCoef = 0 turns it off.
 *
 * This module loads TensorFlow.js.
 */
import * as AdamW from "@rlhf/nn/AdamW"
import type * as DataParallel from "@rlhf/nn/DataParallel"
import type * as Gpt from "@rlhf/nn/Gpt"
import * as LogProbs from "@rlhf/nn/LogProbs"
import * as Prng from "@rlhf/nn/Prng"
import * as Train from "@rlhf/nn/Train"
import * as Weights from "@rlhf/nn/Weights"
import * as tf from "@tensorflow/tfjs-core"
import type * as arrow from "apache-arrow"
import { gae } from "../ppo/Gae.ts"
import { type KlControllerState, updateKl } from "../ppo/KlController.ts"
import { type KlEstimator, klPenalizedRewards } from "../ppo/KlEstimators.ts"
import { whiten } from "../ppo/Whiten.ts"
import type { Table } from "@rlhf/core"
import type { PolicyOptimizerRow } from "../schemas/PolicyOptimizerRow.ts"
import type { WeightsRow } from "../schemas/WeightsRow.ts"
import { loadModel, loadOptimizer, meanStd, withModels } from "./Models.ts"
import { type PpoRows, ppoSteps } from "./ParallelSteps.ts"
import type { Rollout } from "./RolloutLoop.ts"
import { mixSeed } from "./Seeds.ts"
import { gatherRows, ppoCriticLoss, ppoPolicyLoss } from "./StepLosses.ts"

/** Hyper-parameters of one update. */
export interface PpoOptions {
  readonly epochs: number
  readonly minibatchSize: number
  readonly lr: number
  readonly criticLr: number
  readonly clipEps: number
  readonly valueClip: number
  readonly gamma: number
  readonly lambda: number
  readonly whitenAdvantages: boolean
  readonly entropyCoef: number
  readonly klEstimator: KlEstimator
  readonly maxGradNorm: number
  readonly ptxCoef: number
  readonly ptxBatchSize: number
}

/** The models and optimisers an update changes in place. */
export interface PpoState {
  readonly policy: Gpt.Model
  readonly critic: Gpt.Model
  readonly policyOpt: AdamW.Optimizer
  readonly criticOpt: AdamW.Optimizer
}

/** What an update reports: the next KL-controller state and its metrics by name. */
export interface PpoResult {
  readonly kl: KlControllerState
  readonly stats: Record<string, number>
}

const SHUFFLE_SALT = 1, PTX_SALT = 2

const shuffled = (n: number, rng: Prng.Prng): number[] => {
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

/** What one optimiser step reports: the loss, the gradient norm before clipping, and reported values. */
export interface StepReport {
  readonly loss: number
  readonly gradNorm: number
  /** The values of the tensors handed to `report`, in order. */
  readonly reported: Float32Array[]
}

/**
 * One optimiser step of `model` on `loss` (global-norm clipping, AdamW; also used by DPO). `loss`
 * may hand tensors (metrics) to `report`; their values come back in {@link StepReport.reported}.
 */
export const optimise = (
  model: Gpt.Model,
  opt: AdamW.Optimizer,
  lr: number,
  maxGradNorm: number,
  loss: (report: (x: tf.Tensor) => void) => tf.Scalar
): StepReport => {
  const names = new Map([...model.params].map(([n, v]) => [v.name, n]))
  const reported: tf.Tensor[] = []
  const [value, norm] = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => loss((x) => reported.push(tf.keep(x))), [...model.params.values()])
    const byName = new Map(Object.entries(grads).map(([vn, g]) => [names.get(vn)!, g]))
    const clipped = AdamW.clipByGlobalNorm(byName, maxGradNorm)
    AdamW.apply(opt, model.params, clipped.grads, lr)
    return [value, clipped.norm]
  })
  const out = { loss: value.dataSync()[0]!, gradNorm: norm.dataSync()[0]!, reported: reported.map((x) => x.dataSync() as Float32Array) }
  tf.dispose([...new Set([...reported, value, norm])])
  return out
}

// One minibatch in process: the policy step, then the critic step.
const inProcessSteps = (s: PpoState, rollouts: ReadonlyArray<Rollout>, idx: ReadonlyArray<number>, rows: PpoRows, ptxBatch: Train.LmBatch | undefined, o: PpoOptions) => {
  const batch = LogProbs.sequenceBatch(idx.map((i) => rollouts[i]!.promptIds), idx.map((i) => rollouts[i]!.responseIds), s.policy.config.contextLength)
  const r = batch.responseMask.shape[1]
  const oldLogp = gatherRows(rows.logp, idx, r), adv = gatherRows(rows.advantages, idx, r), ret = gatherRows(rows.returns, idx, r), oldV = gatherRows(rows.oldValues, idx, r)
  try {
    const policyStep = optimise(s.policy, s.policyOpt, o.lr, o.maxGradNorm, (report) =>
      ppoPolicyLoss(s.policy, batch, oldLogp, adv, ptxBatch, o, { tokens: 1, ptx: 1 }, report))
    const criticStep = optimise(s.critic, s.criticOpt, o.criticLr, o.maxGradNorm, (report) =>
      ppoCriticLoss(s.critic, batch, oldV, ret, o.valueClip, 1, report))
    return { policyStep, criticStep }
  } finally {
    tf.dispose([oldLogp, adv, ret, oldV])
    LogProbs.disposeBatch(batch)
  }
}

/**
 * Runs one PPO update in place on `s` and returns the next KL state and the metrics. With a
 * `pool` (workers > 1) each minibatch's steps run data-parallel (ParallelSteps).
 */
export const ppoUpdate = (
  s: PpoState,
  rollouts: ReadonlyArray<Rollout>,
  kl: KlControllerState,
  ptx: ReadonlyArray<Train.SftExample>,
  o: PpoOptions,
  seed: number,
  onProgress?: (done: number, total: number) => void,
  pool?: DataParallel.Pool
): PpoResult => {
  const n = rollouts.length
  if (n === 0) throw new Error("ppo-update got no rollouts; wire a rollout table with at least one row")
  if (o.ptxCoef > 0 && ptx.length === 0) throw new Error("ptxCoef > 0 but the sft table is empty; wire SFT demonstrations or set ptxCoef: 0")
  const width = Math.max(1, ...rollouts.map((r) => r.responseIds.length))
  const padded = (get: (r: Rollout) => ArrayLike<number>) =>
    rollouts.map((r) => {
      const row = new Float32Array(width)
      row.set(get(r))
      return row
    })
  const mask = rollouts.map((r) => new Float32Array(width).fill(1, 0, r.responseIds.length))
  const logp = padded((r) => r.logProbs), refLogp = padded((r) => r.refLogProbs), oldValues = padded((r) => r.values)
  const shaped = klPenalizedRewards(rollouts.map((r) => r.reward), logp, refLogp, mask, kl.beta, o.klEstimator)
  const { advantages: rawAdvantages, returns } = gae(shaped.rewards, oldValues, mask, { gamma: o.gamma, lambda: o.lambda })
  const advantages = o.whitenAdvantages ? whiten(rawAdvantages, mask) : rawAdvantages

  const ctx = s.policy.config.contextLength
  const perEpoch = Math.ceil(n / o.minibatchSize)
  const sums = new Map<string, number>()
  const add = (name: string, v: number) => sums.set(name, (sums.get(name) ?? 0) + v)
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = shuffled(n, Prng.make(mixSeed(seed, SHUFFLE_SALT, epoch)))
    for (let mb = 0; mb < perEpoch; mb++) {
      const idx = order.slice(mb * o.minibatchSize, (mb + 1) * o.minibatchSize)
      const ptxBatch = o.ptxCoef > 0 ? ptxExamples(ptx, o.ptxBatchSize, mixSeed(seed, PTX_SALT, epoch, mb), ctx) : undefined
      const rows = { logp, advantages, returns, oldValues }
      const { policyStep, criticStep } = (() => {
        try {
          return pool === undefined ? inProcessSteps(s, rollouts, idx, rows, ptxBatch, o) : ppoSteps(pool, s, rollouts, idx, rows, ptxBatch, o)
        } finally {
          if (ptxBatch !== undefined) tf.dispose([ptxBatch.ids, ptxBatch.targets, ptxBatch.lossMask, ptxBatch.attentionMask])
        }
      })()
      const [pg, clipFraction, approxKl, entropy, ptxLoss] = policyStep.reported.map((x) => x[0]!)
      const [vl, valueClipFraction] = criticStep.reported.map((x) => x[0]!)
      add("policy_loss", pg!), add("clip_fraction", clipFraction!), add("approx_kl", approxKl!), add("entropy", entropy!)
      add("ptx_loss", ptxLoss!), add("policy_grad_norm", policyStep.gradNorm)
      add("value_loss", vl!), add("value_clip_fraction", valueClipFraction!), add("critic_grad_norm", criticStep.gradNorm)
      onProgress?.(epoch * perEpoch + mb + 1, o.epochs * perEpoch)
    }
  }
  const steps = o.epochs * perEpoch
  const stats: Record<string, number> = {}
  for (const [name, total] of sums) if (name !== "ptx_loss" || o.ptxCoef > 0) stats[name] = total / steps
  const reward = meanStd(rollouts.map((r) => r.reward)), raw = meanStd(rollouts.map((r) => r.rawReward))
  const meanKl = meanStd(shaped.sequenceKl).mean
  const next = updateKl(kl, meanKl, n)
  Object.assign(stats, {
    reward_mean: reward.mean,
    reward_std: reward.std,
    raw_reward_mean: raw.mean,
    raw_reward_std: raw.std,
    baseline_reward_mean: meanStd(rollouts.map((r) => r.baselineReward)).mean,
    kl: meanKl,
    kl_beta: kl.beta,
    kl_beta_next: next.beta,
    response_length: meanStd(rollouts.map((r) => r.responseIds.length)).mean,
    finished: meanStd(rollouts.map((r) => (r.finished ? 1 : 0))).mean,
    value_mean: meanStd(rollouts.flatMap((r) => Array.from(r.values))).mean,
    return_mean: meanStd(returns.flatMap((row, b) => Array.from(row.subarray(0, rollouts[b]!.responseIds.length)))).mean
  })
  return { kl: next, stats }
}

/** A PTX batch: `size` SFT examples drawn with replacement by a seeded generator. */
const ptxExamples = (ptx: ReadonlyArray<Train.SftExample>, size: number, seed: number, ctx: number): Train.LmBatch => {
  const rng = Prng.make(seed)
  return Train.sftBatch(Array.from({ length: size }, () => ptx[rng.int(ptx.length)]!), ctx)
}

/** The tables a PPO step leaves behind: both models' weights and both optimisers' states. */
export interface Checkpoint {
  readonly policy: arrow.Table
  readonly critic: arrow.Table
  readonly policyOptimizer: arrow.Table
  readonly criticOptimizer: arrow.Table
}

/** Copies models and optimiser states out of the backend as tables. */
export const checkpoint = (s: PpoState): Checkpoint => ({
  policy: Weights.weightsToTable(s.policy),
  critic: Weights.weightsToTable(s.critic),
  policyOptimizer: AdamW.stateToTable(s.policyOpt),
  criticOptimizer: AdamW.stateToTable(s.criticOpt)
})

/** The four tables a PPO state is loaded from. */
export interface PpoTables {
  readonly policy: Table.Table<typeof WeightsRow>
  readonly critic: Table.Table<typeof WeightsRow>
  readonly policyOptimizer: Table.Table<typeof PolicyOptimizerRow>
  readonly criticOptimizer: Table.Table<typeof PolicyOptimizerRow>
}

/**
 * Loads policy, critic and their optimisers (fresh ones, with `weightDecay`, from empty tables),
 * runs `body` and frees everything afterwards.
 */
export const withPpoState = <T>(tables: PpoTables, weightDecay: number, body: (s: PpoState) => T): T =>
  withModels([() => loadModel(tables.policy, "policy", "lm"), () => loadModel(tables.critic, "critic", "value")], ([policy, critic]) => {
    const policyOpt = loadOptimizer(tables.policyOptimizer, policy!.params, { weightDecay })
    try {
      const criticOpt = loadOptimizer(tables.criticOptimizer, critic!.params, { weightDecay })
      try {
        return body({ policy: policy!, critic: critic!, policyOpt, criticOpt })
      } finally {
        AdamW.dispose(criticOpt)
      }
    } finally {
      AdamW.dispose(policyOpt)
    }
  })
