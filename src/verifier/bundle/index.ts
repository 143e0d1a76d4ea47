export { BundleStore, type BundleState, type BundleStoreOptions, type OfferResult, type ReloadFailureReason, type SignatureRule } from "./store.ts";
export { concernsBundle, FileBundleSource, type FileBundleSourceOptions } from "./file-source.ts";
export { bundleReader, ConfigMapBundleSource, trustReader, type ConfigMapBundleSourceOptions, type ConfigMapReader } from "./configmap-source.ts";
export { TrustFileSource, type TrustFileSourceOptions } from "./trust-file-source.ts";
export { BUNDLE_KEY, bundleFilesOf, bundleTextOf, SIGNATURE_KEY } from "./text.ts";
