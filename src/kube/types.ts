// Kubernetes object shapes as they travel over the wire (JSON): times are RFC 3339
// strings, not Date objects. Only the fields the runtime itself reads are typed.
// The metadata shapes shared with the CRD types come from src/api.

import type { ListMeta, ObjectMeta as ApiObjectMeta, OwnerReference } from "../api/types.generated.ts";

export type { ListMeta, OwnerReference };

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: "Apply" | "Update";
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

/** The API's object metadata, plus the fields only the runtime reads. */
export interface ObjectMeta extends ApiObjectMeta {
  deletionGracePeriodSeconds?: number;
  managedFields?: ManagedFieldsEntry[];
}

/** Any Kubernetes object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** metav1.Status, the body of every API error response. */
export interface Status {
  apiVersion?: string;
  kind?: "Status";
  status?: "Success" | "Failure";
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** A watch event. Server ERROR events are not events here: the client throws them as typed errors. */
export type WatchEvent<T extends KubeObject> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T }
  | { type: "BOOKMARK"; object: KubeObject };

/** coordination.k8s.io/v1 Lease. Times are MicroTime: RFC 3339 with six fractional digits. */
export interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
}

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** core/v1 Event. */
export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  type?: "Normal" | "Warning";
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string | null;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
  action?: string;
}

/** Namespaced objects are keyed "namespace/name", cluster-scoped ones "name" (as in client-go). */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name ?? "";
  const ns = obj.metadata?.namespace;
  return ns !== undefined && ns !== "" ? `${ns}/${name}` : name;
}

export function makeKey(namespace: string | undefined, name: string): string {
  return namespace !== undefined && namespace !== "" ? `${namespace}/${name}` : name;
}

/** Splits an object key into namespace (undefined for cluster-scoped) and name. */
export function parseKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf("/");
  if (i < 0) return { namespace: undefined, name: key };
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
