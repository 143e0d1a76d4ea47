// Watches the bundle ConfigMap through the Kubernetes API: list it by name first, then
// watch from the list's resourceVersion, and on any error (410 Gone included) list and
// watch again after a backoff. Only get/list/watch on that one ConfigMap is needed: both
// calls carry `fieldSelector=metadata.name=<name>`, which RBAC `resourceNames` permits.
// A watch that ends without error (the server's timeout) confirms the bundle in use.

import { setTimeout as delay } from "node:timers/promises";
import { CoreV1Api, Watch, type KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import type { Logger } from "../log.ts";
import type { BundleStore } from "./store.ts";
import { BUNDLE_KEY } from "./text.ts";

export interface ConfigMapBundleSourceOptions {
  namespace: string;
  name: string;
  kubeConfig: KubeConfig;
  store: BundleStore;
  logger: Logger;
  /** First retry delay after an error; doubles up to maxBackoffMs. Default 250 ms. */
  initialBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** The server ends each watch after this long, which confirms the bundle. Default 25 s. */
  watchTimeoutSeconds?: number;
}

class WatchGoneError extends Error {}

export class ConfigMapBundleSource {
  readonly #opts: ConfigMapBundleSourceOptions;
  readonly #origin: string;
  readonly #api: CoreV1Api;
  readonly #watch: Watch;
  readonly #stop = new AbortController();
  #running: Promise<void> | null = null;
  #activeWatch: AbortController | null = null;
  /** The last bundle.json text seen, re-offered when a watch ends cleanly. */
  #lastText: string | null = null;

  constructor(opts: ConfigMapBundleSourceOptions) {
    this.#opts = opts;
    this.#origin = `configmap:${opts.namespace}/${opts.name}`;
    this.#api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.#watch = new Watch(opts.kubeConfig);
  }

  /** Starts listing and watching; resolves after the first list attempt (success or not). */
  start(): Promise<void> {
    let firstListDone!: () => void;
    const first = new Promise<void>((resolve) => (firstListDone = resolve));
    this.#running = this.#loop(firstListDone);
    return first;
  }

  /** Stops watching; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#activeWatch?.abort();
    await this.#running;
  }

  async #loop(firstListDone: () => void): Promise<void> {
    const initial = this.#opts.initialBackoffMs ?? 250;
    const max = this.#opts.maxBackoffMs ?? 30_000;
    let backoff = initial;
    const signal = this.#stop.signal;
    while (!this.#stopped()) {
      try {
        let resourceVersion = await this.#list();
        firstListDone();
        backoff = initial;
        while (!this.#stopped()) {
          resourceVersion = await this.#watchOnce(resourceVersion);
          if (this.#lastText !== null && !this.#stopped()) this.#opts.store.offer(this.#lastText, this.#origin);
        }
      } catch (err) {
        firstListDone();
        if (this.#stopped()) break;
        this.#reportError(err, backoff);
        try {
          await delay(backoff * (0.8 + Math.random() * 0.4), undefined, { signal });
        } catch {
          break;
        }
        backoff = Math.min(max, backoff * 2);
      }
    }
  }

  #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  async #list(): Promise<string> {
    const { namespace, name } = this.#opts;
    const list = await this.#api.listNamespacedConfigMap({ namespace, fieldSelector: `metadata.name=${name}` });
    const rv = list.metadata?.resourceVersion;
    if (rv === undefined || rv === "") throw new Error("the ConfigMap list has no resourceVersion");
    const item = list.items[0];
    if (item === undefined) {
      this.#lastText = null;
      this.#opts.store.fail(this.#origin, `ConfigMap ${namespace}/${name} does not exist; the keyward controller writes it once the tenant has an ApiKey, or fix --bundle-configmap`);
    } else {
      this.#apply(item);
    }
    return rv;
  }

  /** One watch from `resourceVersion`; resolves with the last resourceVersion seen when it ends cleanly. */
  async #watchOnce(resourceVersion: string): Promise<string> {
    const { namespace, name } = this.#opts;
    let rv = resourceVersion;
    let failure: Error | null = null;
    const ended = new Promise<void>((resolve) => {
      const onEvent = (type: string, obj: unknown): void => {
        if (type === "ERROR") {
          const status = obj as { code?: number; reason?: string; message?: string };
          failure = status.code === 410
            ? new WatchGoneError(`watch from resourceVersion ${rv} is too old (410 Gone); listing again`)
            : new Error(`watch error ${status.code ?? "?"} ${status.reason ?? ""}: ${status.message ?? ""}`);
          this.#activeWatch?.abort();
          return;
        }
        const cm = obj as V1ConfigMap;
        const next = cm.metadata?.resourceVersion;
        if (next !== undefined) rv = next;
        if (type === "ADDED" || type === "MODIFIED") this.#apply(cm);
        else if (type === "DELETED") {
          this.#lastText = null;
          this.#opts.store.fail(this.#origin, `ConfigMap ${namespace}/${name} was deleted; keeping the bundle in use`);
        }
      };
      const onDone = (err: unknown): void => {
        if (err !== null && err !== undefined && failure === null) failure = err instanceof Error ? err : new Error("the watch ended with an error");
        resolve();
      };
      this.#watch
        .watch(
          `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
          {
            fieldSelector: `metadata.name=${name}`,
            resourceVersion: rv,
            allowWatchBookmarks: true,
            timeoutSeconds: this.#opts.watchTimeoutSeconds ?? 25,
          },
          onEvent,
          onDone,
        )
        .then((controller) => {
          this.#activeWatch = controller;
          if (this.#stop.signal.aborted) controller.abort();
        }, onDone);
    });
    await ended;
    this.#activeWatch = null;
    const failed = failure as Error | null;
    if (this.#stopped() || failed === null) return rv;
    throw failed;
  }

  #apply(cm: V1ConfigMap): void {
    const { namespace, name } = this.#opts;
    const text = cm.data?.[BUNDLE_KEY];
    if (text === undefined) {
      this.#lastText = null;
      this.#opts.store.fail(this.#origin, `ConfigMap ${namespace}/${name} has no key ${BUNDLE_KEY}; it is not a keyward bundle`);
      return;
    }
    this.#lastText = text;
    this.#opts.store.offer(text, this.#origin);
  }

  #reportError(err: unknown, backoffMs: number): void {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    const fields = { event: "bundle_source_error", origin: this.#origin, status: typeof code === "number" ? code : undefined, retryInMs: Math.round(backoffMs) };
    if (err instanceof WatchGoneError) this.#opts.logger.info(fields, message);
    else if (code === 403) {
      this.#opts.logger.warn(fields, `not allowed to read ConfigMap ${this.#opts.namespace}/${this.#opts.name}: grant the verifier's service account get, list and watch on it`);
    } else this.#opts.logger.warn(fields, `reading ConfigMap ${this.#opts.namespace}/${this.#opts.name} failed: ${message}; retrying`);
  }
}
