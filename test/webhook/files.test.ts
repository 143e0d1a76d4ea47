import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../src/kube/index.ts";
import { silentLogger } from "../../src/kube/logger.ts";
import { PairFileWatcher } from "../../src/webhook/files.ts";
import { pkiMinter } from "../../src/webhook/index.ts";

const dir = mkdtempSync(join(tmpdir(), "keyward-webhook-files-"));
process.on("exit", () => { rmSync(dir, { recursive: true, force: true }); });

function pair(): { cert: string; key: string } {
  const ca = pkiMinter.ca(Date.now(), 86_400_000);
  const p = pkiMinter.serving(ca, ["keyward-webhook.keyward-system.svc"], Date.now(), 86_400_000);
  return { cert: p.certPem, key: p.keyPem };
}

describe("the serving pair from files", () => {
  it("is loaded at once, reloaded when the files change, and a pair that does not load leaves the previous one serving", async () => {
    const files = { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") };
    const first = pair();
    writeFileSync(files.certFile, first.cert);
    writeFileSync(files.keyFile, first.key);
    const clock = new ManualClock(0);
    const loaded: string[] = [];
    const watcher = new PairFileWatcher({
      files, clock, log: silentLogger, pollIntervalMs: 10_000,
      load: (p) => { createSecureContext({ cert: p.cert, key: p.key }); loaded.push(p.cert); },
    });
    await watcher.check();
    expect(loaded).toEqual([first.cert]);

    const second = pair();
    writeFileSync(files.certFile, second.cert);
    writeFileSync(files.keyFile, first.key); // half-written: the key does not match
    // The next poll reads the files, fails to load them, and arms the poll after it.
    await clock.advance(10_000);
    await vi.waitFor(() => { expect(clock.pendingTimers()).toBe(1); });
    expect(loaded).toEqual([first.cert]);

    writeFileSync(files.keyFile, second.key);
    await clock.advance(10_000);
    await vi.waitFor(() => { expect(loaded).toEqual([first.cert, second.cert]); });
    watcher.stop();
  });
});
