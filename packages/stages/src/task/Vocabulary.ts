/** The task's whole vocabulary: short lowercase words so a byte-level BPE learns it fast. */

/** Listable categories and their members (all ≤ 5 letters, disjoint). */
export const CATEGORIES = {
  fruits: ["apple", "pear", "plum", "fig", "kiwi", "lime"],
  colors: ["red", "blue", "green", "pink", "gray", "gold"],
  animals: ["cat", "dog", "cow", "pig", "owl", "fox"],
  tools: ["saw", "axe", "drill", "rake", "hoe", "awl"]
} as const satisfies Record<string, ReadonlyArray<string>>

/** A listable category name, as written in prompts ("list 3 fruits"). */
export type Category = keyof typeof CATEGORIES

/** Category names in a fixed order. */
export const CATEGORY_NAMES: ReadonlyArray<Category> = ["fruits", "colors", "animals", "tools"]

/** Singular nouns for the pretraining corpus ("fig is a fruit."). */
export const CATEGORY_SINGULAR: Record<Category, string> = { fruits: "fruit", colors: "color", animals: "animal", tools: "tool" }

/** Names people are greeted by. */
export const NAMES = ["ann", "bob", "eve", "max", "kim", "sam", "lea", "tom", "joe", "mia"] as const

/** Words the "repeat" requests ask for. */
export const REPEAT_WORDS = ["la", "go", "yes", "hey", "boo", "ha"] as const

/** Verbal fillers: every one in a response costs quality (longer is not better). */
export const FILLERS = ["um", "uh", "well", "like", "so", "okay"] as const

/** Rambling tails appended by the flawed generator: longer, never better. */
export const RAMBLES = ["and so on", "or so", "i think", "you know", "and more"] as const
