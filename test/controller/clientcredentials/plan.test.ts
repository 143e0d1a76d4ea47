import { describe, expect, it } from "vitest";
import type { ApiKey } from "../../../src/api/types.generated.ts";
import { API_VERSION } from "../../../src/api/types.generated.ts";
import type { SecretObject } from "../../../src/model/signing-key/secret.ts";
import { clientCredentialsSecret, clientSecretHashSecret, hashClientSecret, newClientSecret, readClientSecretHash } from "../../../src/model/client-credentials.ts";
import { planClientCredentials, type ClientCredentialsAction } from "../../../src/controller/clientcredentials/plan.ts";

function apiKey(annotation: string | undefined): ApiKey {
  return {
    apiVersion: API_VERSION,
    kind: "ApiKey",
    metadata: { name: "ingest", namespace: "acme", uid: "u-1", ...(annotation === undefined ? {} : { annotations: { "keyward.dev/client-credentials": annotation } }) },
    spec: {},
  };
}

const ENABLED = apiKey("enabled");
const decode = (s: SecretObject, key: string): string => Buffer.from(s.data?.[key] ?? "", "base64").toString("utf8");
const stored = (s: SecretObject): SecretObject => ({ ...s, metadata: { ...s.metadata, uid: `uid-${s.metadata.name ?? ""}`, resourceVersion: "7" } });
const verbs = (actions: ClientCredentialsAction[]): string[] => actions.map((a) => `${a.verb} ${a.verb === "delete" ? a.name : a.secret.metadata.name ?? ""}`);

describe("planClientCredentials", () => {
  it("mints the client Secret and its hash for an ApiKey that opts in", () => {
    const plan = planClientCredentials({ apiKey: ENABLED, credentials: undefined, hash: undefined, newSecret: () => "S".repeat(43) });
    expect(plan.minted).toBe(true);
    expect(verbs(plan.actions)).toEqual(["create ingest-client-credentials", "create ingest-client-credentials-hash"]);
    const [creds, hash] = plan.actions.map((a) => (a.verb === "delete" ? null : a.secret));
    expect(creds?.type).toBe("keyward.dev/client-credentials");
    expect(decode(creds!, "client_id")).toBe("acme/ingest");
    expect(decode(creds!, "client_secret")).toBe("S".repeat(43));
    expect(hash?.type).toBe("keyward.dev/client-secret-hash");
    expect(decode(hash!, "client_secret.sha256")).toBe(hashClientSecret("S".repeat(43)));
    expect(JSON.stringify(hash)).not.toContain(Buffer.from("S".repeat(43)).toString("base64"));
    expect(creds?.metadata.ownerReferences?.[0]).toMatchObject({ kind: "ApiKey", uid: "u-1", controller: true });
  });

  it("does nothing when both Secrets agree, and rewrites only a hash that does not match", () => {
    const secret = newClientSecret();
    const creds = stored(clientCredentialsSecret(ENABLED, secret));
    const hash = stored(clientSecretHashSecret(ENABLED, secret));
    expect(planClientCredentials({ apiKey: ENABLED, credentials: creds, hash })).toEqual({ actions: [], conflict: null, minted: false });
    expect(readClientSecretHash(hash, ENABLED)).toBe(hashClientSecret(secret));
    const stale = stored(clientSecretHashSecret(ENABLED, newClientSecret()));
    const plan = planClientCredentials({ apiKey: ENABLED, credentials: creds, hash: stale });
    expect(verbs(plan.actions)).toEqual(["replace ingest-client-credentials-hash"]);
    expect(plan.actions[0]?.verb === "replace" && plan.actions[0].secret.metadata.resourceVersion).toBe("7");
    expect(verbs(planClientCredentials({ apiKey: ENABLED, credentials: creds, hash: undefined }).actions)).toEqual(["create ingest-client-credentials-hash"]);
  });

  it("mints a new secret when the client Secret was altered", () => {
    const creds = stored(clientCredentialsSecret(ENABLED, "short"));
    const plan = planClientCredentials({ apiKey: ENABLED, credentials: creds, hash: undefined, newSecret: () => "N".repeat(43) });
    expect(plan.minted).toBe(true);
    expect(verbs(plan.actions)).toEqual(["replace ingest-client-credentials", "create ingest-client-credentials-hash"]);
  });

  it("deletes both Secrets when the annotation goes, and never touches a Secret that is not the ApiKey's", () => {
    const secret = newClientSecret();
    const creds = stored(clientCredentialsSecret(ENABLED, secret));
    const hash = stored(clientSecretHashSecret(ENABLED, secret));
    const off = planClientCredentials({ apiKey: apiKey(undefined), credentials: creds, hash });
    expect(off.actions).toEqual([
      { verb: "delete", namespace: "acme", name: "ingest-client-credentials", uid: "uid-ingest-client-credentials" },
      { verb: "delete", namespace: "acme", name: "ingest-client-credentials-hash", uid: "uid-ingest-client-credentials-hash" },
    ]);
    expect(planClientCredentials({ apiKey: apiKey("disabled"), credentials: creds, hash }).actions).toHaveLength(2);
    const foreign: SecretObject = { metadata: { name: "ingest-client-credentials", namespace: "acme" }, type: "Opaque", data: {} };
    const plan = planClientCredentials({ apiKey: ENABLED, credentials: foreign, hash: undefined });
    expect(plan.actions).toEqual([]);
    expect(plan.conflict).toContain("Secret acme/ingest-client-credentials exists but is not the client-credentials Secret of ApiKey acme/ingest");
    expect(planClientCredentials({ apiKey: apiKey(undefined), credentials: foreign, hash: undefined }).actions).toEqual([]);
    expect(readClientSecretHash(foreign, ENABLED)).toBeNull();
  });
});
