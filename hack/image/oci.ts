// An OCI image archive: an OCI image layout (oci-layout, index.json, blobs/sha256/…) in one tar,
// holding one single-layer image for one platform. The layer is an uncompressed tar, so its digest
// is also its diff_id. index.json names the image with both annotations containerd reads on import:
// io.containerd.image.name (the full reference, used as is by `ctr images import`) and
// org.opencontainers.image.ref.name (the tag alone, as the OCI layout convention and containerd's
// own exporter have it; alone it would be taken for a tag and prefixed with "import-<date>").
import { digestHex, canonicalJson, sha256 } from "./digest.ts";
import { sortEntries, writeTarFile, type TarEntry, type WrittenBlob } from "./tar.ts";

export const MEDIA_TYPE = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
} as const;

export const ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name";
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

export interface Platform {
  os: "linux";
  architecture: "amd64" | "arm64";
}

/** What the image runs: the `config` object of the OCI image configuration. */
export interface RunConfig {
  User: string;
  WorkingDir?: string;
  Entrypoint: string[];
  Cmd?: string[];
  Env: string[];
  Labels: Record<string, string>;
}

export interface ImageSpec {
  /** Full reference, registry/repository:tag. */
  name: string;
  platform: Platform;
  run: RunConfig;
  /** RFC 3339, the same for every build of the same inputs. */
  created: string;
  /** The history entry's created_by: what made the layer. */
  createdBy: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** The tag of a reference (after the last ":" that follows the last "/"). */
export function referenceTag(name: string): string {
  const match = /^([a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+):([\w][\w.-]{0,127})$/.exec(name);
  if (!match) throw new Error(`image name ${JSON.stringify(name)} is not registry/repository:tag`);
  return match[2]!;
}

/** The image configuration blob for one layer. */
export function imageConfig(spec: ImageSpec, layerDigest: string): Buffer {
  return Buffer.from(canonicalJson({
    created: spec.created,
    architecture: spec.platform.architecture,
    os: spec.platform.os,
    config: spec.run,
    rootfs: { type: "layers", diff_ids: [layerDigest] },
    history: [{ created: spec.created, created_by: spec.createdBy }],
  }));
}

/** The image manifest blob. */
export function imageManifest(config: Descriptor, layer: Descriptor): Buffer {
  return Buffer.from(canonicalJson({ schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config, layers: [layer] }));
}

/** index.json: the one manifest, its platform and its name. */
export function imageIndex(manifest: Descriptor, name: string): Buffer {
  return Buffer.from(canonicalJson({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.index,
    manifests: [{
      ...manifest,
      annotations: { [ANNOTATION_CONTAINERD_NAME]: name, [ANNOTATION_REF_NAME]: referenceTag(name) },
    }],
  }));
}

export interface OciArchive {
  /** The manifest's digest: what `ctr images ls` shows and a pod's imageID names. */
  digest: string;
  configDigest: string;
  layer: WrittenBlob;
  /** The archive file's size in bytes. */
  size: number;
}

/**
 * Writes the OCI archive of a single-layer image to `out`. `layer` is an uncompressed tar
 * already written to a file, with its digest and size.
 */
export async function writeOciArchive(out: string, spec: ImageSpec, layer: WrittenBlob & { file: string }, mtime: number): Promise<OciArchive> {
  const config = imageConfig(spec, layer.digest);
  const configDescriptor: Descriptor = { mediaType: MEDIA_TYPE.config, digest: sha256(config), size: config.length };
  const layerDescriptor: Descriptor = { mediaType: MEDIA_TYPE.layer, digest: layer.digest, size: layer.size };
  const manifest = imageManifest(configDescriptor, layerDescriptor);
  const manifestDescriptor: Descriptor = { mediaType: MEDIA_TYPE.manifest, digest: sha256(manifest), size: manifest.length, platform: spec.platform };
  const blob = (digest: string): string => `blobs/sha256/${digestHex(digest)}`;
  const entries: TarEntry[] = [
    { type: "dir", path: "blobs", mode: 0o755 },
    { type: "dir", path: "blobs/sha256", mode: 0o755 },
    { type: "file", path: blob(configDescriptor.digest), mode: 0o644, source: { data: config } },
    { type: "file", path: blob(manifestDescriptor.digest), mode: 0o644, source: { data: manifest } },
    { type: "file", path: blob(layer.digest), mode: 0o644, source: { file: layer.file } },
    { type: "file", path: "index.json", mode: 0o644, source: { data: imageIndex(manifestDescriptor, spec.name) } },
    { type: "file", path: "oci-layout", mode: 0o644, source: { data: Buffer.from(canonicalJson({ imageLayoutVersion: "1.0.0" })) } },
  ];
  const archive = await writeTarFile(out, sortEntries(entries), { mtime });
  return { digest: manifestDescriptor.digest, configDigest: configDescriptor.digest, layer: { digest: layer.digest, size: layer.size }, size: archive.size };
}
