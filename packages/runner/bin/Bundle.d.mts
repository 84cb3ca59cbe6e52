/** The launcher's bundles (see Bundle.mjs). */

/** Absolute paths of the CLI bundle and, for a pipeline file, of the worker bundle. */
export interface Bundles {
  readonly cli: string
  readonly worker: string | undefined
}

/** The bundles for a pipeline file (or for the CLI alone), built when missing or stale. */
export declare const bundles: (pipelineFile: string | undefined) => Promise<Bundles>
