// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { layerConfigs } from "./hack/layers.js";

const manifest = JSON.parse(readFileSync(join(import.meta.dirname, "package.json"), "utf8"));
/** Every npm package keyward depends on. */
const PACKAGES = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });

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
  // The layering of src/ (hack/layers.js): no arrow back up, no cycle.
  ...layerConfigs(PACKAGES),
  {
    files: ["**/*.js"],
    ...tseslint.configs.disableTypeChecked,
  },
);
