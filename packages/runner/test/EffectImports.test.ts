/**
 * The launcher's rewrite of imports from effect's root module into per-module imports.
 */
import * as esbuild from "esbuild"
import { createRequire } from "node:module"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { rewriteEffectImports } from "../bin/EffectImports.mjs"

// effect's root module, as the runner's own sources see it.
const effectIndex = createRequire(import.meta.url).resolve("effect")
const dist = path.dirname(effectIndex)
const rewrite = (source: string) => rewriteEffectImports(source, async () => effectIndex)

describe("rewriteEffectImports", () => {
  it("imports each named module directly, keeps aliases and line breaks, and drops type-only names", async () => {
    const source = [
      `import { Effect, type Scope, Schema as S } from "effect"`,
      `import {`,
      `  Layer,`,
      `  pipe`,
      `} from 'effect'`,
      `const x = 1`
    ].join("\n")
    const out = await rewrite(source)
    expect(out.split("\n")).toStrictEqual([
      `import * as Effect from ${JSON.stringify(path.join(dist, "Effect.js"))}; import * as S from ${JSON.stringify(path.join(dist, "Schema.js"))}`,
      `import * as Layer from ${JSON.stringify(path.join(dist, "Layer.js"))}; import { pipe as pipe } from ${JSON.stringify(path.join(dist, "Function.js"))}`,
      ``,
      ``,
      ``,
      `const x = 1`
    ])
  })

  it("leaves alone what it does not know: other names, type-only imports, subpaths, other packages", async () => {
    const untouched = [
      `import { Effect, NotAnEffectModule } from "effect"`,
      `import type { Schema } from "effect"`,
      `import { Struct } from "effect/Schema"`,
      `import { Effect } from "effect-like"`,
      `export { Effect } from "effect"`
    ].join("\n")
    expect(await rewrite(untouched)).toBe(untouched)
    expect(await rewriteEffectImports(`import { Effect } from "effect"`, async () => undefined)).toBe(`import { Effect } from "effect"`)
  })

  it("lets the bundler drop what a stage does not use: a fraction of the bytes of the root import", async () => {
    const source = `import { Effect, Schema } from "effect"\nglobalThis.x = [Schema.Struct({ a: Schema.String }), Effect.runSync(Effect.succeed(1))]`
    const size = async (contents: string) => {
      const r = await esbuild.build({ stdin: { contents, resolveDir: import.meta.dirname, loader: "ts" }, bundle: true, platform: "node", format: "cjs", write: false, minify: true, logLevel: "silent" })
      return r.outputFiles[0]!.contents.byteLength
    }
    const [before, after] = [await size(source), await size(await rewrite(source))]
    expect(after * 3).toBeLessThan(before)
  })
})
