export { BundleStore, type BundleState, type BundleStoreOptions, type OfferResult, type ReloadFailureReason } from "./store.ts";
export { concernsBundle, FileBundleSource, type FileBundleSourceOptions } from "./file-source.ts";
export { ConfigMapBundleSource, type ConfigMapBundleSourceOptions } from "./configmap-source.ts";
export { BUNDLE_KEY, bundleTextOf } from "./text.ts";
