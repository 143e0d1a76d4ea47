// Why a Pod cannot be injected. Every error names the object, the annotation (or field) at
// fault and the fix; the admission webhook denies the Pod with this message, and
// `kubectl keyward inject` prints it. Callers branch on `code`, never on the text.

export const InjectionErrorCodes = [
  /** An annotation of the Pod has a value the sidecar cannot use. */
  "ERR_INJECT_ANNOTATION",
  /** A port the sidecar needs is taken by a container of the Pod. */
  "ERR_INJECT_PORT_CONFLICT",
  /** The Pod's spec rules the sidecar out (a name taken, no API access for the ConfigMap watch). */
  "ERR_INJECT_SPEC",
  /** The input is not a Pod or a workload with a Pod template. */
  "ERR_INJECT_INPUT",
] as const;

export type InjectionErrorCode = (typeof InjectionErrorCodes)[number];

export class InjectionError extends Error {
  readonly code: InjectionErrorCode;
  /** The annotation or field at fault, e.g. "keyward.dev/listen-port" or "spec.volumes". */
  readonly field: string;
  constructor(code: InjectionErrorCode, field: string, message: string) {
    super(message);
    this.name = "InjectionError";
    this.code = code;
    this.field = field;
  }
}
