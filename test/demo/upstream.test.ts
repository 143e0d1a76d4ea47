import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpProbe, startUpstream, type Upstream } from "../../src/demo/index.ts";

let upstream: Upstream;
let probe: HttpProbe;

beforeAll(async () => {
  upstream = await startUpstream();
  probe = new HttpProbe(upstream.url);
});

afterAll(async () => {
  probe.close();
  await upstream.close();
});

describe("the demo's upstream workload", () => {
  it("answers 200 and records the identity headers a verifier adds", async () => {
    const answer = await probe.send({
      method: "POST",
      path: "/api/v0/streams/orders/records",
      body: "{}",
      headers: { "x-keyward-api-key": "reporting", "x-keyward-tenant": "acme", "x-keyward-token-id": "jti-1" },
    });
    expect(answer.status).toBe(200);
    const seen = { method: "POST", path: "/api/v0/streams/orders/records", apiKey: "reporting", tenant: "acme", tokenId: "jti-1", authorization: false };
    expect(upstream.seen.at(-1)).toEqual(seen);
    expect(JSON.parse(answer.body)).toEqual({ workload: "keyward-demo", ...seen });
  });

  it("notices an Authorization header that reached it", async () => {
    await probe.send({ path: "/", token: "leaked" });
    expect(upstream.seen.at(-1)).toMatchObject({ authorization: true, apiKey: null });
  });
});
