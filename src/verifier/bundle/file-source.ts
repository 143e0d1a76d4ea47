// Reads the bundle from a mounted ConfigMap: a directory holding bundle.json, or the file.
// The kubelet updates a ConfigMap volume by writing a new timestamped directory and
// swapping the `..data` symlink atomically, so the directory is watched (fs.watch) and,
// because watches can miss events or break, also polled on an interval. Each read is
// offered to the store, which ignores text it already has (and counts it as confirmed).
// The signature (bundle.jws) is read from the same place as bundle.json: in a kubelet
// volume both through one resolved `..data` directory, so a read never pairs the
// bundle of one update with the signature of another.
//
// The revocation segments a head names are read from the same place: file
// `<name>.json` next to bundle.json (the injector's projected volume puts each segment
// ConfigMap's revoked.json there), through the same resolved `..data` directory, so a
// read takes the head and its segments of one kubelet update.

import { watch, type FSWatcher } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { BUNDLE_SEGMENT_PREFIX } from "../../model/names.ts";
import type { Logger } from "../log.ts";
import type { SegmentReader } from "./segments.ts";
import type { BundleStore } from "./store.ts";
import { BUNDLE_KEY, bundleFilesOf, SIGNATURE_KEY } from "./text.ts";

/** A directory watch: calls `listener` with the name of each entry that changed. */
export type WatchDirectory = (dir: string, listener: (event: string, name: string | null) => void) => Pick<FSWatcher, "close" | "on">;

const watchDirectory: WatchDirectory = (dir, listener) => watch(dir, { persistent: false }, listener);

export interface FileBundleSourceOptions {
  /** A directory (the ConfigMap volume) holding bundle.json, or a bundle file. */
  path: string;
  pollIntervalMs: number;
  store: BundleStore;
  logger: Logger;
  /** How the directory is watched. Default fs.watch. */
  watch?: WatchDirectory;
}

export class FileBundleSource {
  readonly #opts: FileBundleSourceOptions;
  readonly #origin: string;
  #watcher: ReturnType<WatchDirectory> | null = null;
  #watchedDir: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #reading: Promise<void> | null = null;
  #readAgain = false;
  #stopped = false;

  constructor(opts: FileBundleSourceOptions) {
    this.#opts = opts;
    this.#origin = `file:${opts.path}`;
  }

  /** Reads the bundle once and starts watching and polling. Resolves after the first read. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.#stopped) return;
    this.#timer = setInterval(() => {
      void this.refresh();
    }, this.#opts.pollIntervalMs);
    this.#timer.unref();
  }

  /** Stops watching and polling; resolves once a read in progress is over. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#closeWatcher();
    await this.#reading;
  }

  /** Reads the bundle now; concurrent calls coalesce into one more read. */
  refresh(): Promise<void> {
    if (this.#reading !== null) {
      this.#readAgain = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#readAgain = false;
        await this.#readOnce();
      } while (this.#again());
    })().finally(() => {
      this.#reading = null;
    });
    return this.#reading;
  }

  /** Another read was asked for while this one ran. */
  #again(): boolean {
    return this.#readAgain && !this.#stopped;
  }

  async #readOnce(): Promise<void> {
    const { path, store } = this.#opts;
    let file = path;
    let dir: string | undefined;
    let text: string;
    let signature: string | undefined;
    let segments: SegmentReader;
    try {
      const info = await stat(path);
      if (info.isDirectory()) {
        file = join(path, BUNDLE_KEY);
        dir = path;
      } else {
        dir = dirname(path);
      }
      this.#ensureWatch(dir, basename(file));
      const from = info.isDirectory() ? await resolvedData(path) : null;
      const read = bundleFilesOf(await readFile(from === null ? file : join(from, BUNDLE_KEY), "utf8"));
      text = read.bundle;
      signature = read.signature ?? (await readOptional(join(from ?? dir, SIGNATURE_KEY)));
      segments = fileSegmentReader(from ?? dir);
    } catch (err) {
      if (this.#stopped) return;
      if (dir === undefined) this.#ensureWatch(dirname(path), basename(path));
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable (permission denied)" : `cannot be read (${code ?? (err as Error).message})`;
      store.fail(this.#origin, `${file} ${why}; mount the keyward-bundle ConfigMap there or fix --bundle-file`);
      return;
    }
    if (this.#stopped) return;
    await store.offer(text, this.#origin, signature, segments);
  }

  #ensureWatch(dir: string, file: string): void {
    if (this.#stopped || this.#watchedDir === dir) return;
    this.#closeWatcher();
    try {
      const w = (this.#opts.watch ?? watchDirectory)(dir, (_event, name) => {
        if (concernsBundle(name, file)) void this.refresh();
      });
      w.on("error", (err: Error) => {
        this.#opts.logger.debug({ event: "bundle_watch_error", dir, err: err.message }, "watch of the bundle directory broke; polling until it is back");
        if (this.#watcher === w) this.#closeWatcher();
      });
      this.#watcher = w;
      this.#watchedDir = dir;
    } catch (err) {
      // The directory does not exist (yet): the poll keeps trying.
      this.#opts.logger.debug({ event: "bundle_watch_error", dir, err: (err as Error).message }, "cannot watch the bundle directory; polling");
    }
  }

  #closeWatcher(): void {
    this.#watcher?.close();
    this.#watcher = null;
    this.#watchedDir = null;
  }
}

/** The directory a kubelet volume's `..data` symlink points at; null when `dir` is not such a volume. */
async function resolvedData(dir: string): Promise<string | null> {
  try {
    return await realpath(join(dir, "..data"));
  } catch {
    return null;
  }
}

/** Reads segment `<name>` from file `<dir>/<name>.json`; undefined when there is no such file. */
export function fileSegmentReader(dir: string): SegmentReader {
  return {
    read: (name) => readOptional(join(dir, `${name}.json`)),
    where: (name) => `file ${join(dir, `${name}.json`)} (from ConfigMap ${name})`,
  };
}

/** A file's text, or undefined when it does not exist. */
async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Whether a change in the watched directory can concern the bundle: the file itself, a
 * revocation segment, or the kubelet's `..data` symlink and its timestamped directories
 * (`..2026_11_29…`). Other files in the directory (logs, other keys) do not trigger a
 * read; an event without a name does.
 */
export function concernsBundle(name: string | Buffer | null, file: string): boolean {
  if (name === null) return true;
  const changed = name.toString();
  return changed === file || changed.startsWith("..") || changed.startsWith(BUNDLE_SEGMENT_PREFIX);
}
