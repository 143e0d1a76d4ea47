// Records core/v1 Events about objects, the way `kubectl describe` shows them.
//
// - Repeats of one event (same object, type, reason and message) within the
//   aggregation window update the existing Event's count and lastTimestamp
//   instead of creating new ones.
// - Writes for one event are serialized; repeats arriving while a write is in
//   flight only bump the count, so a hot loop costs one write per round trip.
// - A token bucket per object bounds the writes (client-go's spam filter:
//   burst 25, one more token every 5 minutes); what it drops is still counted
//   and carried by the next write that gets through.
// - Recording never throws and never fails the reconcile that records.
//
// Messages must never carry a secret, a token or key material: reasons come
// from a typed union (EventRecorder<Reason>) and messages name objects and fields.

import { randomBytes } from "node:crypto";
import type { KubeClient } from "../../kube/client.ts";
import { type Clock, systemClock } from "../../kube/clock.ts";
import { isNamespaceTerminating, isNotFound } from "../../kube/errors.ts";
import { errorFields, silentLogger, type Logger } from "../../kube/logger.ts";
import { Resources } from "../../kube/resources.ts";
import type { CoreEvent, KubeObject } from "../../kube/types.ts";
import { formatTime } from "../../model/conditions.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  client: KubeClient;
  /** source.component and reportingComponent, e.g. "keyward-controller". */
  component: string;
  /** source.host and reportingInstance, e.g. the pod name. */
  instance?: string;
  clock?: Clock;
  /** Repeats within this window fold into one Event. Default 10 minutes. */
  aggregateWindowMs?: number;
  /** Writes per object before throttling. Default 25. */
  burst?: number;
  /** One more write allowed per object every this many ms. Default 5 minutes. */
  refillMs?: number;
  /** Distinct events remembered for aggregation. Default 4096. */
  cacheSize?: number;
  logger?: Logger;
}

const MAX_MESSAGE = 1024;

