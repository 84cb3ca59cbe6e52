/**
 * The launcher's bundles. One esbuild pass builds two entries, each with the pipeline file it is
 * given: the CLI (`rlhf.cjs`) and the entry of worker processes (`worker.cjs`, WorkerMain.ts), so
 * that neither the runner nor its workers compile TypeScript module by module through tsx.
 *
 * Bundles are CommonJS, run by LoadBundle.cjs with V8's code cache (Node 20 has none for ES
 * modules): that halves what starting the CLI or a worker costs. Code only some commands or
 * stages need (model code, the terminal progress view) is wrapped to run when first imported;
 * import() is compiled to require(), so external packages must be CommonJS.
 * A pipeline that uses top-level await (which CommonJS cannot express) gets ES module bundles
 * (`.mjs`, lazy chunks, no code cache) instead.
 *
 * A build is cached under packages/runner/node_modules/.cache/rlhf-bundles/<pipeline>/ until any
 * file that went into it changes (mtime or size), the launcher included. Each build has its own
 * directory, so a process still running an older build keeps finding its files.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { rewriteEffectImports } from "./EffectImports.mjs"

const here = path.dirname(fileURLToPath(import.meta.url))
const runnerSrc = path.join(here, "../src")
const cacheRoot = path.join(here, "../node_modules/.cache/rlhf-bundles")
const loader = path.join(here, "LoadBundle.cjs")
/** Files that shape every build besides its inputs: the launcher. */
const builders = [path.join(here, "rlhf.mjs"), fileURLToPath(import.meta.url), loader, path.join(here, "EffectImports.mjs")]

/**
 * Packages that stay outside the bundle: native addons and TensorFlow.js (large, with .wasm and
 * native files it finds relative to itself). Each is resolved at build time to an absolute path, as
 * Node would from the importing file: from the bundle's directory a bare name does not resolve.
 */
const EXTERNAL = /^(?:@tensorflow\/|@node-rs\/|esbuild$)/

const workspacePackages = (() => {
  let cached
  return () => {
    if (cached !== undefined) return cached
    cached = new Map()
    const pkgs = path.join(here, "../..")
    for (const d of fs.readdirSync(pkgs)) {
      try {
        const pj = JSON.parse(fs.readFileSync(path.join(pkgs, d, "package.json"), "utf8"))
        cached.set(pj.name, path.join(pkgs, d))
      } catch {
        // not a package
      }
    }
    return cached
  }
})()

/** `@rlhf/name[/sub]` → its TypeScript source, as the packages' `exports` map it. */
const workspaceSource = (spec) => {
  const [scope, name, ...sub] = spec.split("/")
  const dir = workspacePackages().get(`${scope}/${name}`)
  if (dir === undefined) return undefined
  const file = path.join(dir, "src", sub.length === 0 ? "index.ts" : `${sub.join("/")}.ts`)
  return fs.existsSync(file) ? file : undefined
}

