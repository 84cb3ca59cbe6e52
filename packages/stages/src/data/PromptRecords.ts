/**
 * Decoding prompts from JSON records in the common shapes of evaluation and RL prompt files.
 */
import { expectArray, expectObject, expectString } from "../preferences/Fields.ts"
import { FieldError } from "../preferences/ParseError.ts"
import type { ChatTurn } from "../preferences/PreferencePair.ts"
import { alpacaQuery, decodePromptField } from "./SftRecords.ts"

/**
 * One prompt from a record, as chat turns:
 * - a bare JSON string (Open-Assistant prompt lottery) is one user turn;
 * - `{prompt, …}` (a string or chat turns; other keys such as cvalues' `id_`, `domain_en` are ignored);
 * - MT-bench `{question_id, category, turns: [first, follow-up, …]}`: the first turn, since
 *   the follow-ups refer to the model's own first answer;
 * - Alpaca `{instruction, input?}`.
 * Throws FieldError naming the field when nothing fits.
 */
export const decodePromptRecord = (value: unknown): ChatTurn[] => {
  if (typeof value === "string") return [{ role: "user", content: value }]
  const record = expectObject(value, "(record)")
  if ("prompt" in record) return decodePromptField(record["prompt"], "prompt")
  if ("turns" in record) {
    const turns = expectArray(record["turns"], "turns")
    if (turns.length === 0) throw new FieldError("turns", "expected at least one turn")
    return [{ role: "user", content: expectString(turns[0], "turns[0]") }]
  }
  if ("instruction" in record) return [{ role: "user", content: alpacaQuery(record) }]
  throw new FieldError("(record)", `expected a string, {prompt}, {turns: [...]} or {instruction}; got keys ${Object.keys(record).join(", ") || "(none)"}`)
}
