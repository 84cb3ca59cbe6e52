/**
 * The ChatGLM-RLHF practice on the shared real data (../shared/data): English human preference
 * pairs (Anthropic hh-rlhf harmless + Open-Assistant), SFT demonstrations from LLaMA-Factory's
 * identity set plus the chosen answers' style, Open-Assistant and MT-bench prompts.
 *
 * The judge of `eval` is a separate reward model (`judge-rm`) trained on the validation side of
 * the split, which the policy's RM never sees: judging with the RM that PPO optimised would
 * measure reward hacking, not alignment.
 *
 *   pnpm rlhf run pipelines/chatglm-rlhf-real.ts
 */
import * as path from "node:path"
import { Pipeline } from "@rlhf/core"
import { RmTrain } from "@rlhf/stages/model/RmTrain"
import { defaults as taskDefaults } from "./chatglm-rlhf.ts"
import { chatglmRlhf, type Defaults } from "./lib/ChatglmRlhf.ts"

const shared = (file: string) => path.relative(process.cwd(), path.join(import.meta.dirname, "../../shared/data", file))

const defaults: Defaults = {
  ...taskDefaults,
  tokenizer: { vocabSize: 512 },
  pretrain: { dModel: 128, nLayers: 4, nHeads: 4, contextLength: 128, steps: 1500, batchSize: 16, lr: 1e-3, warmupSteps: 100, evalEvery: 300 },
  split: { validationFraction: 0.3, groupBy: "conversation" },
  "length-balance": { bucketEdges: [0, 8, 16, 32, 64, 128, 256, 512] },
  // The task's PPO budget and PTX weight are tuned for the built-in task; real data keeps 6 iterations and λ_ptx = 0.5.
  ppo: { ...taskDefaults["ppo"], iterations: 6, ptxCoef: 0.5, maxNewTokens: 48 },
  eval: { maxNewTokens: 48 },
  "reference-baseline": { maxNewTokens: 48 },
  "prompt-filter": { k: 4, quantile: 0.2, maxNewTokens: 48 },
  "dpo-pairs": { maxNewTokens: 48 }
}

export default Pipeline.make("chatglm-rlhf-real", (p) =>
  chatglmRlhf(p, {
    corpus: { path: shared("pretrain/tinyshakespeare.txt") },
    sftData: { path: shared("sft/identity.json") },
    preferences: { path: [shared("preferences/hh-rlhf-harmless.jsonl.gz"), shared("preferences/oasst-en-trees.jsonl")] },
    rlPrompts: { path: shared("eval/oasst-prompt-lottery-en.jsonl") },
    evalPrompts: { path: shared("eval/mt-bench-en.jsonl") },
    heldout: { path: shared("preferences/dpo-en-demo.json") }
  }, defaults, ({ split, tokenizer, sft }) => ({
    kind: "rm",
    weights: p.add("judge-rm", RmTrain, {
      inputs: { pairs: split.out.validation, tokenizer: tokenizer.out.tokenizer, init: sft.out.weights },
      params: { ...(defaults["rm-train"] ?? {}), seed: 7 } as never
    }).out.weights
  })))
