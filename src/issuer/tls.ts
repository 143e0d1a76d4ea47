// The serving certificate from files (a mounted Secret), reloaded when they
// change: the service polls them and swaps the secure context of the running
// server. A pair that does not load (a half-written update, a key that does not
// match) is refused and the previous one stays in use.

import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/** Reads and checks the pair: throws with a message naming the files when it cannot serve. */
export async function loadTlsPair(files: TlsFiles): Promise<TlsPair> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`the certificate ${files.certFile} and key ${files.keyFile} cannot serve TLS: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { cert, key };
}

export function samePair(a: TlsPair, b: TlsPair): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key);
}
