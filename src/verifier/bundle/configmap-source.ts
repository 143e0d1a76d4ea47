// Watches one ConfigMap through the Kubernetes API (the bundle, or the trusted
// bundle-signing keys) with the informer the
// controller uses (src/kube/informer.ts): list it by name first, then watch from the
// list's resourceVersion; resume at once when the server ends a watch, relist at once
// after 410 Gone, and back off (exponential, capped, with jitter) after any other
// error, so restart, back-off and relist behave the same on the revocation path as in
// the controller. Only get/list/watch on that one ConfigMap is needed: both calls carry
// `fieldSelector=metadata.name=<name>`, which RBAC `resourceNames` permits. A watch
// that ends without error (the server's timeout) confirms the bundle in use.
//
// The revocation segments a head names (keyward-bundle-revoked-<n>, in the same
// namespace) are read by a GET each when the store needs them: the head's watch is the
// trigger, a segment is never watched (the controller writes segments before the head
// naming them, and never rewrites one the current head names). The verifier's Role
// grants get, and only get, on the 32 segment names.

import { KubeClient } from "../../kube/client.ts";
import { ForbiddenError, GoneError, KubeApiError } from "../../kube/errors.ts";
import { createInformer, type Informer, type RestartReason } from "../../kube/informer.ts";
import { Resources } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { KubeConfig } from "@kubernetes/client-node";
import { BUNDLE_DATA_KEY, BUNDLE_SEGMENT_DATA_KEY, BUNDLE_SIGNATURE_DATA_KEY, TRUST_DATA_KEY } from "../../model/names.ts";
import { BundleError, parseTrustSet } from "../../token/index.ts";
import type { Logger } from "../log.ts";
import type { SegmentReader } from "./segments.ts";
import type { BundleStore } from "./store.ts";

/** What is done with the ConfigMap's data: offered to the store as a bundle, or as the trusted keys. */
export interface ConfigMapReader {
  /** The data read (or re-confirmed when a watch ended cleanly). */
  apply(data: Readonly<Record<string, string>>, origin: string): void;
  /** Why there is nothing to apply (missing, deleted). */
  fail(origin: string, message: string): void;
  /** The fix named when the ConfigMap does not exist. */
  missingHint: string;
}

/** Offers bundle.json and bundle.jws to the store, with `segments` to read the revocation segments the head names. */
export function bundleReader(store: BundleStore, namespace: string, name: string, segments?: SegmentReader): ConfigMapReader {
  return {
    apply: (data, origin) => {
      const text = data[BUNDLE_DATA_KEY];
      if (text === undefined) store.fail(origin, `ConfigMap ${namespace}/${name} has no key ${BUNDLE_DATA_KEY}; it is not a keyward bundle`);
      else void store.offer(text, origin, data[BUNDLE_SIGNATURE_DATA_KEY], segments);
    },
    fail: (origin, message) => { store.fail(origin, message); },
    missingHint: "the keyward controller writes it once the tenant has an ApiKey, or fix --bundle-configmap",
  };
}

/** Gives the trusted bundle-signing keys (jwks.json) to the store. */
export function trustReader(store: BundleStore, namespace: string, name: string): ConfigMapReader {
  return {
    apply: (data, origin) => {
      const text = data[TRUST_DATA_KEY];
      if (text === undefined) {
        store.trustFailed(origin, `ConfigMap ${namespace}/${name} has no key ${TRUST_DATA_KEY}; it is not keyward's bundle trust`);
        return;
      }
      try {
        store.setTrust(parseTrustSet(text), origin);
      } catch (err) {
        if (!(err instanceof BundleError)) throw err;
        store.trustFailed(origin, `ConfigMap ${namespace}/${name}: ${err.message}; keeping the trusted keys loaded before`);
      }
    },
    fail: (origin, message) => { store.trustFailed(origin, message); },
    missingHint: "the keyward controller writes it in its own namespace at start, or fix --bundle-trust-configmap",
  };
}

/**
 * Reads revocation segments by GET of ConfigMap `<namespace>/<name>`: its revoked.json,
 * undefined when the ConfigMap (404) or the key does not exist. Other errors reject.
 */
export function configMapSegmentReader(client: KubeClient, namespace: string): SegmentReader {
  return {
    read: async (name) => (await client.find<ConfigMapObject>(Resources.configMaps, { namespace, name }))?.data?.[BUNDLE_SEGMENT_DATA_KEY],
    where: (name) => `ConfigMap ${namespace}/${name} (key ${BUNDLE_SEGMENT_DATA_KEY})`,
  };
}

