import { VerificationError } from "../errors.ts";
import { parseCompact } from "./compact.ts";

/**
 * The header and claims of a token, without checking anything else, for display.
 * Throws VerificationError ERR_TOKEN_MALFORMED if it is not a compact JWS with
 * JSON object header and claims. Never trust what it returns.
 */
export function decodeUnverified(token: string): { header: unknown; claims: unknown } {
  if (typeof token !== "string") throw new VerificationError("ERR_TOKEN_MALFORMED", "the token is not a string");
  const parts = parseCompact(token.trim());
  if (typeof parts === "string") throw new VerificationError("ERR_TOKEN_MALFORMED", `the token is malformed: ${parts}`);
  return { header: parts.header, claims: parts.claims };
}
