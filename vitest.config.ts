import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/integration/**", "test/e2e/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // Against an existing cluster (KEYWARD_TEST_KUBECONFIG) no binaries are at
          // hand, so the tests of the control plane's own process handling do not apply.
          exclude: process.env.KEYWARD_TEST_KUBECONFIG ? ["test/integration/harness/**"] : [],
          // Starts one control plane for the whole run and provides its kubeconfigPath.
          globalSetup: ["test/integration/harness/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One shared API server on 2 cores: test files run one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
