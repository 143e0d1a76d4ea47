// The Dockerfile, read: a Node 24 build, production dependencies installed apart, and a
// distroless final stage without a shell that runs as 65532 and holds only what runs.
// (test/integration/image.test.ts does what the stages do, without a Docker engine.)
import { describe, expect, it } from "vitest";
import { dockerignoreAllowlist, parseDockerfile, readDockerfile } from "./support/dockerfile.ts";

describe("the Dockerfile", () => {
  const stages = readDockerfile();
  const final = stages.at(-1)!;

  it("builds on node:24-bookworm-slim and runs on distroless Node.js 24 as the non-root user", () => {
    expect(stages.slice(0, -1).map((s) => s.image)).toEqual(["node:24-bookworm-slim", "node:24-bookworm-slim"]);
    expect(final.image).toBe("gcr.io/distroless/nodejs24-debian12:nonroot");
    expect(final.user).toBe("65532");
    expect(final.entrypoint).toEqual(["/nodejs/bin/node", "bin/keyward.js"]);
    expect(final.runs).toEqual([]);
  });

  it("compiles with the dev dependencies and installs production dependencies alone in a clean stage", () => {
    const build = stages.find((s) => s.runs.includes("npm run build"));
    expect(build?.runs[0]).toMatch(/^npm ci\b/);
    const prod = stages.find((s) => s.runs.some((r) => /^npm ci\b.*--omit=dev/.test(r)));
    expect(prod).toBeDefined();
    expect(prod?.copies.map((c) => c.sources).flat()).toEqual(["package.json", "package-lock.json"]);
    expect(prod).not.toBe(build);
    const fromStage = (name: string | null): string[] => final.copies.filter((c) => c.from === name).flatMap((c) => c.sources);
    expect(fromStage(prod!.name)).toEqual(["/app/node_modules/"]);
    expect(fromStage(build!.name)).toEqual(["/src/dist/"]);
    expect(fromStage(null).sort()).toEqual(["bin/", "crds/", "package.json"]);
  });

  it("copies from the build context only what .dockerignore lets in", () => {
    const allowed = dockerignoreAllowlist();
    const sources = stages.flatMap((s) => s.copies.filter((c) => c.from === null).flatMap((c) => c.sources)).map((s) => s.replace(/\/$/, ""));
    expect(sources.filter((s) => !allowed.includes(s))).toEqual([]);
    expect(allowed.sort()).toEqual(["bin", "crds", "package-lock.json", "package.json", "src", "tsconfig.build.json", "tsconfig.json"]);
  });
});

describe("parseDockerfile", () => {
  it("joins continued lines, names stages and reads COPY --from", () => {
    const stages = parseDockerfile([
      "# comment",
      "FROM a:1 AS one",
      "RUN echo \\",
      "  two",
      "FROM b:2",
      "COPY --from=one /x/ y/",
      "COPY p q r/",
      'ENTRYPOINT ["n", "m"]',
      "USER 7",
    ].join("\n"));
    expect(stages).toEqual([
      { image: "a:1", name: "one", copies: [], runs: ["echo    two"], user: null, entrypoint: null, workdir: null },
      {
        image: "b:2",
        name: null,
        copies: [{ from: "one", sources: ["/x/"], destination: "y/" }, { from: null, sources: ["p", "q"], destination: "r/" }],
        runs: [],
        user: "7",
        entrypoint: ["n", "m"],
        workdir: null,
      },
    ]);
  });
});
