// The V8 heap of another Node.js process, measured after a full garbage collection, through
// its inspector (the process runs with --inspect=127.0.0.1:<port>): HeapProfiler.collectGarbage,
// then process.memoryUsage() evaluated in it. The process's own code is not changed.

export interface HeapAfterGc {
  /** V8 heap in use after the collection (process.memoryUsage().heapUsed). */
  heapUsed: number;
  /** RSS at the same moment. */
  rss: number;
}

interface DevtoolsAnswer {
  id?: number;
  result?: { result?: { value?: unknown } };
  error?: { message?: string };
}

/** Collects garbage in the process listening for the inspector on `port`, then reads its memory. */
export async function heapAfterGc(port: number, timeoutMs = 30_000): Promise<HeapAfterGc> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl?: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => { resolve(); }, { once: true });
      ws.addEventListener("error", () => { reject(new Error(`cannot connect to the inspector at ${url}`)); }, { once: true });
    });
    let nextId = 1;
    const call = (method: string, params: object = {}): Promise<DevtoolsAnswer> => {
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
    };
    // Twice: the first collection may leave what only a second one frees (weak references, finalizers).
    await call("HeapProfiler.collectGarbage");
    await call("HeapProfiler.collectGarbage");
    const answer = await call("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true });
    const value = answer.result?.result?.value;
    if (typeof value !== "string") throw new Error("inspector: process.memoryUsage() gave no answer");
    const usage = JSON.parse(value) as { heapUsed: number; rss: number };
    return { heapUsed: usage.heapUsed, rss: usage.rss };
  } finally {
    ws.close();
  }
}