const META_RESOLVE = /import\.meta\.resolve\(\s*(["'])([^"']+)\1\s*\)/g

/**
 * Each workspace module keeps its own identity inside the bundle: import.meta.* point at the source
 * file (a native addon loaded with createRequire(import.meta.url) is found beside its source), a
 * literal import.meta.resolve("pkg") is resolved from the source file at build time, and
 * Stage.make({...}) is told its module, for the code fingerprint. Imports from "effect" are
 * split into one per module, which esbuild can tree-shake (see EffectImports.mjs).
 */
const identityPlugin = {
  name: "rlhf-module-identity",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (a) => {
      if (a.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined
      const dir = path.dirname(a.path)
      let contents = fs.readFileSync(a.path, "utf8")
      for (const [call, , spec] of [...contents.matchAll(META_RESOLVE)]) {
        const r = await b.resolve(spec, { kind: "import-statement", resolveDir: dir, importer: a.path, pluginData: { again: true } })
        if (r.errors.length === 0 && path.isAbsolute(r.path)) contents = contents.replace(call, JSON.stringify(pathToFileURL(r.path).href))
      }
      contents = contents
        .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(a.path).href))
        .replaceAll("import.meta.dirname", JSON.stringify(dir))
        .replaceAll("import.meta.filename", JSON.stringify(a.path))
        .replace(/\bStage\.make\(\{/g, `Stage.make({ module: ${JSON.stringify(a.path)}, `)
      contents = await rewriteEffectImports(contents, async () => {
        const r = await b.resolve("effect", { kind: "import-statement", resolveDir: dir, importer: a.path, pluginData: { again: true } })
        return r.errors.length === 0 && path.isAbsolute(r.path) ? r.path : undefined
      })
      return { contents, loader: "ts", resolveDir: dir }
    })
  }
}

/**
 * Externals by absolute path; `@rlhf/*` packages that the importer does not depend on (optional
 * ones such as @rlhf/kernels, imported by @rlhf/nn inside a try) bundled from the workspace; the
 * two entries from virtual modules.
 */
const resolvePlugin = (entries) => ({
  name: "rlhf-resolve",
  setup(b) {
    const again = (a) => b.resolve(a.path, { kind: a.kind, resolveDir: a.resolveDir, importer: a.importer, pluginData: { again: true } })
    b.onResolve({ filter: EXTERNAL }, async (a) => {
      if (a.pluginData?.again === true) return undefined
      const r = await again(a)
      // Not installed (an optional package imported inside a try): left to fail at run time.
      return { path: r.errors.length === 0 ? r.path : a.path, external: true }
    })
    b.onResolve({ filter: /^@rlhf\// }, async (a) => {
      if (a.pluginData?.again === true) return undefined
      const r = await again(a)
      if (r.errors.length === 0) return { path: r.path, external: r.external }
      const file = workspaceSource(a.path)
      return file === undefined ? { errors: r.errors } : { path: file }
    })
    b.onResolve({ filter: /^rlhf-entry:/ }, (a) => ({ path: a.path.slice("rlhf-entry:".length), namespace: "rlhf-entry" }))
    b.onLoad({ filter: /.*/, namespace: "rlhf-entry" }, (a) => ({ contents: entries[a.path], resolveDir: runnerSrc, loader: "js" }))
  }
})

const entrySources = (pipelineFile) => {
  const cli = JSON.stringify(path.join(runnerSrc, "Cli.ts"))
  if (pipelineFile === undefined) return { rlhf: `export { main } from ${cli}` }
  const file = JSON.stringify(pipelineFile)
  return {
    rlhf: `export { main } from ${cli}\nexport * as pipeline from ${file}`,
    // The pipeline is evaluated before WorkerMain starts taking messages; loadPipeline finds it.
    worker: [
      `import * as pipeline from ${file}`,
      `import ${JSON.stringify(path.join(runnerSrc, "WorkerMain.ts"))}`,
      `globalThis.__rlhfPreloaded = { file: ${file}, module: pipeline }`
    ].join("\n")
  }
}

/** A short name for a path (FNV-1a, two seeds; node:crypto costs milliseconds to load). */
const nameOf = (text) => {
  const fnv = (h) => {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
    return (h >>> 0).toString(16).padStart(8, "0")
  }
  return fnv(0x811c9dc5) + fnv(0x050c5d1f)
}

const stat = (f) => {
  const st = fs.statSync(f)
  return [f, st.mtimeMs, st.size]
}

/** The current build of a cache directory, if it is for this pipeline and every file that went into it is unchanged. */
const freshBuild = (cacheDir, pipelineFile) => {
  try {
    const current = JSON.parse(fs.readFileSync(path.join(cacheDir, "current.json"), "utf8"))
    const same = current.pipelineFile === (pipelineFile ?? null) && current.inputs.every(([f, m, s]) => {
      const st = fs.statSync(f)
      return st.mtimeMs === m && st.size === s
    })
    return same && fs.existsSync(path.join(cacheDir, current.dir, current.format === "esm" ? "rlhf.mjs" : "rlhf.cjs")) ? current : undefined
  } catch {
    return undefined
  }
}

const olderThanAnHour = (file) => {
  try {
    return fs.statSync(file).mtimeMs < Date.now() - 3_600_000
  } catch {
    return false
  }
}

/**
 * Removes what other builds of this pipeline left over an hour ago (a process still running one
 * has its code loaded by then), and the caches of pipeline files that no longer exist (test runs).
 * Runs only after a build.
 */
const prune = (cacheDir, keep) => {
  for (const f of fs.readdirSync(cacheDir)) {
    if (f !== keep && !f.startsWith("current.json") && olderThanAnHour(path.join(cacheDir, f))) fs.rmSync(path.join(cacheDir, f), { recursive: true, force: true })
  }
  for (const d of fs.readdirSync(cacheRoot)) {
    let gone
    try {
      const { pipelineFile } = JSON.parse(fs.readFileSync(path.join(cacheRoot, d, "current.json"), "utf8"))
      // Unreachable too: a directory under another name than the launcher looks for (renamed scheme).
      gone = (pipelineFile !== null && !fs.existsSync(pipelineFile)) || d !== nameOf(pipelineFile ?? "<cli>")
    } catch {
      gone = olderThanAnHour(path.join(cacheRoot, d)) // an older launcher's, or a build that failed
    }
    if (gone) fs.rmSync(path.join(cacheRoot, d), { recursive: true, force: true })
  }
}

const OPTIONS = {
  bundle: true, platform: "node", target: "node20", metafile: true, logLevel: "silent",
  minifyWhitespace: true, minifySyntax: true, legalComments: "none"
}

/** CommonJS: the worker's entry is a stub that runs the bundle through the code-cache loader. */
const buildCjs = async (esbuild, out, entries) => {
  const result = await esbuild.build({
    // import() becomes require(): see LoadBundle.cjs for why.
    ...OPTIONS, format: "cjs", supported: { "dynamic-import": false }, outdir: out, outExtension: { ".js": ".cjs" },
    entryPoints: Object.keys(entries).map((name) => ({ in: `rlhf-entry:${name}`, out: name === "worker" ? "worker-body" : name })),
    plugins: [resolvePlugin(entries), identityPlugin]
  })
  if (entries.worker !== undefined) {
    fs.writeFileSync(path.join(out, "worker.cjs"), `require(${JSON.stringify(loader)}).load(require("node:path").join(__dirname, "worker-body.cjs"), "loaded")\n`)
  }
  return result
}

const buildEsm = (esbuild, out, entries) =>
  esbuild.build({
    ...OPTIONS, format: "esm", splitting: true, outdir: out, outExtension: { ".js": ".mjs" },
    entryPoints: Object.keys(entries).map((name) => ({ in: `rlhf-entry:${name}`, out: name })),
    banner: { js: "import { createRequire as __rlhfCreateRequire } from 'node:module'; const require = __rlhfCreateRequire(import.meta.url);" },
    plugins: [resolvePlugin(entries), identityPlugin]
  })

const build = async (cacheDir, pipelineFile) => {
  const esbuild = await import("esbuild")
  const entries = entrySources(pipelineFile)
  const dir = `b-${Date.now().toString(36)}-${process.pid}`
  const out = path.join(cacheDir, dir)
  let format = "cjs"
  let result
  try {
    result = await buildCjs(esbuild, out, entries)
  } catch (e) {
    if (!(e.errors ?? []).some((m) => /top-level await/i.test(m.text))) throw e
    fs.rmSync(out, { recursive: true, force: true })
    format = "esm"
    result = await buildEsm(esbuild, out, entries)
  }
  const files = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith("rlhf-entry:")).map((f) => path.resolve(f))
  const current = { dir, format, pipelineFile: pipelineFile ?? null, inputs: [...builders, ...files].map(stat) }
  // Concurrent launchers each build into their own directory; the last rename of current.json wins.
  const tmp = path.join(cacheDir, `current.json.${process.pid}`)
  fs.writeFileSync(tmp, JSON.stringify(current))
  fs.renameSync(tmp, path.join(cacheDir, "current.json"))
  prune(cacheDir, dir)
  return current
}

/**
 * The bundles for a pipeline file (or for the CLI alone), built when missing or stale: absolute
 * paths of the CLI bundle and, with a pipeline, of the worker bundle (a script to fork).
 */
export const bundles = async (pipelineFile) => {
  const cacheDir = path.join(cacheRoot, nameOf(pipelineFile ?? "<cli>"))
  fs.mkdirSync(cacheDir, { recursive: true })
  const current = freshBuild(cacheDir, pipelineFile) ?? (await build(cacheDir, pipelineFile))
  const out = path.join(cacheDir, current.dir)
  const ext = current.format === "esm" ? "mjs" : "cjs"
  return { cli: path.join(out, `rlhf.${ext}`), worker: pipelineFile === undefined ? undefined : path.join(out, `worker.${ext}`) }
}

/** Runs the CLI bundle and returns its exports ({ main, pipeline }). */
export const loadCli = async (cli) =>
  cli.endsWith(".cjs") ? createRequire(import.meta.url)(loader).load(cli, "exit") : await import(pathToFileURL(cli).href)
