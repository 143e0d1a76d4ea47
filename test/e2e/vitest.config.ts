// The end-to-end tests on a kind cluster, run by hack/kind-e2e.sh (npm run test:e2e): not part
// of `npm test`, whose projects exclude test/e2e.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/e2e/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
