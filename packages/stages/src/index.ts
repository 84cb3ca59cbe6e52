/**
 * @rlhf/stages: the pipeline stages, by name. Only stages and row schemas that load without
 * TensorFlow.js are exported here, so a pipeline file that imports this index stays fast to load;
 * model stages live under their own subpaths.
 */
export { ReadText } from "./io/ReadText.ts"
export { Preferences } from "./data/Preferences.ts"
export { SftData } from "./data/SftData.ts"
export { Prompts } from "./data/Prompts.ts"
export { TextCorpus } from "./data/TextCorpus.ts"
export { TaskSft } from "./data/TaskSft.ts"
export { TaskPreferences } from "./data/TaskPreferences.ts"
export { TaskRlPrompts } from "./data/TaskRlPrompts.ts"
export { TaskEvalPrompts } from "./data/TaskEvalPrompts.ts"
export { TaskCorpus } from "./data/TaskCorpus.ts"
export { Dedupe } from "./data/Dedupe.ts"
export { LengthBalance } from "./data/LengthBalance.ts"
export { Split } from "./data/Split.ts"
export { Truncate } from "./data/Truncate.ts"
export * from "./schemas/index.ts"
