/**
 * @rlhf/runner: runs pipelines against a content-addressed store.
 */
export * as CacheKey from "./CacheKey.ts"
export * as Cli from "./Cli.ts"
export * as CodeFingerprint from "./CodeFingerprint.ts"
export * as Hash from "./Hash.ts"
export { loadPipeline } from "./LoadPipeline.ts"
export * as Plan from "./Plan.ts"
export * from "./Reporter.ts"
export * as Runner from "./Runner.ts"
export * as StoreModule from "./Store.ts"
export { Store, storeDir } from "./Store.ts"
