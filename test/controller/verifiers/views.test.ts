import { describe, expect, it } from "vitest";
import { nextLedger } from "../../../src/controller/verifiers/views.ts";
import type { Bundle } from "../../../src/token/index.ts";

const T = Date.UTC(2026, 11, 1, 12);

function bundle(generation: number, kids: string[], generatedAt = "2026-12-01T11:59:58Z", jtis: string[] = []): Bundle {
  return { generation, generatedAt, keys: kids.map((kid) => ({ kid })), revoked: jtis.map((jti) => ({ jti })) } as unknown as Bundle;
}

describe("nextLedger", () => {
  it("keeps the first generation each key was seen in, and forgets keys the bundle no longer holds", () => {
    const first = nextLedger(undefined, bundle(10, ["a"]), T);
    const second = nextLedger(first, bundle(11, ["a", "b"]), T);
    const third = nextLedger(second, bundle(12, ["b"]), T);
    expect([...second.keys]).toEqual([["a", 10], ["b", 11]]);
    expect([...third.keys]).toEqual([["b", 11]]);
  });

  it("keeps the first generation each revoked jti was listed in", () => {
    const first = nextLedger(undefined, bundle(10, [], undefined, ["j1"]), T);
    expect([...nextLedger(first, bundle(11, [], undefined, ["j1", "j2"]), T).revoked]).toEqual([["j1", 10], ["j2", 11]]);
  });

  it("takes the current generation for keys of a bundle first seen after a restart", () => {
    expect([...nextLedger(undefined, bundle(42, ["a", "b"]), T).keys]).toEqual([["a", 42], ["b", 42]]);
  });

  it("dates the generation from the bundle's generatedAt, never later than now", () => {
    expect(nextLedger(undefined, bundle(1, []), T).sinceMs).toBe(T - 2000);
    expect(nextLedger(undefined, bundle(1, [], "2026-12-01T12:00:30Z"), T).sinceMs).toBe(T);
  });
});
