export { Kube, KubeApiError, eventually, keywardObject } from "./kube.ts";
export type { KubeObject, ObjectMeta, ObjectRef, OwnerReference, PollOptions, Table, WriteOptions } from "./kube.ts";
export { createNamespace, ensureSystemNamespace, SYSTEM_NAMESPACE, useNamespace } from "./namespace.ts";
export { CRD_DIR, readCrdFiles, validationRules } from "./crd-files.ts";
export type { CrdFile, PrinterColumn, ValidationRule } from "./crd-files.ts";
export type { TestNamespace } from "./namespace.ts";
