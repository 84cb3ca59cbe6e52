/** The built-in synthetic dialogue task: prompts, ground-truth rule, seeded data generators. */
export * from "./Vocabulary.ts"
export * from "./Rng.ts"
export * from "./Requests.ts"
export * from "./Rule.ts"
export * from "./Responses.ts"
export * from "./Generators.ts"
