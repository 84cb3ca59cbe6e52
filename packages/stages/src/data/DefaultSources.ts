/**
 * The reference pipeline's sources: each reads files given by `path`, or generates the built-in
 * default task when `path` is `builtin:task` (the default).
 */
import { fileOrTask } from "./FileOrTask.ts"
import { Preferences } from "./Preferences.ts"
import { Prompts } from "./Prompts.ts"
import { SftData } from "./SftData.ts"
import { TaskCorpus } from "./TaskCorpus.ts"
import { TaskEvalPrompts } from "./TaskEvalPrompts.ts"
import { TaskPreferences } from "./TaskPreferences.ts"
import { TaskRlPrompts } from "./TaskRlPrompts.ts"
import { TaskSft } from "./TaskSft.ts"
import { TextCorpus } from "./TextCorpus.ts"

const module = import.meta.filename

/** Pretraining text: `text-corpus`, or the task's corpus. */
export const CorpusSource = fileOrTask({ name: "corpus-source", module, file: TextCorpus, task: TaskCorpus })
/** SFT demonstrations: `sft-data`, or the task's (partly flawed) demonstrations. */
export const SftSource = fileOrTask({ name: "sft-source", module, file: SftData, task: TaskSft })
/** Preference pairs: `preferences`, or the task's length-biased pairs. */
export const PreferenceSource = fileOrTask({ name: "preference-source", module, file: Preferences, task: TaskPreferences })
/** RL prompts: `prompts`, or the task's RL prompts. */
export const RlPromptSource = fileOrTask({ name: "rl-prompt-source", module, file: Prompts, task: TaskRlPrompts })
/** Evaluation prompts: `prompts`, or the task's held-out prompts. */
export const EvalPromptSource = fileOrTask({ name: "eval-prompt-source", module, file: Prompts, task: TaskEvalPrompts })
