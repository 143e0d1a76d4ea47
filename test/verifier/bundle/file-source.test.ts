// The file source through a running verifier: a mounted ConfigMap directory updated the
// way the kubelet does it (a new timestamped directory, then an atomic `..data` swap).

import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeFixture, revocationSegment, T0, TestClock, type Fixture } from "../support/fixture.ts";
import { bearer, eventually, send, signForTest, startTestVerifier, startUpstream, type TestVerifier, type Upstream } from "../support/http.ts";
import { bundleSegmentName } from "../../../src/model/names.ts";
import { TokenVerifier, type RevokedSegmentRef } from "../../../src/token/index.ts";
import { concernsBundle, FileBundleSource, type WatchDirectory } from "../../../src/verifier/bundle/file-source.ts";
import { BundleStore } from "../../../src/verifier/bundle/store.ts";
import { createLogger } from "../../../src/verifier/log.ts";
import { VerifierMetrics } from "../../../src/verifier/metrics.ts";

const silent = createLogger("silent");

let fx: Fixture;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  fx = await makeFixture();
});

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A segment of `jtis` in slot `slot` as a file of the projected volume, and the head's reference to it. */
function segmentFile(slot: number, jtis: string[]): { file: Record<string, string>; ref: RevokedSegmentRef } {
  const s = revocationSegment(slot, jtis);
  return { file: { [`${s.name}.json`]: s.text }, ref: s.ref };
}

/**
 * A directory laid out like a ConfigMap volume (or the injector's projected volume, with
 * `files` such as the segments' keyward-bundle-revoked-<n>.json), and a function doing the
 * kubelet's update: every file of one update in a new directory, then the `..data` swap.
 */
async function configMapVolume(text: string, files: Record<string, string> = {}): Promise<{ dir: string; update(text: string, files?: Record<string, string>): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "keyward-volume-"));
  let n = 0;
  let links = new Set<string>();
  const writeVersion = async (content: string, extra: Record<string, string>): Promise<string> => {
    n += 1;
    const version = `..2026_11_29_12_00_0${n}.${1000 + n}`;
    await mkdir(join(dir, version));
    const all = { "bundle.json": content, "jwks.json": "{\"keys\":[]}", "bundle.jws": await signForTest(content, T0), ...extra };
    for (const [name, data] of Object.entries(all)) await writeFile(join(dir, version, name), data);
    // The top-level links to ..data/<file>, as the kubelet keeps them: one per file of the update.
    for (const name of Object.keys(all)) if (!links.has(name)) await symlink(`..data/${name}`, join(dir, name));
    for (const name of links) if (!(name in all)) await rm(join(dir, name));
    links = new Set(Object.keys(all));
    return version;
  };
  const first = await writeVersion(text, files);
  await symlink(first, join(dir, "..data"));
  let current = first;
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return {
    dir,
    update: async (content, extra = {}) => {
      const next = await writeVersion(content, extra);
      await symlink(next, join(dir, "..data_tmp"));
      await rename(join(dir, "..data_tmp"), join(dir, "..data"));
      await rm(join(dir, current), { recursive: true });
      current = next;
    },
  };
}


async function verifierOn(path: string | null, args: string[] = [], clock = new TestClock()): Promise<{ v: TestVerifier; upstream: Upstream }> {
  const upstream = await startUpstream();
  const v = await startTestVerifier({
    args: ["--mode", "proxy", "--upstream", upstream.url, ...(path === null ? [] : ["--bundle-file", path]), ...args],
    bundleText: null,
    deps: { now: clock.now },
  });
  cleanup.push(() => upstream.close(), () => v.stop());
  return { v, upstream };
}

async function readyz(v: TestVerifier): Promise<{ status: number; body: string }> {
  const r = await send(v.adminPort, { path: "/readyz" });
  return { status: r.status, body: r.body };
}

async function reloadFailures(v: TestVerifier, reason: string): Promise<number> {
  const m = await v.verifier.metrics.reloadFailures.get();
  return m.values.find((x) => x.labels.reason === reason)?.value ?? 0;
}

