export { BundleStore, type BundleState, type BundleStoreOptions, type OfferResult, type ReloadFailureReason, type SignatureRule } from "./store.ts";
export { concernsBundle, FileBundleSource, fileSegmentReader, type FileBundleSourceOptions } from "./file-source.ts";
export { bundleReader, ConfigMapBundleSource, configMapSegmentReader, trustReader, type ConfigMapBundleSourceOptions, type ConfigMapReader } from "./configmap-source.ts";
export { isSegmentSlot, SegmentCache, type Assembled, type SegmentReader } from "./segments.ts";
export { TrustFileSource, type TrustFileSourceOptions } from "./trust-file-source.ts";
export { BUNDLE_KEY, bundleFilesOf, bundleTextOf, SIGNATURE_KEY } from "./text.ts";
