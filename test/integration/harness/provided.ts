// Values the integration globalSetup hands to test files through vitest's inject().
declare module "vitest" {
  interface ProvidedContext {
    /** Admin kubeconfig of the cluster the integration tests run against. */
    kubeconfigPath: string;
    /** Directory of the control-plane binaries, or "" when the run uses KEYWARD_TEST_KUBECONFIG. */
    controlPlaneAssetsDir: string;
  }
}

export {};