export interface ConfigMapBundleSourceOptions {
  namespace: string;
  name: string;
  kubeConfig: KubeConfig;
  /** What the data is for; default the bundle, offered to `store`. */
  reader?: ConfigMapReader;
  store: BundleStore;
  logger: Logger;
  /** First retry delay after an error; doubles up to maxBackoffMs. Default 250 ms. */
  initialBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** The server ends each watch after this long, which confirms the bundle. Default 25 s. */
  watchTimeoutSeconds?: number;
}

interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}

export class ConfigMapBundleSource {
  readonly #opts: ConfigMapBundleSourceOptions;
  readonly #origin: string;
  readonly #informer: Informer<ConfigMapObject>;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #reader: ConfigMapReader;
  /** The last data seen, re-offered when a watch ends cleanly. */
  #lastData: Readonly<Record<string, string>> | null = null;
  #failures = 0;

  constructor(opts: ConfigMapBundleSourceOptions) {
    this.#opts = opts;
    this.#origin = `configmap:${opts.namespace}/${opts.name}`;
    this.#backoff = { initialMs: opts.initialBackoffMs ?? 250, maxMs: opts.maxBackoffMs ?? 30_000 };
    const client = new KubeClient({ kubeConfig: opts.kubeConfig, userAgent: "keyward-verifier" });
    // Segment reads hold up the bundles offered after them: a GET that hangs gives up after 10 s (and is retried).
    const segmentClient = new KubeClient({ kubeConfig: opts.kubeConfig, userAgent: "keyward-verifier", requestTimeoutMs: 10_000 });
    this.#reader = opts.reader ?? bundleReader(opts.store, opts.namespace, opts.name, configMapSegmentReader(segmentClient, opts.namespace));
    this.#informer = createInformer<ConfigMapObject>(client, Resources.configMaps, {
      namespace: opts.namespace,
      fieldSelector: `metadata.name=${opts.name}`,
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 25,
      // Every change arrives by the watch, and each clean end of a watch confirms the bundle: no resync.
      resyncPeriodMs: 0,
      backoff: this.#backoff,
    });
    this.#informer.addHandlers({
      add: (cm) => { this.#apply(cm); },
      update: (_old, cm) => { this.#apply(cm); },
      delete: () => {
        this.#lastData = null;
        this.#reader.fail(this.#origin, `ConfigMap ${opts.namespace}/${opts.name} was deleted; keeping what is in use`);
      },
    });
    this.#informer.onRestart((reason, err) => { this.#restarted(reason, err); });
  }

  /** Starts listing and watching; resolves after the first list attempt (success or not). */
  async start(): Promise<void> {
    const firstAttempt = new Promise<void>((resolve) => {
      const off = this.#informer.onRestart(() => {
        off();
        resolve();
      });
      void this.#informer.waitForSync().then(() => {
        off();
        resolve();
      });
    });
    this.#informer.start();
    await firstAttempt;
    if (this.#informer.hasSynced() && this.#informer.size === 0) this.#missing();
  }

  /** Stops watching; resolves when the informer has stopped. */
  async stop(): Promise<void> {
    await this.#informer.stop();
  }

  #missing(): void {
    const { namespace, name } = this.#opts;
    this.#lastData = null;
    this.#reader.fail(this.#origin, `ConfigMap ${namespace}/${name} does not exist; ${this.#reader.missingHint}`);
  }

  #apply(cm: ConfigMapObject): void {
    this.#failures = 0;
    this.#lastData = cm.data ?? {};
    this.#reader.apply(this.#lastData, this.#origin);
  }

  #restarted(reason: RestartReason, err: unknown): void {
    const { namespace, name } = this.#opts;
    if (reason === "watch-ended") {
      // The server's timeout: nothing changed meanwhile, so what is in use is confirmed.
      if (this.#lastData !== null) this.#reader.apply(this.#lastData, this.#origin);
      return;
    }
    const status = err instanceof KubeApiError ? err.status : undefined;
    if (reason === "gone" || err instanceof GoneError) {
      this.#opts.logger.info({ event: "bundle_source_error", origin: this.#origin, status: 410 }, `watch from resourceVersion ${this.#informer.resourceVersion} is too old (410 Gone); listing again`);
      return;
    }
    this.#failures++;
    const retryInMs = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(this.#failures - 1, 30));
    const fields = { event: "bundle_source_error", origin: this.#origin, status, retryInMs };
    if (err instanceof ForbiddenError) {
      this.#opts.logger.warn(fields, `not allowed to read ConfigMap ${namespace}/${name}: grant the verifier's service account get, list and watch on it`);
    } else {
      const message = err instanceof Error ? err.message : String(err);
      this.#opts.logger.warn(fields, `reading ConfigMap ${namespace}/${name} failed: ${message}; retrying`);
    }
  }
}
