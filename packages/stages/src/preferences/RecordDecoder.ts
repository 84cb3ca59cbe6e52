import type { PreferencePair } from "./PreferencePair.ts"

/**
 * Where a decoded pair's `source` comes from: the reader's `source` option when given, else the
 * record's own `source` field (formats that carry one), else the file's base name.
 */
export type SourceContext = { source: string; recordMayOverride: boolean }

/** Turns one parsed record into pairs (an Open-Assistant tree gives many); throws FieldError when malformed. */
export type RecordDecoder = (value: unknown, context: SourceContext) => PreferencePair[]
