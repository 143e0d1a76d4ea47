// Path patterns of AccessPolicy rules. A pattern is a normalised path whose
// segments may also be `*` (exactly one segment) or `**` (zero or more
// segments): `/api/v0/**` matches `/api/v0` and everything below it.

import { normalizePath } from "./normalize.ts";

/** Whether a normalised path matches. */
export type PathMatcher = (path: string) => boolean;

/**
 * Why `pattern` is not a valid path pattern, or null if it is one. A valid
 * pattern starts with `/`, has no empty, `.` or `..` segments and no trailing
 * slash (except `/` itself), uses `*` only as a whole segment `*` or `**`, and
 * is otherwise already normalised (normalizePath leaves it unchanged).
 */
export function pathPatternProblem(pattern: string): string | null {
  if (typeof pattern !== "string") return "must be a string";
  if (!pattern.startsWith("/")) return "must start with \"/\"";
  if (pattern === "/") return null;
  const segments = pattern.slice(1).split("/");
  for (const segment of segments) {
    if (segment === "") return "must not contain an empty segment (\"//\") or end with \"/\"";
    if (segment === "." || segment === "..") return "must not contain \".\" or \"..\" segments";
    if (segment === "*" || segment === "**") continue;
    if (/[?#]/.test(segment)) return "must not contain \"?\" or \"#\": patterns match paths, without query or fragment";
    if (segment.includes("*")) return "may use \"*\" only as a whole segment: \"*\" for one segment, \"**\" for any number";
    let normalised: string;
    try {
      normalised = normalizePath(`/${segment}`);
    } catch (e) {
      return e instanceof Error ? e.message.replace(/^the request path/, "a segment") : "cannot be normalised";
    }
    if (normalised !== `/${segment}`) {
      return `segment "${segment}" is not in normal form: write it as "${normalised.slice(1)}" (unreserved characters unescaped, other escapes in upper-case hex)`;
    }
  }
  return null;
}

/** Segment-wise wildcard match: `*` is one segment, `**` any number (greedy with backtracking, O(n·m)). */
function matchSegments(pattern: readonly string[], path: readonly string[]): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < path.length) {
    const token = pattern[p];
    if (token !== undefined && token !== "**" && (token === "*" || token === path[s])) {
      p++;
      s++;
    } else if (token === "**") {
      starP = p;
      starS = s;
      p++;
    } else if (starP >= 0) {
      p = starP + 1;
      starS++;
      s = starS;
    } else {
      return false;
    }
  }
  while (pattern[p] === "**") p++;
  return p === pattern.length;
}

function segmentsOf(path: string): string[] {
  return path === "/" ? [] : path.slice(1).split("/");
}

/**
 * Compiles a path pattern into a matcher of normalised paths.
 * Throws an Error with pathPatternProblem's reason if the pattern is invalid.
 */
export function compilePathPattern(pattern: string): PathMatcher {
  const problem = pathPatternProblem(pattern);
  if (problem !== null) throw new Error(problem);
  if (!pattern.includes("*")) return (path) => path === pattern;
  if (pattern === "/**") return () => true;
  if (pattern.endsWith("/**") && !pattern.slice(0, -3).includes("*")) {
    const base = pattern.slice(0, -3);
    const below = `${base}/`;
    return (path) => path === base || path.startsWith(below);
  }
  const segments = segmentsOf(pattern);
  // The literal segments before the first wildcard: a path that does not start with them
  // cannot match, and is refused without being split.
  const wildcard = segments.findIndex((s) => s === "*" || s === "**");
  const prefix = wildcard <= 0 ? "" : `/${segments.slice(0, wildcard).join("/")}`;
  return (path) => path.startsWith(prefix) && matchSegments(segments, segmentsOfLast(path));
}

// The segments of the last path split: the policies of one request match the same path
// against each of their patterns, and it is split once. The arrays are never modified.
let lastPath: string | null = null;
let lastSegments: readonly string[] = [];

function segmentsOfLast(path: string): readonly string[] {
  if (path !== lastPath) {
    lastSegments = segmentsOf(path);
    lastPath = path;
  }
  return lastSegments;
}
