// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".cache/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-console": "error",
    },
  },
  {
    files: ["bench/**", "hack/**", "src/cli/**", "src/demo/**"],
    rules: { "no-console": "off" },
  },
  {
    files: ["src/token/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["@kubernetes/*", "**/controller/**", "**/verifier/**", "**/kube/**", "**/api/**"], message: "src/token imports nothing Kubernetes and no other part of keyward." },
        ],
      }],
    },
  },
  {
    files: ["src/controller/**"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["**/verifier/**"], message: "the controller never imports the verifier" }] }] },
  },
  {
    files: ["src/verifier/**"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["**/controller/**"], message: "the verifier never imports the controller" }] }] },
  },
  {
    files: ["**/*.js"],
    ...tseslint.configs.disableTypeChecked,
  },
);
