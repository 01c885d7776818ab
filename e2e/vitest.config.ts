/**
 * The end-to-end suite (`make e2e`): e2e/**\/*.test.ts against a live cluster (make kind-up). The
 * root vitest.config.ts includes test/ only, so `make test` never runs these. Nothing here is ever
 * skipped: the global setup fails the run with one line when the cluster is missing, `.only` is refused,
 * and test/static/e2e.test.ts rejects skip/todo/skipIf/runIf in these files.
 */
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    dir: fileURLToPath(new URL("..", import.meta.url)),
    include: ["e2e/**/*.test.ts"],
    globalSetup: ["e2e/globalSetup.ts"],
    // Fleets start pods and pull images: generous limits, one flow at a time.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: "forks",
    fileParallelism: false,
    sequence: { concurrent: false },
    allowOnly: false,
    passWithNoTests: false
  }
})
