#!/usr/bin/env node
/**
 * The `rlhf` launcher. It bundles the CLI together with the pipeline file it is given (one
 * esbuild pass, cached until any input file changes) and imports the bundle, so that a cached
 * rerun starts in a fraction of a second instead of compiling TypeScript module by module.
 * Worker processes for model stages still load the sources through tsx (see WorkerPool.ts).
 * RLHF_NO_BUNDLE=1 skips the bundle and runs the sources through tsx.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const cli = path.join(here, "../src/Cli.ts")
process.env.RLHF_TSX_LOADER ??= import.meta.resolve("tsx")

const PIPELINE_COMMANDS = new Set(["run", "plan", "show", "graph", "generate"])
const args = process.argv.slice(2)
const command = args.find((a) => !a.startsWith("-"))
const pipelineArg = PIPELINE_COMMANDS.has(command) ? args.slice(args.indexOf(command) + 1).find((a) => !a.startsWith("-")) : undefined
const pipelineFile = pipelineArg !== undefined && fs.existsSync(pipelineArg) ? path.resolve(pipelineArg) : undefined

const cacheDir = path.join(here, "../node_modules/.cache/rlhf-bundles", createHash("sha1").update(pipelineFile ?? "<cli>").digest("hex").slice(0, 16))
const bundle = path.join(cacheDir, "rlhf.mjs")
const inputsFile = path.join(cacheDir, "inputs.json")

/** A bundle is fresh while every file that went into it has its recorded mtime and size. */
const fresh = () => {
  try {
    const inputs = JSON.parse(fs.readFileSync(inputsFile, "utf8"))
    return inputs.every(([f, m, s]) => {
      const st = fs.statSync(f)
      return st.mtimeMs === m && st.size === s
    }) && fs.existsSync(bundle)
  } catch {
    return false
  }
}

const build = async () => {
  const esbuild = await import("esbuild")
  // Each workspace module keeps its own identity inside the bundle: import.meta.* point at the
  // source file, and Stage.make({...}) is told its module, for the code fingerprint.
  const identity = {
    name: "rlhf-module-identity",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (a) => {
        if (a.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined
        const url = pathToFileURL(a.path).href
        const contents = fs.readFileSync(a.path, "utf8")
          .replaceAll("import.meta.url", JSON.stringify(url))
          .replaceAll("import.meta.dirname", JSON.stringify(path.dirname(a.path)))
          .replaceAll("import.meta.filename", JSON.stringify(a.path))
          .replace(/\bStage\.make\(\{/g, `Stage.make({ module: ${JSON.stringify(a.path)}, `)
        return { contents, loader: "ts", resolveDir: path.dirname(a.path) }
      })
    }
  }
  const entry = [`import { main } from ${JSON.stringify(cli)}`, ...(pipelineFile === undefined ? [] : [`export * as pipeline from ${JSON.stringify(pipelineFile)}`]), "export { main }"].join("\n")
  const out = path.join(cacheDir, `build-${process.pid}`)
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir: process.cwd(), sourcefile: "rlhf-entry.ts", loader: "ts" },
    bundle: true, platform: "node", format: "esm", target: "node20", splitting: true, outdir: out,
    entryNames: "rlhf", outExtension: { ".js": ".mjs" }, metafile: true, logLevel: "error", minifyWhitespace: true, minifySyntax: true, legalComments: "none",
    // Model code (TensorFlow.js, the native addon, @rlhf/nn) runs only in worker processes, under tsx.
    external: ["@node-rs/xxhash", "@tensorflow/*", "@rlhf/kernels", "esbuild"],
    banner: { js: "import { createRequire as __rlhfCreateRequire } from 'node:module'; const require = __rlhfCreateRequire(import.meta.url);" },
    plugins: [identity]
  })
  // The launcher is an input too: a change to how bundles are built rebuilds them.
  const inputs = [fileURLToPath(import.meta.url), ...Object.keys(result.metafile.inputs).filter((f) => !f.startsWith("<stdin>") && f !== "rlhf-entry.ts")].map((f) => {
    const abs = path.resolve(process.cwd(), f)
    const st = fs.statSync(abs)
    return [abs, st.mtimeMs, st.size]
  })
  // Swap in the new build atomically: concurrent launchers each build and the last rename wins.
  const built = new Set(fs.readdirSync(out))
  for (const f of fs.readdirSync(cacheDir)) if (f.endsWith(".mjs") && !built.has(f)) fs.rmSync(path.join(cacheDir, f), { force: true })
  for (const f of built) fs.renameSync(path.join(out, f), path.join(cacheDir, f))
  fs.rmSync(out, { recursive: true, force: true })
  fs.writeFileSync(`${inputsFile}.${process.pid}`, JSON.stringify(inputs))
  fs.renameSync(`${inputsFile}.${process.pid}`, inputsFile)
}

// `generate` loads TensorFlow.js, which stays outside the bundle: run it from the sources.
if (process.env.RLHF_NO_BUNDLE === "1" || command === "generate") {
  await import(process.env.RLHF_TSX_LOADER) // what `node --import tsx` does
  const { main } = await import(pathToFileURL(cli).href)
  await main(process.argv)
} else {
  fs.mkdirSync(cacheDir, { recursive: true })
  if (!fresh()) await build()
  const mod = await import(pathToFileURL(bundle).href)
  if (pipelineFile !== undefined) globalThis.__rlhfPreloaded = { file: pipelineFile, module: mod.pipeline }
  await mod.main(process.argv)
}
