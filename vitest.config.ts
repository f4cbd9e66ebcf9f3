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
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
