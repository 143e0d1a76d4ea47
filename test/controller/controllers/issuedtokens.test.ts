import { describe, expect, it } from "vitest";
import type { ApiKey, IssuedToken } from "../../../src/api/types.generated.ts";
import { API_VERSION } from "../../../src/api/types.generated.ts";
import { createTokenServiceLogger } from "../../../src/issuer/index.ts";
import { LogCapture, MemoryEvents } from "../../issuer/support/fixture.ts";
import { auditRevocation } from "../../../src/controller/controllers/issuedtokens.ts";
import { issuedTokenObject } from "../../../src/model/issued-token.ts";

const apiKey: ApiKey = { apiVersion: API_VERSION, kind: "ApiKey", metadata: { name: "reporting", namespace: "acme", uid: "u-1" } };
const at = (iso: string): number => Date.parse(iso) / 1000;

function record(jti: string, opts: { exp?: string | null; revoked?: boolean; apiKeyName?: string } = {}): IssuedToken {
  const r = issuedTokenObject({
    apiKey: { ...apiKey, metadata: { ...apiKey.metadata, name: opts.apiKeyName ?? "reporting" } },
    jti,
    kid: "kid-1",
    issuedAt: at("2026-11-29T11:00:00Z"),
    expiresAt: opts.exp === null ? null : at(opts.exp ?? "2026-11-29T13:00:00Z"),
    issuedBy: "ApiKey acme/workflow",
  });
  r.spec.revoked = opts.revoked ?? false;
  r.metadata.uid = `uid-${jti}`;
  return r;
}

describe("auditRevocation", () => {
  it("logs and records an Event once, when a record becomes revoked, with no token", () => {
    const logs = new LogCapture();
    const log = createTokenServiceLogger({ destination: logs });
    const events = new MemoryEvents();
    const before = record("j1");
    const after = record("j1", { revoked: true });
    auditRevocation(null, before, log, events);
    auditRevocation(before, after, log, events);
    auditRevocation(after, after, log, events);
    expect(logs.entries().map((e) => e.audit)).toEqual(["token_revoked"]);
    expect(logs.entries()[0]).toMatchObject({ tenant: "acme", apiKey: "reporting", jti: "j1", kid: "kid-1", issuedBy: "ApiKey acme/workflow" });
    expect(events.events).toEqual([expect.objectContaining({ kind: "IssuedToken", reason: "TokenRevoked" })]);
  });
});
