// An in-memory ListWatchSource: a collection a test changes directly, with every
// change delivered to the open watch. The test decides when a watch ends, fails
// or answers 410 Gone, and sees every list and watch call the informer made.

import { GoneError, UnavailableError } from "../../../src/kube/errors.ts";
import type { ListWatchSource } from "../../../src/kube/informer.ts";
import type { KubeList, KubeObject, WatchEvent } from "../../../src/kube/types.ts";
import { objectKey } from "../../../src/kube/types.ts";

interface Channel<T extends KubeObject> {
  queue: Array<WatchEvent<T> | { end: true } | { error: unknown }>;
  wake: (() => void) | undefined;
  fromRv: number;
}

export class MemorySource<T extends KubeObject = KubeObject> implements ListWatchSource<T> {
  readonly description = "memory";
  readonly listCalls: string[] = [];
  /** resourceVersion of each watch call. */
  readonly watchCalls: string[] = [];
  #items = new Map<string, T>();
  #rv = 1;
  #channel: Channel<T> | undefined;
  #listFailures: Error[] = [];
  #watchFailures: unknown[] = [];

  /** The next list calls fail with these errors, in order. */
  failLists(...errors: Error[]): void {
    this.#listFailures.push(...errors);
  }

  /** The next watch calls fail at once with these errors, in order. */
  failWatches(...errors: unknown[]): void {
    this.#watchFailures.push(...errors);
  }

  get watching(): boolean {
    return this.#channel !== undefined;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  add(obj: T): T {
    return this.#change("ADDED", obj);
  }

  update(obj: T): T {
    return this.#change("MODIFIED", obj);
  }

  delete(obj: T): void {
    this.#rv++;
    const key = objectKey(obj);
    const last = this.#items.get(key) ?? obj;
    this.#items.delete(key);
    this.#send({ type: "DELETED", object: withRv(last, this.#rv) });
  }

  /** Changes the collection without telling the open watch (what a missed event looks like). */
  silently(change: () => void): void {
    const channel = this.#channel;
    this.#channel = undefined;
    try {
      change();
    } finally {
      this.#channel = channel;
    }
  }

  bookmark(): void {
    this.#rv++;
    this.#send({ type: "BOOKMARK", object: { metadata: { resourceVersion: String(this.#rv) } } });
  }

  /** Ends the open watch normally (server timeout). */
  endWatch(): void {
    this.#push({ end: true });
  }

  /** Breaks the open watch with an error. */
  breakWatch(err: unknown = new UnavailableError({ verb: "watch", resource: "memory" }, 0, undefined, { message: "connection reset" })): void {
    this.#push({ error: err });
  }

  /** Ends the open watch with 410 Gone. */
  expireWatch(): void {
    this.#push({ error: gone() });
  }

  async list(signal: AbortSignal): Promise<KubeList<T>> {
    this.listCalls.push(String(this.#rv));
    await Promise.resolve();
    signal.throwIfAborted();
    const failure = this.#listFailures.shift();
    if (failure !== undefined) throw failure;
    return { metadata: { resourceVersion: String(this.#rv) }, items: [...this.#items.values()].map((o) => structuredClone(o)) };
  }

  watch(resourceVersion: string, signal: AbortSignal): AsyncIterable<WatchEvent<T>> {
    this.watchCalls.push(resourceVersion);
    const failure = this.#watchFailures.shift();
    const channel: Channel<T> = { queue: [], wake: undefined, fromRv: Number(resourceVersion) };
    if (failure !== undefined) channel.queue.push({ error: failure });
    else this.#channel = channel;
    const onAbort = (): void => {
      channel.queue.push({ end: true });
      channel.wake?.();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const close = (): void => {
      signal.removeEventListener("abort", onAbort);
      if (this.#channel === channel) this.#channel = undefined;
    };
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            const next = channel.queue.shift();
            if (next === undefined) {
              await new Promise<void>((resolve) => (channel.wake = resolve));
              channel.wake = undefined;
              continue;
            }
            if ("end" in next) return;
            if ("error" in next) throw next.error;
            yield next;
          }
        } finally {
          close();
        }
      },
    };
  }

  #change(type: "ADDED" | "MODIFIED", obj: T): T {
    this.#rv++;
    const stored = withRv(obj, this.#rv);
    this.#items.set(objectKey(stored), stored);
    this.#send({ type, object: structuredClone(stored) });
    return stored;
  }

  #send(ev: WatchEvent<T>): void {
    this.#push(ev);
  }

  #push(item: WatchEvent<T> | { end: true } | { error: unknown }): void {
    const channel = this.#channel;
    if (channel === undefined) return;
    if ("end" in item || "error" in item) this.#channel = undefined;
    channel.queue.push(item);
    channel.wake?.();
  }
}

export function gone(): GoneError {
  return new GoneError({ verb: "watch", resource: "memory" }, 410, { reason: "Expired", message: "too old resource version", code: 410 });
}

function withRv<T extends KubeObject>(obj: T, rv: number): T {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
}

export function obj(name: string, namespace = "acme", extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, ...extra };
}
