import { describe, expect, it } from "vitest";
import type { AccessToken, ApiKey, ApiKeyStatus, OwnerReference } from "../../src/api/index.ts";
import { PluginError, planRevoke, planRevokeToken, planRotate, tokenFromSecret, tokenSecretName } from "../../src/plugin/index.ts";

const NOW = Date.parse("2026-11-29T12:00:00.000Z");
const KID_A = "Ab3dEf9xQrStUvWxYz0123456789abcdefghijklmno";
const KID_B = "Zz91XyzqQrStUvWxYz0123456789abcdefghijklmno";

function apiKey(spec: ApiKey["spec"] = {}, status?: ApiKeyStatus): ApiKey {
  return { apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name: "reporting", namespace: "acme" }, spec, ...(status === undefined ? {} : { status }) };
}

function refusal(f: () => unknown): PluginError {
  try {
    f();
  } catch (err) {
    if (err instanceof PluginError) return err;
    throw err;
  }
  throw new Error("the plan was made");
}

describe("planRotate", () => {
  it("sets spec.rotate to the current time, and only that", () => {
    const plan = planRotate(apiKey(), NOW);
    expect(plan.patch).toEqual({ spec: { rotate: "2026-11-29T12:00:00.000Z" } });
    expect(plan.warnings).toEqual([]);
  });

  it("makes the value unique when the current time was already requested or acted on", () => {
    expect(planRotate(apiKey({ rotate: "2026-11-29T12:00:00.000Z" }, { observedRequests: { rotate: "2026-11-29T12:00:00.000Z" } }), NOW).value).toBe(
      "2026-11-29T12:00:00.000Z-1",
    );
    expect(
      planRotate(apiKey({ rotate: "2026-11-29T12:00:00.000Z-1" }, { observedRequests: { rotate: "2026-11-29T12:00:00.000Z" } }), NOW).value,
    ).toBe("2026-11-29T12:00:00.000Z-2");
  });

  it("uses --value, but refuses one that would do nothing", () => {
    expect(planRotate(apiKey(), NOW, "CHG-1234").patch).toEqual({ spec: { rotate: "CHG-1234" } });
    expect(refusal(() => planRotate(apiKey({ rotate: "CHG-1" }), NOW, "CHG-1")).message).toContain('--value "CHG-1" is already spec.rotate of apikey "reporting"');
    expect(refusal(() => planRotate(apiKey({}, { observedRequests: { rotate: "CHG-1" } }), NOW, "CHG-1")).message).toContain("was already acted on");
  });

  it("warns when a rotation is already pending: a prepared key, or a request not yet acted on", () => {
    const prepared = apiKey(
      { rotate: "b" },
      {
        observedRequests: { rotate: "a" },
        keys: [
          { kid: KID_A, algorithm: "EdDSA", state: "active", createdAt: "2026-11-01T00:00:00Z" },
          { kid: KID_B, algorithm: "EdDSA", state: "prepared", createdAt: "2026-11-29T11:58:00Z", activatesAt: "2026-11-29T12:03:00Z" },
        ],
      },
    );
    const plan = planRotate(prepared, NOW);
    expect(plan.warnings).toHaveLength(2);
    expect(plan.warnings[0]).toBe(
      'a rotation of apikey "reporting" is already pending: key Zz91Xyzq is prepared and becomes active at 2026-11-29T12:03:00Z. Rotating again before tokens were redistributed may break them',
    );
    expect(plan.warnings[1]).toContain('the previous request spec.rotate="b" of apikey "reporting" in namespace "acme" has not been acted on yet');
  });
});

