/**
 * The model benchmark, with the fixed config every framework is compared on: vocab 512, d_model
 * 128, 4 layers, 4 heads, context 128, batch 16, AdamW. Prints training tokens/s, KV-cached
 * generation tokens/s (batch 16, 16 prompt tokens, 64 new tokens), the backend, and the backend's
 * 512×512 matmul GFLOP/s; the last line is one JSON object.
 *
 *   pnpm bench:model                      # the backend the models would pick (native when built)
 *   pnpm bench:model --backend=wasm       # a named backend
 *   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pnpm bench:model   # let OpenBLAS use AVX-512
 */
import * as os from "node:os"
import * as AdamW from "@rlhf/nn/AdamW"
import * as Generate from "@rlhf/nn/Generate"
import * as Gpt from "@rlhf/nn/Gpt"
import { resolveBackend } from "@rlhf/nn/TensorBackend"
import * as Train from "@rlhf/nn/Train"
import * as tf from "@tensorflow/tfjs-core"
import { arg, benchGpt, uniform } from "./BenchArgs.ts"

const config = benchGpt
const B = 16
const T = config.contextLength
const steps = Number(arg("steps") ?? 10)

const r = uniform(7)
const randomIds = (n: number) => Int32Array.from({ length: n }, () => Math.floor(r() * config.vocabSize))

/**
 * Best of 5 reps of 10 products, each disposed unread as inside a training step; one read of the
 * last product per rep waits for backends that run asynchronously. (Reading every product, as
 * `dataSync()` does, hands its buffer to the caller for good, so the native backend's pool cannot
 * recycle it and the next product first-touches a fresh MiB: 3.4 ms of page faults on this VM,
 * which the figure would then mostly measure: 53–65 GFLOP/s instead of 170–180.)
 */
const matmulGflops = (): number => {
  const n = 512
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n])
  const products = (reps: number) => {
    for (let i = 0; i < reps; i++) {
      const c = tf.matMul(a, b)
      if (i === reps - 1) c.dataSync()
      c.dispose()
    }
  }
  products(3)
  let best = 0
  for (let rep = 0; rep < 5; rep++) {
    const reps = 10
    const t0 = performance.now()
    products(reps)
    best = Math.max(best, (2 * n ** 3 * reps) / ((performance.now() - t0) / 1000) / 1e9)
  }
  tf.dispose([a, b])
  return best
}

const trainTokensPerSecond = (model: Gpt.Model): number => {
  const opt = AdamW.make(model.params)
  const step = () => {
    const batch: Train.LmBatch = {
      ids: tf.tensor2d(randomIds(B * T), [B, T], "int32"), targets: tf.tensor2d(randomIds(B * T), [B, T], "int32"),
      lossMask: tf.ones([B, T]), attentionMask: tf.ones([B, T])
    }
    Train.trainStep(model, opt, Train.lmBatchLoss, batch, { lr: 3e-4 })
    tf.dispose([batch.ids, batch.targets, batch.lossMask, batch.attentionMask])
  }
  for (let i = 0; i < 2; i++) step() // warm-up: buffer pools, kernel caches
  const t0 = performance.now()
  for (let i = 0; i < steps; i++) step()
  const perSecond = (B * T * steps) / ((performance.now() - t0) / 1000)
  AdamW.dispose(opt)
  return perSecond
}

const genTokensPerSecond = (model: Gpt.Model): number => {
  const prompts = Array.from({ length: B }, () => Int32Array.from(randomIds(16), (x) => Math.max(x, 5)))
  Generate.generate(model, prompts, { maxNewTokens: 8, seed: 1, stopToken: -1 }) // warm-up
  let best = 0
  for (let rep = 0; rep < 2; rep++) {
    const t0 = performance.now()
    const gen = Generate.generate(model, prompts, { maxNewTokens: 64, seed: 1, stopToken: -1 })
    const produced = gen.tokens.reduce((s, x) => s + x.length, 0)
    best = Math.max(best, produced / ((performance.now() - t0) / 1000))
  }
  return best
}

const forced = arg("backend")
if (forced !== undefined) process.env["RLHF_TF_BACKEND"] = forced
const backend = await resolveBackend({ warn: (m) => console.warn(`warning: ${m}`) })
tf.env().set("PROD", true)
console.log(`machine: ${os.cpus()[0]?.model} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}`)
console.log(`backend: ${backend.name} ${backend.version}; OPENBLAS_CORETYPE=${process.env["OPENBLAS_CORETYPE"] ?? "(unset: AVX-512 kernels allowed)"}`)
const gflops = matmulGflops()
console.log(`matmul 512×512: ${gflops.toFixed(1)} GFLOP/s`)
const model = Gpt.init(config, { seed: 1 })
console.log(`model: ${Gpt.parameterCount(model)} parameters, batch ${B}, context ${T}`)
const train = trainTokensPerSecond(model)
console.log(`train: ${train.toFixed(0)} tokens/s (${steps} steps after 2 warm-up)`)
const gen = genTokensPerSecond(model)
console.log(`generate: ${gen.toFixed(0)} tokens/s (batch ${B}, 16 prompt + 64 new tokens, KV cache)`)
Gpt.dispose(model)
console.log(JSON.stringify({ backend: backend.name, train_tokens_per_s: Math.round(train), gen_tokens_per_s: Math.round(gen), matmul_gflops: Math.round(gflops * 10) / 10 }))
