// The serving pair from files instead of the rotator: for a certificate another tool manages
// (cert-manager, with its CA injector writing the caBundle). The files are read every
// `pollIntervalMs`; a changed pair is handed to the server, a pair that does not load is
// refused and the previous one kept.

import { readFile } from "node:fs/promises";
import type { Clock, TimerHandle } from "../kube/clock.ts";
import type { Logger } from "../kube/logger.ts";
import type { ServingPair } from "./server.ts";

export interface PairFiles {
  certFile: string;
  keyFile: string;
}

export interface FileWatcherOptions {
  files: PairFiles;
  clock: Clock;
  log: Logger;
  pollIntervalMs: number;
  load(pair: ServingPair): void;
}

export class PairFileWatcher {
  readonly #o: FileWatcherOptions;
  #loaded: string | null = null;
  #timer: TimerHandle | null = null;
  #stopped = false;

  constructor(options: FileWatcherOptions) {
    this.#o = options;
  }

  async check(): Promise<void> {
    const { files, log } = this.#o;
    try {
      const [cert, key] = await Promise.all([readFile(files.certFile, "utf8"), readFile(files.keyFile, "utf8")]);
      if (cert + key !== this.#loaded) {
        this.#o.load({ cert, key });
        this.#loaded = cert + key;
        log.info({ certFile: files.certFile }, "webhook serving certificate loaded from file");
      }
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err), certFile: files.certFile, keyFile: files.keyFile }, "webhook serving certificate: the files do not load; keeping the previous pair");
    }
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimeout(() => { void this.check(); }, this.#o.pollIntervalMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#o.clock.clearTimeout(this.#timer);
  }
}
