/**
 * The reference pipeline: the ChatGLM-RLHF practice on the built-in default task (a small
 * synthetic dialogue task the project generates itself, with a ground-truth quality rule and a
 * length bias in its preference labels; see packages/stages/src/task/README.md).
 *
 *   pnpm rlhf run pipelines/chatglm-rlhf.ts
 *   pnpm rlhf show pipelines/chatglm-rlhf.ts eval-summary
 *   pnpm rlhf run pipelines/chatglm-rlhf.ts --set ppo.ptxCoef=0        # PTX off
 *   pnpm rlhf run pipelines/chatglm-rlhf.ts --set ppo.useBaseline=false # reward baseline off
 *   pnpm rlhf run pipelines/chatglm-rlhf.ts --set preferences.path=my-pairs.jsonl --set sft-data.path=my-sft.jsonl …
 *
 * Sizes are chosen so the whole run takes minutes on a 2-core CPU with the native kernels.
 */
import { Pipeline } from "@rlhf/core"
import { chatglmRlhf, type Defaults } from "./lib/ChatglmRlhf.ts"

/** The task's texts are short (prompts ≤ 25 chars, responses ≤ 44): a small model and context suffice. */
export const defaults: Defaults = {
  tokenizer: { vocabSize: 384 },
  pretrain: { dModel: 96, nLayers: 3, nHeads: 4, contextLength: 64, steps: 600, batchSize: 32, lr: 2e-3, warmupSteps: 50, evalEvery: 200 },
  sft: { steps: 600, batchSize: 32, lr: 1e-3, warmupSteps: 30, evalEvery: 200 },
  "rm-train": { steps: 600, batchSize: 32, lr: 5e-4, warmupSteps: 30, scorePrior: 0.01 },
  "reference-baseline": { maxNewTokens: 24 },
  "prompt-filter": { k: 4, quantile: 0.2, maxNewTokens: 24 },
  "ppo-init": { klCoef: 0.1 },
  ppo: { stepsPerCheckpoint: 4, batchSize: 32, maxNewTokens: 24, lr: 1e-4, criticLr: 3e-4, epochs: 2, minibatchSize: 16, ptxCoef: 0.5 },
  eval: { maxNewTokens: 24 },
  "dpo-pairs": { maxNewTokens: 24 },
  dpo: { steps: 150, batchSize: 16, lr: 2e-5, beta: 0.1 }
}

export default Pipeline.make("chatglm-rlhf", (p) =>
  chatglmRlhf(p, {
    rlPrompts: { n: 256 },
    preferences: { n: 6000, lengthBias: 0.3 },
    // Clean labels (no length bias, little noise) from another seed: what the RM should have learned.
    heldout: { n: 600, seed: 97, lengthBias: 0, temperature: 0.02 }
  }, defaults))
