import { defineConfig } from "vitest/config"

// One config for the whole workspace: unit tests beside each package, end-to-end tests in test/.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: "forks",
    typecheck: { enabled: true, tsconfig: "./tsconfig.typecheck.json", include: ["packages/*/test/**/*.test-d.ts", "test/**/*.test-d.ts"] }
  }
})
