// Reads the Dockerfile and .dockerignore as far as the image tests need: stages, their FROM,
// COPY, RUN, USER and ENTRYPOINT instructions, and the allowlist of the build context.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../../src/controlplane/index.ts";

export interface Copy {
  /** The stage copied from (COPY --from=…), or null for the build context. */
  from: string | null;
  sources: string[];
  destination: string;
}

export interface Stage {
  image: string;
  name: string | null;
  copies: Copy[];
  runs: string[];
  user: string | null;
  entrypoint: string[] | null;
  workdir: string | null;
}

/** The stages of a Dockerfile, in order. Continuation lines are joined; comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const instruction = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (instruction === "FROM") {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (from === null) throw new Error(`cannot read FROM ${rest}`);
      stages.push({ image: from[1]!, name: from[2] ?? null, copies: [], runs: [], user: null, entrypoint: null, workdir: null });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`${instruction} before any FROM`);
    if (instruction === "COPY") {
      const words = rest.split(/\s+/);
      const flags = words.filter((w) => w.startsWith("--"));
      const args = words.filter((w) => !w.startsWith("--"));
      const fromFlag = flags.find((f) => f.startsWith("--from="));
      stage.copies.push({ from: fromFlag === undefined ? null : fromFlag.slice("--from=".length), sources: args.slice(0, -1), destination: args.at(-1) ?? "" });
    } else if (instruction === "RUN") {
      stage.runs.push(rest);
    } else if (instruction === "USER") {
      stage.user = rest;
    } else if (instruction === "WORKDIR") {
      stage.workdir = rest;
    } else if (instruction === "ENTRYPOINT") {
      stage.entrypoint = JSON.parse(rest) as string[];
    }
  }
  return stages;
}

export function readDockerfile(): Stage[] {
  return parseDockerfile(readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8"));
}

/**
 * The paths an allowlist .dockerignore ("*" then "!path" lines) lets into the build context.
 * Throws when the file is not of that form: anything else is too easy to get wrong.
 */
export function dockerignoreAllowlist(): string[] {
  const lines = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (lines[0] !== "*") throw new Error(`.dockerignore must start by excluding everything ("*"), not ${JSON.stringify(lines[0])}`);
  return lines.slice(1).map((l) => {
    if (!l.startsWith("!")) throw new Error(`.dockerignore: after "*" only "!path" lines are expected, not ${JSON.stringify(l)}`);
    return l.slice(1).replace(/\/$/, "");
  });
}
