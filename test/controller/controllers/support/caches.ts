// Controller caches for tests: a Store over one in-memory collection, its informer
// listed and watching, stopped again after each test.

import { afterEach } from "vitest";
import { Store } from "../../../../src/controller/controllers/store.ts";
import { ManualClock } from "../../../../src/kube/clock.ts";
import { Informer } from "../../../../src/kube/informer.ts";
import type { KubeObject } from "../../../../src/kube/types.ts";
import { MemorySource } from "../../../kube/support/memory-source.ts";

const started: Informer[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((i) => i.stop()));
});

/** A synced cache of every namespace over `source`. */
export async function cacheOver<T extends KubeObject>(source: MemorySource<T>, clock = new ManualClock()): Promise<Store<T>> {
  const informer = new Informer(source, { clock, resyncPeriodMs: 0 });
  started.push(informer as unknown as Informer);
  informer.start();
  await informer.waitForSync();
  return new Store<T>(new Map([["", informer]]), clock);
}

/** A synced cache of every namespace holding `objects`. */
export function cacheOf<T extends KubeObject>(objects: readonly T[], clock = new ManualClock()): Promise<Store<T>> {
  const source = new MemorySource<T>();
  for (const o of objects) source.add(o);
  return cacheOver(source, clock);
}
