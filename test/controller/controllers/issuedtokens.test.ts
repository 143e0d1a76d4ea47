import { describe, expect, it } from "vitest";
import { createTokenServiceLogger } from "../../../src/issuer/index.ts";
import { LogCapture, MemoryEvents } from "../../issuer/support/fixture.ts";
import { auditRevocation } from "../../../src/controller/controllers/issuedtokens.ts";
import { record } from "../../model/support/issued-token.ts";

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
