/** The record formats readPreferences understands. */
export type PreferenceFormat = "jsonl" | "hh" | "oasst" | "sharegpt" | "arrow"

/**
 * Guesses the format of a JSON record from its keys (Arrow is recognised earlier, by magic
 * bytes). Returns undefined when nothing fits.
 */
export const detectRecordFormat = (value: unknown): Exclude<PreferenceFormat, "arrow"> | undefined => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  const record = value as Record<string, unknown>
  if (Array.isArray(record["conversations"])) return "sharegpt"
  const prompt = record["prompt"]
  if (typeof prompt === "object" && prompt !== null && !Array.isArray(prompt) && "replies" in prompt) return "oasst"
  if ("prompt" in record && "chosen" in record && "rejected" in record) return "jsonl"
  const chosen = record["chosen"]
  if (typeof chosen === "string" && typeof record["rejected"] === "string" && chosen.includes("\n\nAssistant:")) return "hh"
  return undefined
}
