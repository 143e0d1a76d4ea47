import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KEYWARD_RELEASE } from "../../src/model/release.ts";

describe("KEYWARD_RELEASE", () => {
  it("is the version of package.json, as verifiers report it", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(KEYWARD_RELEASE).toBe(pkg.version);
  });
});
