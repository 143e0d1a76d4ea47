// Reads the trusted bundle-signing keys from a file (--bundle-trust-file): a JWK Set
// (the trust ConfigMap's jwks.json), or a directory holding jwks.json. Read at start
// and on an interval; each read gives the keys to the store, which acts only on a change.

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { TRUST_DATA_KEY } from "../../model/names.ts";
import { BundleError, parseTrustSet } from "../../token/index.ts";
import type { BundleStore } from "./store.ts";

export interface TrustFileSourceOptions {
  path: string;
  pollIntervalMs: number;
  store: BundleStore;
}

export class TrustFileSource {
  readonly #opts: TrustFileSourceOptions;
  readonly #origin: string;
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: TrustFileSourceOptions) {
    this.#opts = opts;
    this.#origin = `file:${opts.path}`;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => { void this.refresh(); }, this.#opts.pollIntervalMs);
    this.#timer.unref();
  }

  stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    return Promise.resolve();
  }

  async refresh(): Promise<void> {
    const { path, store } = this.#opts;
    let text: string;
    try {
      const file = (await stat(path)).isDirectory() ? join(path, TRUST_DATA_KEY) : path;
      text = await readFile(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      store.trustFailed(this.#origin, `${path} cannot be read (${code ?? (err as Error).message}); mount the trusted bundle-signing keys there or fix --bundle-trust-file`);
      return;
    }
    try {
      store.setTrust(parseTrustSet(text), this.#origin);
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      store.trustFailed(this.#origin, `${path}: ${err.message}; keeping the trusted keys loaded before`);
    }
  }
}
