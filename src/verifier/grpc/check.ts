// Envoy's gRPC external authorization (envoy.service.auth.v3.Authorization/Check) mapped onto
// the same decision as the HTTP authz mode: the original request's method, path and
// Authorization header in; the same identity headers, statuses and denial bodies out.
// Pure functions over the protobuf messages as @grpc/proto-loader presents them when loaded
// from a descriptor set (the protos' own snake_case field names, enums by name);
// ext-authz-server.ts serves them.

import { badRequestAnswer, type Answer } from "../answers.ts";
import { METHOD } from "../authz.ts";
import type { CheckRequest as Decidable, Decision } from "../decide.ts";
import { IDENTITY_HEADERS, identityHeaders, targetPath } from "../headers.ts";
import { answerFor } from "../respond.ts";

/** The parts of envoy.service.auth.v3.CheckRequest the verifier reads. */
export interface EnvoyCheckRequest {
  attributes?: {
    request?: {
      http?: {
        method?: string;
        /** The request target as in the request line: path and query. */
        path?: string;
        /**
         * Lower-case header names; repeated headers joined with ",". A protobuf map: loaded from
         * a descriptor set it arrives as its wire form, a list of entries.
         */
        headers?: Record<string, string> | { key?: string; value?: string }[];
        /** Used instead of `headers` when Envoy's encode_raw_headers is on. */
        header_map?: { headers?: { key?: string; value?: string; raw_value?: Buffer | Uint8Array }[] };
      } | null;
    } | null;
  } | null;
}

interface HeaderValueOption {
  header: { key: string; value: string };
  append_action: "OVERWRITE_IF_EXISTS_OR_ADD";
}

/** envoy.service.auth.v3.CheckResponse as the verifier writes it. */
export interface EnvoyCheckResponse {
  status: { code: number; message: string };
  denied_response?: { status: { code: number }; headers: HeaderValueOption[]; body: string };
  ok_response?: { headers: HeaderValueOption[]; headers_to_remove: string[] };
}

/** google.rpc.Code values used in CheckResponse.status. */
export const RpcCode = { OK: 0, INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

export type ParsedCheck = { ok: true; request: Decidable; keywardHeaders: string[] } | { ok: false; reason: string };

function headersOf(http: NonNullable<NonNullable<NonNullable<EnvoyCheckRequest["attributes"]>["request"]>["http"]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (key: string, value: string): void => {
    const name = key.toLowerCase();
    out.set(name, [...(out.get(name) ?? []), value]);
  };
  const map = http.headers ?? [];
  if (Array.isArray(map)) {
    for (const entry of map) if (entry.key !== undefined) add(entry.key, entry.value ?? "");
  } else {
    for (const [key, value] of Object.entries(map)) add(key, value);
  }
  for (const h of http.header_map?.headers ?? []) {
    if (h.key === undefined) continue;
    const value = h.raw_value !== undefined && h.raw_value.length > 0 ? Buffer.from(h.raw_value).toString("latin1") : (h.value ?? "");
    add(h.key, value);
  }
  return out;
}

/** The request to decide on, or why it cannot be checked (answered 400 like the HTTP form). */
export function parseCheck(req: EnvoyCheckRequest): ParsedCheck {
  const http = req.attributes?.request?.http;
  if (http === undefined || http === null) return { ok: false, reason: "the check request carries no HTTP request attributes" };
  const method = http.method ?? "";
  if (!METHOD.test(method)) return { ok: false, reason: "the original method is not an HTTP method" };
  const path = targetPath(http.path);
  if (path === null) return { ok: false, reason: "the request target must be an absolute path" };
  const headers = headersOf(http);
  const authorization = headers.get("authorization");
  if (authorization !== undefined && (authorization.length > 1 || authorization[0]!.includes(","))) {
    return { ok: false, reason: "send a single Authorization header" };
  }
  const keywardHeaders = [...headers.keys()].filter((name) => name.startsWith("x-keyward-"));
  return { ok: true, request: { method, path, authorization: authorization?.[0] }, keywardHeaders };
}

function options(pairs: readonly string[]): HeaderValueOption[] {
  const out: HeaderValueOption[] = [];
  for (let i = 0; i < pairs.length; i += 2) out.push({ header: { key: pairs[i]!, value: pairs[i + 1]! }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" });
  return out;
}

function rpcCodeFor(status: number): number {
  switch (status) {
    case 400:
      return RpcCode.INVALID_ARGUMENT;
    case 403:
      return RpcCode.PERMISSION_DENIED;
    case 503:
      return RpcCode.UNAVAILABLE;
    default:
      return RpcCode.UNAUTHENTICATED;
  }
}

/** A CheckResponse that denies with exactly the status, headers and body of the HTTP form. */
export function denied_response(answer: Answer): EnvoyCheckResponse {
  const code = (JSON.parse(answer.body) as { code?: string }).code ?? "";
  return {
    status: { code: rpcCodeFor(answer.status), message: code },
    denied_response: { status: { code: answer.status }, headers: options(Object.entries(answer.headers).flat()), body: answer.body },
  };
}

/**
 * The CheckResponse for a decision: allowed requests go on with the identity headers set
 * (overwriting any the client sent) and every other X-Keyward-* header the client sent removed.
 */
export function checkResponse(parsed: ParsedCheck, decide: (req: Decidable) => Decision): EnvoyCheckResponse {
  if (!parsed.ok) return denied_response(badRequestAnswer(parsed.reason));
  const d = decide(parsed.request);
  if (d.outcome !== "allow") return denied_response(answerFor(d));
  const set = new Set<string>(Object.values(IDENTITY_HEADERS).map((h) => h.toLowerCase()));
  return {
    status: { code: RpcCode.OK, message: "" },
    ok_response: { headers: options(identityHeaders(d.identity)), headers_to_remove: parsed.keywardHeaders.filter((h) => !set.has(h)) },
  };
}
