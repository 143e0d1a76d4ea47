// The V8 heap of another Node.js process, measured after a full garbage collection, through
// its inspector (the process runs with --inspect=127.0.0.1:<port>): HeapProfiler.collectGarbage,
// then process.memoryUsage() evaluated in it. The process's own code is not changed.

export interface HeapAfterGc {
  /** V8 heap in use after the collection (process.memoryUsage().heapUsed). */
  heapUsed: number;
  /** The V8 heap committed (process.memoryUsage().heapTotal): what V8 holds of the heap, used or not. */
  heapTotal: number;
  /** Memory outside the V8 heap that V8 objects hold (Buffers, ArrayBuffers, WebAssembly memories). */
  external: number;
  /** RSS at the same moment. */
  rss: number;
  /** Committed bytes of each V8 heap space, by name (v8.getHeapSpaceStatistics()). */
  spaces: Record<string, number>;
}

interface DevtoolsAnswer {
  id?: number;
  result?: { result?: { value?: unknown } };
  error?: { message?: string };
}

/** A connection to another process's inspector: calls answered by id, and events by method. */
export interface InspectorSession {
  call(method: string, params?: object): Promise<DevtoolsAnswer>;
  onEvent(method: string, listener: (params: unknown) => void): void;
  close(): void;
}

/** Connects to the inspector listening on `port` (the process's first target). */
export async function inspectorSession(port: number, timeoutMs = 30_000): Promise<InspectorSession> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl?: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => { resolve(); }, { once: true });
    ws.addEventListener("error", () => { reject(new Error(`cannot connect to the inspector at ${url}`)); }, { once: true });
  });
  let nextId = 1;
  return {
    call(method, params = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`inspector: ${method} unanswered after ${timeoutMs} ms`)); }, timeoutMs);
        const onMessage = (event: MessageEvent): void => {
          const answer = JSON.parse(String(event.data)) as DevtoolsAnswer;
          if (answer.id !== id) return;
          clearTimeout(timer);
          ws.removeEventListener("message", onMessage);
          if (answer.error !== undefined) reject(new Error(`inspector: ${method}: ${answer.error.message ?? "error"}`));
          else resolve(answer);
        };
        ws.addEventListener("message", onMessage);
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    onEvent(method, listener) {
      ws.addEventListener("message", (event: MessageEvent) => {
        const message = JSON.parse(String(event.data)) as { method?: string; params?: unknown };
        if (message.method === method) listener(message.params);
      });
    },
    close() {
      ws.close();
    },
  };
}

/** Collects garbage in the process listening for the inspector on `port`, then reads its memory. */
export async function heapAfterGc(port: number, timeoutMs = 30_000): Promise<HeapAfterGc> {
  const session = await inspectorSession(port, timeoutMs);
  try {
    // Twice: the first collection may leave what only a second one frees (weak references, finalizers).
    await session.call("HeapProfiler.collectGarbage");
    await session.call("HeapProfiler.collectGarbage");
    const expression = 'JSON.stringify({ ...process.memoryUsage(), spaces: process.getBuiltinModule("node:v8").getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]) })';
    const answer = await session.call("Runtime.evaluate", { expression, returnByValue: true });
    const value = answer.result?.result?.value;
    if (typeof value !== "string") throw new Error("inspector: process.memoryUsage() gave no answer");
    const usage = JSON.parse(value) as { heapUsed: number; heapTotal: number; external: number; rss: number; spaces: [string, number][] };
    return { heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, rss: usage.rss, spaces: Object.fromEntries(usage.spaces) };
  } finally {
    session.close();
  }
}
