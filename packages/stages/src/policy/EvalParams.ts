/** Params shared by eval and eval-rm. */
import { between, bool, int, num } from "./Params.ts"

/** How eval answers and judges. */
export const EvalFields = {
  /** Greedy decoding (else sampled with temperature, topK, topP and the seed; repeat prompts for several samples each). */
  greedy: bool(true),
  /** Softmax temperature of sampled answers (1 = the policy's own distribution, as PPO samples it). */
  temperature: num(0, 1),
  topK: int(0, 0),
  topP: between(0, 1, 1),
  maxNewTokens: int(1, 32),
  /** Prompt budget in tokens; 0 = context − maxNewTokens. */
  maxPromptTokens: int(0, 0),
  forwardBatchSize: int(1, 16),
  /** Scores within eps of each other are a tie. */
  eps: num(0, 1e-6)
}
