// Where the bytes of another Node.js process's heap go: a heap snapshot taken through its
// inspector (HeapProfiler.takeHeapSnapshot), summed by what each node is — its constructor for
// objects ("Object", "Map", "Informer"…), its V8 type for the rest ("string", "code",
// "closure"…). Self sizes only: a type's own bytes, not what it keeps alive.

import { writeFileSync } from "node:fs";
import { inspectorSession } from "./heap.ts";

export interface HeapType {
  /** "object Foo" for an object made by constructor Foo, else the V8 node type (e.g. "string"). */
  type: string;
  count: number;
  selfBytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[] } };
  nodes: number[];
  strings: string[];
}

/**
 * Takes a heap snapshot of the process whose inspector listens on `port`, summed by type, largest
 * first; `saveTo`: also write the snapshot there (open it in Chrome DevTools, Memory tab).
 */
export async function heapByType(port: number, saveTo: string | null = null, timeoutMs = 300_000): Promise<HeapType[]> {
  const session = await inspectorSession(port, timeoutMs);
  try {
    const chunks: string[] = [];
    session.onEvent("HeapProfiler.addHeapSnapshotChunk", (params) => { chunks.push(String((params as { chunk: unknown }).chunk)); });
    await session.call("HeapProfiler.collectGarbage");
    await session.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false, captureNumericValue: false });
    const text = chunks.join("");
    if (saveTo !== null) writeFileSync(saveTo, text);
    return summarize(JSON.parse(text) as Snapshot);
  } finally {
    session.close();
  }
}

/** Sums a parsed .heapsnapshot by type. */
export function summarize(snapshot: Snapshot): HeapType[] {
  const fields = snapshot.snapshot.meta.node_fields;
  const typeNames = snapshot.snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const byType = new Map<string, HeapType>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = typeNames[snapshot.nodes[i + typeAt]!] ?? "?";
    const key = type === "object" ? `object ${snapshot.strings[snapshot.nodes[i + nameAt]!] ?? "?"}` : type;
    const entry = byType.get(key) ?? { type: key, count: 0, selfBytes: 0 };
    entry.count++;
    entry.selfBytes += snapshot.nodes[i + sizeAt]!;
    byType.set(key, entry);
  }
  return [...byType.values()].sort((a, b) => b.selfBytes - a.selfBytes);
}

/** What each type gained from `before` to `after` (count and bytes), largest gain first. */
export function heapGrowth(before: readonly HeapType[], after: readonly HeapType[]): HeapType[] {
  const was = new Map(before.map((h) => [h.type, h]));
  return after
    .map((h) => ({ type: h.type, count: h.count - (was.get(h.type)?.count ?? 0), selfBytes: h.selfBytes - (was.get(h.type)?.selfBytes ?? 0) }))
    .sort((a, b) => b.selfBytes - a.selfBytes);
}
