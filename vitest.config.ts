import * as path from "node:path"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // Tests import the package by name, resolved to the sources (not dist/).
    alias: [
      { find: /^effect-swarm$/, replacement: path.resolve(__dirname, "src/index.ts") },
      { find: /^effect-swarm\/(.*)$/, replacement: path.resolve(__dirname, "src/$1.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    fakeTimers: { toFake: undefined },
    // Under CI a failed test runs once more; .ci/run lists every test that needed it (see
    // scripts/vitest-retry-reporter.mjs), so a flake is named and fixed, never silently green.
    retry: process.env.CI ? 1 : 0,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two test files at a time: vitest's default (cores - 1) runs one on the 2-core CI machine, which left a
    // core idle and took the clean-clone CI past 20 minutes (test step 1074 s, session 12).
    maxWorkers: 2
  }
})