describe("file bundle source", () => {
  it("fails closed with 503 until a first bundle exists, then serves", async () => {
    const { v } = await verifierOn(null);
    const token = await fx.token();
    const r = await send(v.port, { headers: bearer(token) });
    expect(r.status).toBe(503);
    expect(r.headers["retry-after"]).toBe("5");
    expect(JSON.parse(r.body)).toMatchObject({ code: "ERR_NO_BUNDLE" });
    const notReady = await readyz(v);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toContain("does not exist");
    expect((await send(v.adminPort, { path: "/healthz" })).status).toBe(200);

    await v.writeBundle(fx.bundleText());
    await eventually(async () => (await readyz(v)).status === 200, "the verifier to become ready");
    expect((await send(v.port, { headers: bearer(token) })).status).toBe(200);
  });

  it("follows the kubelet's ..data symlink swap of a ConfigMap volume", async () => {
    const volume = await configMapVolume(fx.bundleText({ generation: 1 }));
    const { v } = await verifierOn(volume.dir);
    const token = await fx.token({ jti: "c3dhcHBlZC10b2tlbi0wMQ" });
    expect((await send(v.port, { headers: bearer(token) })).status).toBe(200);

    // The poll interval is an hour: only the directory watch can see this.
    await volume.update(fx.bundleText({ generation: 2, revoked: [{ jti: "c3dhcHBlZC10b2tlbi0wMQ", apiKey: "reporting", exp: null }] }));
    await eventually(() => v.verifier.store.generation() === 2, "generation 2 to load");
    const r = await send(v.port, { headers: bearer(token) });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ code: "ERR_TOKEN_REVOKED" });
  });

  it("reads the segments a head names as <name>.json files of the projected volume, from the same kubelet update as bundle.json", async () => {
    const one = segmentFile(1, ["aW4tc2VnbWVudC0x"]);
    const volume = await configMapVolume(fx.bundleText({ generation: 1, revokedSegments: [one.ref] }), one.file);
    const { v } = await verifierOn(volume.dir);
    const inOne = await fx.token({ jti: "aW4tc2VnbWVudC0x" });
    const inTwo = await fx.token({ jti: "aW4tc2VnbWVudC0y" });
    expect(JSON.parse((await send(v.port, { headers: bearer(inOne) })).body)).toMatchObject({ code: "ERR_TOKEN_REVOKED" });
    expect((await send(v.port, { headers: bearer(inTwo) })).status).toBe(200);

    // The segment rewritten into another slot, and slot 1 no longer in the volume.
    const two = segmentFile(2, ["aW4tc2VnbWVudC0y"]);
    await volume.update(fx.bundleText({ generation: 2, revokedSegments: [two.ref] }), two.file);
    await eventually(() => v.verifier.store.generation() === 2, "generation 2 to load");
    expect((await send(v.port, { headers: bearer(inOne) })).status).toBe(200);
    expect(JSON.parse((await send(v.port, { headers: bearer(inTwo) })).body)).toMatchObject({ code: "ERR_TOKEN_REVOKED" });
  });

  it("keeps the previous generation while a segment file the head names is missing, and takes the head once an update brings it", async () => {
    const volume = await configMapVolume(fx.bundleText({ generation: 1 }));
    const { v } = await verifierOn(volume.dir);
    const three = segmentFile(3, ["aW4tc2VnbWVudC0z"]);
    const head = fx.bundleText({ generation: 2, revokedSegments: [three.ref] });
    await volume.update(head);
    await eventually(async () => (await reloadFailures(v, "ERR_BUNDLE_SEGMENT_MISSING")) === 1, "the missing segment to be reported");
    expect(v.verifier.store.generation()).toBe(1);
    expect(v.verifier.store.lastFailure()).toContain(`${bundleSegmentName(3)}.json`);
    await volume.update(head, three.file);
    await eventually(() => v.verifier.store.generation() === 2, "generation 2 to load");
  });

  it("polls when no watch event comes", async () => {
    const volume = await configMapVolume(fx.bundleText({ generation: 1 }));
    const store = new BundleStore({ tenant: "acme", verifier: new TokenVerifier(), now: new TestClock().now, maxBundleAgeMs: null, signatures: null, logger: silent, metrics: new VerifierMetrics(() => null) });
    // A watch that never reports anything: only the poll can see the update.
    const watched: string[] = [];
    const source = new FileBundleSource({
      path: join(volume.dir, "bundle.json"),
      pollIntervalMs: 50,
      store,
      logger: silent,
      watch: (dir) => {
        watched.push(dir);
        return { close: () => undefined, on: () => undefined } as unknown as ReturnType<WatchDirectory>;
      },
    });
    cleanup.push(() => source.stop());
    await source.start();
    expect(store.generation()).toBe(1);
    expect(watched).toEqual([volume.dir]);
    await volume.update(fx.bundleText({ generation: 7 }));
    await eventually(() => store.generation() === 7, "generation 7 to load");
  });

  it("keeps the last good bundle when the file becomes corrupt", async () => {
    const volume = await configMapVolume(fx.bundleText({ generation: 3 }));
    const { v } = await verifierOn(volume.dir);
    await volume.update("{ this is not json");
    await eventually(async () => (await reloadFailures(v, "ERR_BUNDLE_JSON")) === 1, "the reload failure to be counted");
    expect(v.verifier.store.generation()).toBe(3);
    expect((await send(v.port, { headers: bearer(await fx.token()) })).status).toBe(200);
    expect(v.logs.events("bundle_refused")[0]!.msg).toContain("keeping generation 3");
  });

  it("refuses a lower generation", async () => {
    const volume = await configMapVolume(fx.bundleText({ generation: 10 }));
    const { v } = await verifierOn(volume.dir);
    await volume.update(fx.bundleText({ generation: 9, revoked: [{ jti: "x", apiKey: "reporting", exp: null }] }));
    await eventually(async () => (await reloadFailures(v, "ERR_BUNDLE_GENERATION_REGRESSION")) === 1, "the regression to be refused");
    expect(v.verifier.store.generation()).toBe(10);
    await volume.update(fx.bundleText({ generation: 11 }));
    await eventually(() => v.verifier.store.generation() === 11, "generation 11 to load");
  });

  it("refuses a bundle of another tenant with a clear log line, failing closed", async () => {
    const volume = await configMapVolume(fx.bundleText({ tenant: "globex" }));
    const { v } = await verifierOn(volume.dir);
    expect((await send(v.port, { headers: bearer(await fx.token()) })).status).toBe(503);
    const line = v.logs.events("bundle_refused")[0]!;
    expect(line).toMatchObject({ reason: "ERR_BUNDLE_TENANT", level: 40 });
    expect(line.msg).toMatch(/tenant "globex" but this verifier enforces tenant "acme"/);
  });

  it("reads a ConfigMap manifest file as well as bundle.json", async () => {
    const dir = await mkdtemp(join(tmpdir(), "keyward-manifest-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "cm.yaml");
    const text = fx.bundleText({ generation: 4 });
    await writeFile(file, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keyward-bundle\n  namespace: acme\ndata:\n  bundle.json: '${text}'\n  bundle.jws: '${await signForTest(text, T0)}'\n`);
    const { v } = await verifierOn(file);
    expect(v.verifier.store.generation()).toBe(4);
  });
});

describe("--max-bundle-age", () => {
  it("fails closed once the bundle was not confirmed for too long, and recovers on the next read", async () => {
    const clock = new TestClock();
    const volume = await configMapVolume(fx.bundleText());
    const { v } = await verifierOn(volume.dir, ["--max-bundle-age", "5m"], clock);
    const token = await fx.token({ lifetimeSeconds: 86_400 });
    expect((await send(v.port, { headers: bearer(token) })).status).toBe(200);

    clock.advance(5 * 60_000 + 1);
    const r = await send(v.port, { headers: bearer(token) });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ code: "ERR_BUNDLE_STALE" });
    const ready = await readyz(v);
    expect(ready.status).toBe(503);
    expect(ready.body).toContain("--max-bundle-age");

    // The source reads the same bundle again: that confirms it.
    await volume.update(fx.bundleText());
    await eventually(async () => (await send(v.port, { headers: bearer(token) })).status === 200, "the bundle to be confirmed");
  });
});

describe("which changes in the bundle directory trigger a read", () => {
  it("reads again when the bundle file itself changes", () => {
    expect(concernsBundle("bundle.json", "bundle.json")).toBe(true);
  });

  it("reads again when the kubelet swaps the ..data symlink or writes a timestamped directory", () => {
    expect(concernsBundle("..data", "bundle.json")).toBe(true);
    expect(concernsBundle("..data_tmp", "bundle.json")).toBe(true);
    expect(concernsBundle("..2026_11_29_12_00_00.123456789", "bundle.json")).toBe(true);
  });

  it("reads again when the platform does not say what changed", () => {
    expect(concernsBundle(null, "bundle.json")).toBe(true);
  });

  it("reads again when a segment file changes", () => {
    expect(concernsBundle("keyward-bundle-revoked-7.json", "bundle.json")).toBe(true);
  });

  it("ignores other files written beside the bundle, such as logs", () => {
    expect(concernsBundle("verifier.log", "bundle.json")).toBe(false);
    expect(concernsBundle("jwks.json", "bundle.json")).toBe(false);
  });
});
