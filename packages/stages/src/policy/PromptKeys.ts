/**
 * How the policy stages name and show a chat prompt: a stable `key` (to join a prompt with its
 * reference-baseline row) and a readable text.
 */
import type { Row } from "@rlhf/core"
import type { PromptRow } from "../schemas/PromptRow.ts"

/** The turns of a prompt column. */
export type Turns = Row<typeof PromptRow>["prompt"]

/** A stable key of a prompt: its turns as JSON (role and content of each). */
export const promptKey = (turns: Turns): string => JSON.stringify(turns.map((t) => [t.role, t.content]))

/** The prompt as text: a single user turn is its content; longer prompts are "role: content" lines. */
export const promptText = (turns: Turns): string =>
  turns.length === 1 && turns[0]!.role === "user" ? turns[0]!.content : turns.map((t) => `${t.role}: ${t.content}`).join("\n")

/** The last user turn's content (what a rule judge reads), or undefined when there is none. */
export const lastUserText = (turns: Turns): string | undefined => {
  for (let i = turns.length - 1; i >= 0; i--) if (turns[i]!.role === "user") return turns[i]!.content
  return undefined
}
