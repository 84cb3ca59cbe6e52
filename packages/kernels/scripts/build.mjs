// Builds the N-API addon: `node-gyp rebuild` in native/, pointed at the running
// Node's own headers when they are installed next to it, so no header download
// (network) is needed. Needs a C++ toolchain and OpenBLAS
// (apt-get install -y libopenblas-dev). binding.gyp lives in native/, not the
// package root, because package managers run `node-gyp rebuild` on install for
// any package with a root binding.gyp, and installing must never fail on it.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

const require = createRequire(import.meta.url)
const nodeGyp = require.resolve("node-gyp/bin/node-gyp.js")
const prefix = dirname(dirname(process.execPath))
const args = [nodeGyp, "rebuild", "--directory=native"]
if (process.env.npm_config_nodedir === undefined && existsSync(join(prefix, "include", "node", "node_api.h"))) {
  args.push(`--nodedir=${prefix}`)
}
const result = spawnSync(process.execPath, args, { stdio: "inherit", cwd: join(dirname(new URL(import.meta.url).pathname), "..") })
process.exit(result.status ?? 1)
