/** One message of a chat prompt. */
export type ChatTurn = { role: "system" | "user" | "assistant"; content: string }

/**
 * One human (or AI) judgement: for `prompt`, `chosen` was preferred over `rejected`.
 * `annotator` and `category` are null where the source does not record them.
 */
export type PreferencePair = {
  prompt: ChatTurn[]
  chosen: string
  rejected: string
  source: string
  annotator: string | null
  category: string | null
}

/** The roles a ChatTurn may carry, for validating input. */
export const chatRoles: ReadonlyArray<ChatTurn["role"]> = ["system", "user", "assistant"]
