/** The launcher's rewrite of imports from effect's root module (see EffectImports.mjs). */

/**
 * `contents` with its imports from "effect" rewritten into one import per module; `resolveEffect`
 * gives the path of effect's root module as seen from the file (undefined: nothing is rewritten).
 */
export declare const rewriteEffectImports: (contents: string, resolveEffect: () => Promise<string | undefined>) => Promise<string>
