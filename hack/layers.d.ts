// Types of hack/layers.js (plain JavaScript so that eslint.config.js can load it as it is).

export interface LayerRule {
  /** The keyward folders (src/<name>/) the layer may import. */
  readonly layers: readonly string[];
  /** The npm packages it may import ("node:*" always); "*": any. */
  readonly packages: readonly string[] | "*";
}

export declare const LAYERS: Readonly<Record<string, LayerRule>>;

export declare const MAX_DEPTH: number;

export declare function restrictedImports(
  layer: string,
  packages: readonly string[],
  depth?: number,
): ["error", { patterns: ({ group: string[]; message: string } | { regex: string; message: string })[] }];

export declare function layerConfigs(packages: readonly string[]): { files: string[]; rules: Record<string, unknown> }[];
