/**
 * Runs a CommonJS bundle of the launcher with V8's code cache: the first process compiles the
 * bundle and leaves its compiled code beside it (`<bundle>.v8-cache`); later processes skip most of
 * the parsing and compiling, which is the larger part of starting the CLI or a worker. (Node 20 has
 * no compile cache for ES modules, hence CommonJS bundles.) A cache V8 rejects (another Node
 * version, other V8 flags) is rewritten.
 */
"use strict"
const fs = require("node:fs")
const path = require("node:path")
const vm = require("node:vm")
const { createRequire, wrap } = require("node:module")

/**
 * Runs `file` as a CommonJS module and returns its exports. `saveCache`: "loaded" writes a missing
 * cache as soon as the module has run (workers, which are killed rather than exit), "exit" when the
 * process exits (the CLI: the cache then also holds the code of the command that ran).
 */
exports.load = (file, saveCache) => {
  const cacheFile = `${file}.v8-cache`
  // A script compiled from V8's code cache loses its importModuleDynamically callback on Node 20
  // ("A dynamic import callback was not specified" from a model stage's import() of TensorFlow.js),
  // so the cache is used only when RLHF_V8_CACHE=1 (the CLI of a cached rerun, which imports nothing).
  let cachedData
  if (process.env.RLHF_V8_CACHE === "1") {
    try {
      cachedData = fs.readFileSync(cacheFile)
    } catch {
      // first run of this build
    }
  }
  const script = new vm.Script(wrap(fs.readFileSync(file, "utf8")), {
    filename: file,
    cachedData,
    // import() of external packages (by absolute path) and of files named at run time.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
  })
  if (process.env.RLHF_V8_CACHE === "1" && (cachedData === undefined || script.cachedDataRejected === true)) {
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
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file))
  module.loaded = true
  return module.exports
}
