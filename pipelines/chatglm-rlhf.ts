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
 *
 * Evaluation protocol: `eval` samples both answers (policy and SFT) at temperature 1 — the
 * policy's own distribution, the one PPO's rollouts sample and optimise, as a chat model
 * deployed with sampling answers — 20 times per held-out prompt (eval-prompts n = 760: the 38
 * held-out task prompts × 20), and the task's ground-truth rule judges each pair. Greedy
 * answers are the models' modes, which PPO from SFT mostly leaves in place (mostly ties);
 * greedy stays a `--set` away:
 *
 *   pnpm rlhf run pipelines/chatglm-rlhf.ts --set eval.greedy=true --set eval-prompts.n=38
 *
 * PPO: 12 iterations × 4 rounds × 32 prompts, with a light PTX term (λ_ptx = 0.05). The SFT
 * demonstrations PTX imitates are half flawed, so PTX also pulls the policy back towards their
 * mistakes: λ_ptx 0.5 forgets less (SFT perplexity ×1.06 instead of ×1.22) but wins less
 * (+15 instead of +20 more wins, seed 0; see BENCHMARKS.md).
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
  ppo: { iterations: 12, stepsPerCheckpoint: 4, batchSize: 32, maxNewTokens: 24, lr: 1e-4, criticLr: 3e-4, epochs: 2, minibatchSize: 16, ptxCoef: 0.05 },
  eval: { greedy: false, temperature: 1, maxNewTokens: 24 },
  "dpo-pairs": { maxNewTokens: 24 },
  dpo: { steps: 150, batchSize: 16, lr: 2e-5, beta: 0.1 }
}

export default Pipeline.make("chatglm-rlhf", (p) =>
  chatglmRlhf(p, {
    rlPrompts: { n: 256 },
    // 20 samples of each of the 38 held-out prompts (sampled eval; see above).
    evalPrompts: { n: 760 },
    preferences: { n: 6000, lengthBias: 0.3 },
    // Clean labels (no length bias, little noise) from another seed: what the RM should have learned.
    heldout: { n: 600, seed: 97, lengthBias: 0, temperature: 0.02 }
  }, defaults))
