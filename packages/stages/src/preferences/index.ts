// Preference data: reading, cleaning, length balancing, splitting and truncation of pairs.
export * from "./PreferencePair.ts"
export * from "./ParseError.ts"
export * from "./DetectFormat.ts"
export * from "./Readers.ts"
export { preferencesToArrow, preferenceArrowTypes } from "./ArrowFormat.ts"
