import { fnv1a } from "./Rng.ts"
import { CATEGORIES, CATEGORY_NAMES, NAMES, REPEAT_WORDS, type Category } from "./Vocabulary.ts"

/**
 * What a prompt asks for, independent of its wording ("list 3 fruits" and
 * "please give me 3 fruits" are the same request).
 */
export type Request =
  | { readonly _tag: "List"; readonly n: number; readonly category: Category }
  | { readonly _tag: "Count"; readonly from: number; readonly to: number }
  | { readonly _tag: "Greet"; readonly style: "hi" | "polite" | "bye"; readonly name: string }
  | { readonly _tag: "Repeat"; readonly word: string; readonly n: number }

/** A stable key per request; the train/eval split is made on these keys. */
export const requestKey = (r: Request): string => {
  switch (r._tag) {
    case "List": return `list:${r.n}:${r.category}`
    case "Count": return `count:${r.from}:${r.to}`
    case "Greet": return `greet:${r.style}:${r.name}`
    case "Repeat": return `repeat:${r.word}:${r.n}`
  }
}

/** Every request of the task (75 in all). */
export const allRequests: ReadonlyArray<Request> = [
  ...[2, 3, 4].flatMap((n) => CATEGORY_NAMES.map((category): Request => ({ _tag: "List", n, category }))),
  // Counts of 3 to 5 numbers starting at 1..5, so they stay within single digits.
  ...[1, 2, 3, 4, 5].flatMap((from) => [3, 4, 5].map((span): Request => ({ _tag: "Count", from, to: from + span - 1 }))),
  ...(["hi", "polite", "bye"] as const).flatMap((style) => NAMES.map((name): Request => ({ _tag: "Greet", style, name }))),
  ...REPEAT_WORDS.flatMap((word) => [2, 3, 4].map((n): Request => ({ _tag: "Repeat", word, n })))
]

/** The wordings of one request, without and with a leading "please ". */
export const phrasings = (r: Request): string[] => {
  const bare = ((): string[] => {
    switch (r._tag) {
      case "List": return [`list ${r.n} ${r.category}`, `name ${r.n} ${r.category}`, `give me ${r.n} ${r.category}`]
      case "Count": return r.from === 1 ? [`count to ${r.to}`, `count from 1 to ${r.to}`] : [`count from ${r.from} to ${r.to}`]
      case "Greet": return [r.style === "hi" ? `say hi to ${r.name}` : r.style === "bye" ? `say bye to ${r.name}` : `greet ${r.name} politely`]
      case "Repeat": return [`repeat ${r.word} ${r.n} times`]
    }
  })()
  return bare.flatMap((p) => [p, `please ${p}`])
}

const isCategory = (word: string): word is Category => Object.hasOwn(CATEGORIES, word)

/** Reads a task prompt back into its request; undefined if it is not one of the task's prompts. */
export const parsePrompt = (prompt: string): Request | undefined => {
  const text = prompt.trim().toLowerCase().replace(/^please /, "")
  let m: RegExpMatchArray | null
  if ((m = text.match(/^(?:list|name|give me) (\d) ([a-z]+)$/)) && isCategory(m[2]!)) {
    return { _tag: "List", n: Number(m[1]), category: m[2] }
  }
  if ((m = text.match(/^count (?:from (\d) )?to (\d)$/))) return { _tag: "Count", from: Number(m[1] ?? 1), to: Number(m[2]) }
  if ((m = text.match(/^say (hi|bye) to ([a-z]+)$/))) return { _tag: "Greet", style: m[1] as "hi" | "bye", name: m[2]! }
  if ((m = text.match(/^greet ([a-z]+) politely$/))) return { _tag: "Greet", style: "polite", name: m[1]! }
  if ((m = text.match(/^repeat ([a-z]+) (\d) times$/))) return { _tag: "Repeat", word: m[1]!, n: Number(m[2]) }
  return undefined
}

/**
 * Held-out requests: within each request kind, the 20% (at least one) with the
 * smallest FNV-1a hash of their key. Splitting per kind keeps every kind in both
 * splits; splitting on requests (not wordings) means no eval request is ever seen
 * in training under another wording.
 */
const evalKeys: ReadonlySet<string> = new Set(
  (["List", "Count", "Greet", "Repeat"] as const).flatMap((tag) => {
    const keys = allRequests.filter((r) => r._tag === tag).map(requestKey)
    const held = Math.max(1, Math.round(keys.length * 0.2))
    return keys.sort((a, b) => fnv1a(a) - fnv1a(b) || (a < b ? -1 : 1)).slice(0, held)
  })
)

/** True if the request is held out for evaluation. */
export const isEvalRequest = (r: Request): boolean => evalKeys.has(requestKey(r))

/** All prompt strings of the training split (SFT, preference pairs, RL, corpus). */
export const trainPromptPool: ReadonlyArray<string> = allRequests.filter((r) => !isEvalRequest(r)).flatMap(phrasings)

/** All prompt strings of the evaluation split. */
export const evalPromptPool: ReadonlyArray<string> = allRequests.filter(isEvalRequest).flatMap(phrasings)
