// The verifier's Role (config/verifier/role.yaml) and the revocation segments: it may get
// exactly the segment ConfigMaps the controller writes, by the names src/model gives them.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { BUNDLE_CONFIGMAP_NAME, bundleSegmentNames } from "../../src/model/names.ts";
import { REPO_ROOT } from "./support/kustomize.ts";
import { grants, type Role } from "./support/k8s.ts";

const role = parseYaml(readFileSync(join(REPO_ROOT, "config/verifier/role.yaml"), "utf8")) as Role;

describe("config/verifier/role.yaml", () => {
  it("lets the verifier get exactly the segment ConfigMaps bundleSegmentNames() gives, in slot order, and nothing more of them", () => {
    const segmentRules = role.rules.filter((r) => (r.resourceNames ?? []).some((n) => n.startsWith(`${BUNDLE_CONFIGMAP_NAME}-revoked-`)));
    expect(segmentRules).toEqual([{ apiGroups: [""], resources: ["configmaps"], resourceNames: bundleSegmentNames(), verbs: ["get"] }]);
  });

  it("grants every segment slot get and no other verb, and no ConfigMap past the last slot", () => {
    for (const name of bundleSegmentNames()) {
      expect(grants(role.rules, "", "configmaps", "get", name), name).toBe(true);
      for (const verb of ["list", "watch", "update", "patch", "delete"]) expect(grants(role.rules, "", "configmaps", verb, name), `${verb} ${name}`).toBe(false);
    }
    expect(grants(role.rules, "", "configmaps", "get", `${BUNDLE_CONFIGMAP_NAME}-revoked-${bundleSegmentNames().length + 1}`)).toBe(false);
  });
});
