// The workload behind the verifiers the benches start: answers every request 200 with a
// small JSON body, so that what is measured is the verifier and the path to it.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const BODY = Buffer.from('{"ok":true}');

/** Starts the upstream on a free loopback port; returns it and its URL. */
export async function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => { res.writeHead(200, { "content-type": "application/json", "content-length": BODY.length }).end(BODY); });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
