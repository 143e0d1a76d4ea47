// The parts of a Pod the injector reads and writes. Everything else of the object passes
// through untouched, so these types keep unknown fields.

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
  [field: string]: unknown;
}

export interface Container {
  name: string;
  ports?: ContainerPort[];
  [field: string]: unknown;
}

export interface Volume {
  name: string;
  [field: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  automountServiceAccountToken?: boolean;
  [field: string]: unknown;
}

export interface PodMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** A Pod, or the `template` of a workload: metadata and spec. */
export interface PodLike {
  metadata?: PodMeta;
  spec: PodSpec;
}