interface Entry {
  /** Name of the Event written, once created. */
  name: string | undefined;
  namespace: string;
  count: number;
  /** Count carried by the Event in the API. */
  written: number;
  first: number;
  last: number;
  chain: Promise<void>;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class EventRecorder<Reason extends string = string> {
  readonly #client: KubeClient;
  readonly #component: string;
  readonly #instance: string | undefined;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #cacheSize: number;
  readonly #log: Logger;
  #entries = new Map<string, Entry>();
  #buckets = new Map<string, Bucket>();
  #pending = new Set<Promise<void>>();
  #dropped = 0;

  constructor(opts: EventRecorderOptions) {
    this.#client = opts.client;
    this.#component = opts.component;
    this.#instance = opts.instance;
    this.#clock = opts.clock ?? systemClock;
    this.#windowMs = opts.aggregateWindowMs ?? 10 * 60_000;
    this.#burst = opts.burst ?? 25;
    this.#refillMs = opts.refillMs ?? 5 * 60_000;
    this.#cacheSize = opts.cacheSize ?? 4096;
    this.#log = opts.logger ?? silentLogger;
  }

  normal(obj: KubeObject, reason: Reason, message: string): Promise<void> {
    return this.event(obj, "Normal", reason, message);
  }

  warning(obj: KubeObject, reason: Reason, message: string): Promise<void> {
    return this.event(obj, "Warning", reason, message);
  }

  /** Records an event about `obj`. The promise resolves once written (or dropped); it never rejects. */
  event(obj: KubeObject, type: EventType, reason: Reason, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const name = meta.name ?? "";
    if (name === "") {
      this.#log.warn({ reason }, "event about an object without a name dropped");
      return Promise.resolve();
    }
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
    const objectId = meta.uid ?? `${obj.apiVersion ?? ""}/${obj.kind ?? ""}/${meta.namespace ?? ""}/${name}`;
    const key = JSON.stringify([objectId, type, reason, text]);
    const now = this.#clock.now();

    let entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.last > this.#windowMs) {
      this.#entries.delete(key);
      entry = undefined;
    }
    if (entry === undefined) {
      entry = { name: undefined, namespace: meta.namespace ?? "default", count: 0, written: 0, first: now, last: now, chain: Promise.resolve() };
      this.#remember(key, entry);
    }
    entry.count++;
    entry.last = now;

    const e = entry;
    const task = e.chain.then(() => this.#flushEntry(obj, type, reason, text, e, objectId));
    e.chain = task;
    this.#pending.add(task);
    void task.finally(() => this.#pending.delete(task));
    return task;
  }

  /** Events not written because of the per-object rate limit (they are still counted). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Resolves once every recorded event has been written or dropped. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  async #flushEntry(obj: KubeObject, type: EventType, reason: Reason, message: string, e: Entry, objectId: string): Promise<void> {
    if (e.count === e.written) return; // a previous write already carried this repeat
    if (!this.#take(objectId)) {
      this.#dropped++;
      this.#log.debug({ reason, object: describe(obj) }, "event throttled");
      return;
    }
    const count = e.count;
    try {
      if (e.name !== undefined) {
        try {
          await this.#client.mergePatch(Resources.events, { namespace: e.namespace, name: e.name }, { count, lastTimestamp: formatTime(e.last) });
          e.written = count;
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // The Event expired (events have a TTL): start a new one.
          e.name = undefined;
          e.first = e.last;
        }
      }
      const created = await this.#client.create<CoreEvent>(Resources.events, this.#build(obj, type, reason, message, e, count));
      e.name = created.metadata?.name;
      e.written = count;
    } catch (err) {
      // In a namespace being deleted nothing can be recorded any more, and nothing is lost.
      if (isNamespaceTerminating(err)) this.#log.debug({ reason, object: describe(obj) }, "event not recorded: its namespace is being deleted");
      else this.#log.warn({ reason, object: describe(obj), err: errorFields(err) }, "could not record event");
    }
  }

  #build(obj: KubeObject, type: EventType, reason: string, message: string, e: Entry, count: number): CoreEvent {
    const meta = obj.metadata ?? {};
    const base = (meta.name ?? "object").slice(0, 200);
    const name = `${base}.${this.#clock.now().toString(16)}${randomBytes(3).toString("hex")}`;
    return {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: e.namespace },
      involvedObject: {
        ...(obj.apiVersion !== undefined ? { apiVersion: obj.apiVersion } : {}),
        ...(obj.kind !== undefined ? { kind: obj.kind } : {}),
        name: meta.name ?? "",
        ...(meta.namespace !== undefined ? { namespace: meta.namespace } : {}),
        ...(meta.uid !== undefined ? { uid: meta.uid } : {}),
        ...(meta.resourceVersion !== undefined ? { resourceVersion: meta.resourceVersion } : {}),
      },
      reason,
      message,
      type,
      count,
      firstTimestamp: formatTime(e.first),
      lastTimestamp: formatTime(e.last),
      source: { component: this.#component, ...(this.#instance !== undefined ? { host: this.#instance } : {}) },
      reportingComponent: this.#component,
      ...(this.#instance !== undefined ? { reportingInstance: this.#instance } : {}),
    };
  }

  #take(objectId: string): boolean {
    const now = this.#clock.now();
    let b = this.#buckets.get(objectId);
    if (b === undefined) {
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(objectId, b);
      if (this.#buckets.size > this.#cacheSize) this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    const refill = Math.floor((now - b.at) / this.#refillMs);
    if (refill > 0) {
      b.tokens = Math.min(this.#burst, b.tokens + refill);
      b.at += refill * this.#refillMs;
    }
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  #remember(key: string, entry: Entry): void {
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#cacheSize) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

function describe(obj: KubeObject): string {
  const m = obj.metadata ?? {};
  return `${obj.kind ?? "object"} ${m.namespace !== undefined ? `${m.namespace}/` : ""}${m.name ?? ""}`;
}
