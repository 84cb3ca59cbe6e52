import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * One message of a chat prompt as stored in tables. `role` is a plain string column
 * ("system" | "user" | "assistant" by convention; readers check it) so that tables written by
 * other tools still load.
 */
export const ChatTurnRow = Schema.Struct({ role: Columns.Utf8, content: Columns.Utf8 })

/** A chat prompt column: the turns of a conversation up to the response. */
export const ChatPrompt = Columns.List(ChatTurnRow)
