import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/controller/runtime/logging.ts";
import type { Logger } from "../../../src/kube/logger.ts";

function capture(): { lines: Array<Record<string, unknown>>; logger: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  return { lines, logger };
}

describe("createLogger", () => {
  it("redacts Secret data, private keys and tokens that slip into a logged object", () => {
    const { lines, logger } = capture();
    logger.info(
      {
        secret: { data: { "key.jwk": "c2VjcmV0" }, stringData: { token: "eyJ..." } },
        jwk: { kid: "abc", d: "private-scalar" },
        token: "eyJhbGciOiJFZERTQSJ9.x.y",
        request: { authorization: "Bearer eyJ..." },
      },
      "something happened",
    );
    const text = JSON.stringify(lines);
    for (const secret of ["c2VjcmV0", "eyJ", "private-scalar"]) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ msg: "something happened", component: "keyward-controller", jwk: { kid: "abc", d: "[redacted]" } });
  });

  it("satisfies the runtime's Logger interface", () => {
    const { lines, logger } = capture();
    logger.warn({ controller: "apikey", key: "acme/reporting" }, "reconcile failed");
    expect(lines[0]).toMatchObject({ level: 40, controller: "apikey", key: "acme/reporting" });
  });
});
