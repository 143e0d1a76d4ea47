import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePorts } from "../../src/controlplane/ports.ts";

describe("free ports", () => {
  it("returns distinct loopback ports that can be bound right away", async () => {
    const ports = await freePorts(4);
    expect(new Set(ports).size).toBe(4);
    for (const port of ports) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
