/**
 * Text generation from stored tables: a weights table (pretrain, sft, …) and its tokenizer
 * table, for the CLI and for tests. TensorFlow.js is loaded on the first call.
 */
import type { Table } from "@rlhf/core"
import { Effect } from "effect"
import type { TokenizerInputError } from "../data/DataErrors.ts"
import type { TokenizerRow } from "../schemas/TokenizerRow.ts"
import type { WeightsRow } from "../schemas/WeightsRow.ts"
import type { ModelError } from "./ModelError.ts"
import { attempt, loadBackend, readTokenizer } from "./ModelStage.ts"

/** A chat prompt: its turns (roles "user" | "assistant" | "system"). */
export type ChatPrompt = ReadonlyArray<{ readonly role: string; readonly content: string }>

/** Options of {@link generateText}. */
export interface GenerateTextOptions {
  /** A string is one user turn (or, with `raw`, plain text to continue); an array is a whole conversation. */
  readonly prompts: ReadonlyArray<string | ChatPrompt>
  /** Continue plain text instead of answering in the chat template (pretrained models). */
  readonly raw?: boolean
  readonly maxNewTokens?: number
  readonly temperature?: number
  readonly topK?: number
  readonly topP?: number
  readonly greedy?: boolean
  readonly seed?: number
  /** Prefer the GPU backend when one is installed (default false). */
  readonly gpu?: boolean
}

/** One generated continuation. */
export interface GeneratedText {
  /** The prompt as the model saw it (after truncation to fit the context), decoded. */
  readonly prompt: string
  /** The generated text, without the final <|endoftext|>. */
  readonly text: string
  readonly tokens: number
  /** Whether the model ended it with <|endoftext|> (false: it ran out of tokens). */
  readonly finished: boolean
}

/** Result of {@link generateText}. */
export interface Generated {
  readonly outputs: ReadonlyArray<GeneratedText>
  /** The tensor backend used, e.g. "native 0.1.0". */
  readonly backend: string
}

/**
 * Generates a continuation per prompt. Chat prompts are formatted with the shared chat template
 * and cut from the left to leave room for `maxNewTokens` (default 64) within the context.
 */
export const generateText = (
  weights: Table.Table<typeof WeightsRow>,
  tokenizer: Table.Table<typeof TokenizerRow>,
  options: GenerateTextOptions
): Effect.Effect<Generated, ModelError | TokenizerInputError> =>
  Effect.gen(function*() {
    const node = "generate"
    const nn = yield* Effect.promise(async () => ({
      ChatTemplate: await import("@rlhf/nn/ChatTemplate"),
      Generate: await import("@rlhf/nn/Generate"),
      Gpt: await import("@rlhf/nn/Gpt"),
      Tokenizer: await import("@rlhf/nn/Tokenizer"),
      Weights: await import("@rlhf/nn/Weights")
    }))
    const backend = yield* loadBackend(options.gpu ?? false, node)
    const tok = yield* readTokenizer(nn.Tokenizer, tokenizer, node)
    const model = yield* attempt(node, () => nn.Weights.loadWeights(weights.arrow), "Pass the weights table of a pretrain or sft node")
    return yield* attempt(node, () => {
      const ctx = model.config.contextLength
      if (model.config.vocabSize !== tok.vocabSize) {
        throw new Error(`the weights have a vocabulary of ${model.config.vocabSize} tokens but the tokenizer has ${tok.vocabSize}; pass the tokenizer the model was trained with`)
      }
      const maxNew = Math.max(1, options.maxNewTokens ?? 64)
      const budget = Math.max(1, ctx - Math.min(maxNew, Math.floor(ctx / 2)))
      const prompts = options.prompts.map((prompt): Int32Array => {
        if (options.raw === true) {
          const text = typeof prompt === "string" ? prompt : prompt.map((t) => t.content).join("\n")
          const ids = tok.encode(text, { allowSpecial: false })
          // An empty text starts from <|endoftext|>, the token every document follows.
          return ids.length === 0 ? Int32Array.of(nn.Tokenizer.EOT) : ids.slice(Math.max(0, ids.length - budget))
        }
        const turns = typeof prompt === "string" ? [{ role: "user", content: prompt }] : prompt
        for (const t of turns) if (!["user", "assistant", "system"].includes(t.role)) throw new Error(`prompt role ${JSON.stringify(t.role)} is not user, assistant or system`)
        return nn.ChatTemplate.formatPrompt(tok, turns as ReadonlyArray<{ role: "user"; content: string }>, { maxTokens: budget }).ids
      })
      const out = nn.Generate.generate(model, prompts, {
        maxNewTokens: maxNew,
        seed: options.seed ?? 0,
        ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
        ...(options.topK === undefined ? {} : { topK: options.topK }),
        ...(options.topP === undefined ? {} : { topP: options.topP }),
        ...(options.greedy === undefined ? {} : { greedy: options.greedy })
      })
      const outputs = out.tokens.map((ids, i) => ({
        prompt: tok.decode(prompts[i]!),
        text: tok.decode(out.finished[i] ? ids.subarray(0, ids.length - 1) : ids),
        tokens: ids.length,
        finished: out.finished[i]!
      }))
      return { outputs, backend: `${backend.name} ${backend.version}` }
    }, "Check the prompts and the weights/tokenizer tables").pipe(Effect.ensuring(Effect.sync(() => nn.Gpt.dispose(model))))
  })
