// Counts every write the client sends to the API server, by verb and resource.
// "Nothing changed, so nothing was written" is a property tests assert on, and
// the manager exports the same numbers as a Prometheus counter.

/** Write verbs as the API server's audit log names them, with server-side apply apart from other patches. */
export type WriteVerb = "create" | "update" | "patch" | "apply" | "delete";

export const WRITE_VERBS: readonly WriteVerb[] = ["create", "update", "patch", "apply", "delete"];

export interface WriteRecord {
  verb: WriteVerb;
  /** "secrets", "apikeys.keyward.dev", "apikeys.keyward.dev/status", … */
  resource: string;
  count: number;
}

export type WriteListener = (verb: WriteVerb, resource: string) => void;

export type WriteFilter = { verb?: WriteVerb; resource?: string } | ((verb: WriteVerb, resource: string) => boolean);

export class WriteCounter {
  #counts = new Map<string, WriteRecord>();
  #listeners = new Set<WriteListener>();

  /** Counts one write request (sent, whatever its outcome). */
  record(verb: WriteVerb, resource: string): void {
    const key = `${verb} ${resource}`;
    const rec = this.#counts.get(key);
    if (rec === undefined) this.#counts.set(key, { verb, resource, count: 1 });
    else rec.count++;
    for (const listener of this.#listeners) {
      try {
        listener(verb, resource);
      } catch {
        // A broken listener must not fail the write it observes.
      }
    }
  }

  /** Writes so far matching `filter` (all writes without one). */
  count(filter?: WriteFilter): number {
    let n = 0;
    for (const rec of this.#counts.values()) {
      if (matches(rec, filter)) n += rec.count;
    }
    return n;
  }

  snapshot(): WriteRecord[] {
    return [...this.#counts.values()]
      .map((r) => ({ ...r }))
      .sort((a, b) => (a.resource === b.resource ? a.verb.localeCompare(b.verb) : a.resource < b.resource ? -1 : 1));
  }

  /** Calls `listener` on every write from now on. Returns the function that unsubscribes. */
  onWrite(listener: WriteListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function matches(rec: WriteRecord, filter: WriteFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === "function") return filter(rec.verb, rec.resource);
  return (filter.verb === undefined || filter.verb === rec.verb) && (filter.resource === undefined || filter.resource === rec.resource);
}