describe("planRevoke", () => {
  it("drops the deposed key with a new spec.dropDeposed value, warning when there is none", () => {
    const withDeposed = apiKey({}, { keys: [{ kid: KID_A, algorithm: "EdDSA", state: "deposed", createdAt: "2026-10-01T00:00:00Z" }] });
    expect(planRevoke(withDeposed, { kind: "deposed", value: undefined }, NOW)).toMatchObject({
      patch: { spec: { dropDeposed: "2026-11-29T12:00:00.000Z" } },
      warnings: [],
    });
    expect(planRevoke(apiKey(), { kind: "deposed", value: "INC-7" }, NOW).warnings).toEqual([
      'apikey "reporting" has no deposed key now: the request is recorded but there is nothing to drop',
    ]);
  });

  it("revokes everything with a new spec.revokeAll value", () => {
    const plan = planRevoke(apiKey({ revokeAll: "INC-1" }, { observedRequests: { revokeAll: "INC-1" } }), { kind: "all", value: "INC-2" }, NOW);
    expect(plan.patch).toEqual({ spec: { revokeAll: "INC-2" } });
    expect(plan.effect).toContain("every token issued so far is refused");
    expect(refusal(() => planRevoke(apiKey({ revokeAll: "INC-1" }), { kind: "all", value: "INC-1" }, NOW)).code).toBe("ERR_PLUGIN_REFUSED");
  });

  it("sets spec.revokeIssuedBefore in UTC, keeping sub-second precision so that nothing earlier is let through", () => {
    expect(planRevoke(apiKey(), { kind: "before", time: "2026-11-29T12:00:00+01:00" }, NOW).patch).toEqual({ spec: { revokeIssuedBefore: "2026-11-29T11:00:00Z" } });
    expect(planRevoke(apiKey(), { kind: "before", time: "2026-11-29T11:59:59.250Z" }, NOW).patch).toEqual({ spec: { revokeIssuedBefore: "2026-11-29T11:59:59.250Z" } });
    expect(planRevoke(apiKey(), { kind: "before", time: "now" }, NOW + 500).patch).toEqual({ spec: { revokeIssuedBefore: "2026-11-29T12:00:00.500Z" } });
  });

  it("moves the cut-off only later, and does nothing when it is already there", () => {
    const cut = apiKey({ revokeIssuedBefore: "2026-11-29T10:00:00Z" });
    expect(planRevoke(cut, { kind: "before", time: "2026-11-29T11:00:00Z" }, NOW).patch).toEqual({ spec: { revokeIssuedBefore: "2026-11-29T11:00:00Z" } });
    expect(planRevoke(cut, { kind: "before", time: "2026-11-29T11:00:00+01:00" }, NOW).patch).toBeNull();
    expect(refusal(() => planRevoke(cut, { kind: "before", time: "2026-11-29T09:00:00Z" }, NOW)).message).toBe(
      'spec.revokeIssuedBefore of apikey "reporting" is already 2026-11-29T10:00:00Z, later than 2026-11-29T09:00:00Z: it can only move later (revocation is irreversible). Give a later --before',
    );
  });

  it("refuses a cut-off in the future, which would refuse tokens as soon as they are issued", () => {
    expect(refusal(() => planRevoke(apiKey(), { kind: "before", time: "2026-11-29T13:00:00Z" }, NOW)).message).toContain("is in the future");
    expect(planRevoke(apiKey(), { kind: "before", time: "2026-11-29T12:00:30Z" }, NOW).patch).not.toBeNull();
  });
});

describe("planRevokeToken", () => {
  const at = (revoked?: boolean): AccessToken => ({
    apiVersion: "keyward.dev/v1alpha1",
    kind: "AccessToken",
    metadata: { name: "ingest", namespace: "acme" },
    spec: { apiKeyName: "ingest", ...(revoked === undefined ? {} : { revoked }) },
  });

  it("sets spec.revoked to true, once", () => {
    expect(planRevokeToken(at())).toEqual({ spec: { revoked: true } });
    expect(planRevokeToken(at(false))).toEqual({ spec: { revoked: true } });
    expect(planRevokeToken(at(true))).toBeNull();
  });
});

describe("the token Secret", () => {
  const jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJpbmdlc3QifQ.c2lnbmF0dXJl";
  const owner: AccessToken = {
    apiVersion: "keyward.dev/v1alpha1",
    kind: "AccessToken",
    metadata: { name: "ingest", namespace: "acme", uid: "uid-1" },
    spec: { apiKeyName: "ingest" },
  };
  const controlledBy = (uid: string, controller = true): { metadata: { name: string; ownerReferences: OwnerReference[] } } => ({
    metadata: { name: "ingest-token", ownerReferences: [{ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", name: "ingest", uid, controller }] },
  });
  const secret = (type: string | undefined, data?: Record<string, string>, uid = "uid-1", controller = true): object => ({
    ...controlledBy(uid, controller),
    ...(type === undefined ? {} : { type }),
    ...(data === undefined ? {} : { data }),
  });
  const token = { token: Buffer.from(jwt).toString("base64") };

  it("is named by status.secretName, else spec.secretName, else the AccessToken's name", () => {
    expect(tokenSecretName(owner)).toBe("ingest");
    expect(tokenSecretName({ ...owner, spec: { ...owner.spec, secretName: "spec-name" } })).toBe("spec-name");
    expect(tokenSecretName({ ...owner, spec: { ...owner.spec, secretName: "spec-name" }, status: { secretName: "status-name" } })).toBe("status-name");
  });

  it("gives its token only when it is the access-token Secret the controller wrote for that AccessToken, holding a JWT", () => {
    expect(tokenFromSecret(secret("keyward.dev/access-token", token), owner)).toBe(jwt);
    expect(() => tokenFromSecret(secret("Opaque", token), owner)).toThrow(/is of type Opaque, not keyward.dev\/access-token/);
    expect(() => tokenFromSecret(secret(undefined), owner)).toThrow(/is of type Opaque/);
    expect(() => tokenFromSecret(secret("keyward.dev/access-token", token, "uid-2"), owner)).toThrow(/is not controlled by accesstoken "ingest"/);
    expect(() => tokenFromSecret(secret("keyward.dev/access-token", token, "uid-1", false), owner)).toThrow(/is not controlled by/);
    expect(() => tokenFromSecret(secret("keyward.dev/access-token", token, ""), { ...owner, metadata: { ...owner.metadata, uid: "" } })).toThrow(/is not controlled by/);
    expect(() => tokenFromSecret(secret("keyward.dev/access-token", {}), owner)).toThrow(/holds no token: the controller has not issued one yet/);
    expect(() => tokenFromSecret(secret("keyward.dev/access-token", { token: Buffer.from("not a jwt").toString("base64") }), owner)).toThrow(/holds no JWT/);
  });
});
