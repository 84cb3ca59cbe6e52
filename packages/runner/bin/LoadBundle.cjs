/**
 * Runs a CommonJS bundle of the launcher with V8's code cache: the first process compiles the
 * bundle and leaves its compiled code beside it (`<bundle>.v8-cache`); later processes skip most of
 * the parsing and compiling, which is the larger part of starting the CLI or a worker. (Node 20 has
 * no compile cache for ES modules, hence CommonJS bundles.) A cache V8 rejects (another Node
 * version, other V8 flags) is rewritten; RLHF_V8_CACHE=0 turns the cache off.
 *
 * The bundles contain no import(): Bundle.mjs has esbuild compile each one to a require() (a script
 * compiled from the code cache loses its dynamic-import callback on Node 20, so an import() of
 * TensorFlow.js in a model stage failed in workers started from the cache). External packages must
 * therefore be CommonJS, as TensorFlow.js and the native addons are.
 */
"use strict"
const fs = require("node:fs")
const path = require("node:path")
const vm = require("node:vm")
const { fileURLToPath } = require("node:url")
const { createRequire, wrap } = require("node:module")

/** The bundle's require; it also takes file: URLs (what import(pathToFileURL(f).href) compiled to a require() passes). */
const bundleRequire = (file) => {
  const req = createRequire(file)
  const bundled = (id) => req(typeof id === "string" && id.startsWith("file:") ? fileURLToPath(id) : id)
  return Object.assign(bundled, { resolve: req.resolve, cache: req.cache, main: req.main })
}

/**
 * Runs `file` as a CommonJS module and returns its exports. `saveCache`: "loaded" writes a missing
 * cache as soon as the module has run (workers, which are killed rather than exit), "exit" when the
 * process exits (the CLI: the cache then also holds the code of the command that ran).
 */
exports.load = (file, saveCache) => {
  const cacheFile = `${file}.v8-cache`
  const useCache = process.env.RLHF_V8_CACHE !== "0"
  let cachedData
  if (useCache) {
    try {
      cachedData = fs.readFileSync(cacheFile)
    } catch {
      // first run of this build
    }
  }
  const script = new vm.Script(wrap(fs.readFileSync(file, "utf8")), { filename: file, cachedData })
  if (useCache && (cachedData === undefined || script.cachedDataRejected === true)) {
    const save = () => {
      try {
        const tmp = `${cacheFile}.${process.pid}`
        fs.writeFileSync(tmp, script.createCachedData())
        fs.renameSync(tmp, cacheFile)
      } catch {
        // a read-only install: every start compiles
      }
    }
    if (saveCache === "exit") process.once("exit", save)
    else setImmediate(save)
  }
  const module = { exports: {}, filename: file, id: file, loaded: false }
  script.runInThisContext().call(module.exports, module.exports, bundleRequire(file), module, file, path.dirname(file))
  module.loaded = true
  return module.exports
}
