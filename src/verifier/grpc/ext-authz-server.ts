// The gRPC form of the authz mode: Envoy's envoy.service.auth.v3.Authorization/Check (Istio's
// envoyExtAuthzGrpc provider), served with @grpc/grpc-js from the descriptors Envoy publishes
// (envoy-descriptors.generated.ts). Same decider, same answers as the HTTP form (check.ts).

import { loadPackageDefinition, Server, ServerCredentials, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import type { Decider } from "../decide.ts";
import { checkResponse, parseCheck, type EnvoyCheckRequest, type EnvoyCheckResponse } from "./check.ts";
import { ENVOY_EXT_AUTHZ_DESCRIPTORS } from "./envoy-descriptors.generated.ts";

/** The fully qualified name of the service Envoy calls. */
export const EXT_AUTHZ_SERVICE = "envoy.service.auth.v3.Authorization";

let service: ServiceDefinition | undefined;

/** The Authorization service definition, from Envoy's own descriptors (loaded once). */
export function extAuthzService(): ServiceDefinition {
  if (service !== undefined) return service;
  const definition = loadFileDescriptorSetFromBuffer(Buffer.from(ENVOY_EXT_AUTHZ_DESCRIPTORS, "base64"), {
    keepCase: true,
    enums: String,
    longs: String,
    defaults: false,
    oneofs: true,
  });
  const root = loadPackageDefinition(definition) as unknown as { envoy: { service: { auth: { v3: { Authorization: { service: ServiceDefinition } } } } } };
  service = root.envoy.service.auth.v3.Authorization.service;
  return service;
}

export interface GrpcAuthzServer {
  readonly host: string;
  readonly port: number;
  /** Stops taking calls, lets calls in flight finish for up to `graceMs`, then closes. */
  stop(graceMs: number): Promise<void>;
}

/** Serves Check on host:port (plain HTTP/2, like the HTTP authz endpoint: the proxy sits next to it). */
export async function startGrpcAuthz(opts: { decider: Decider; host: string; port: number }): Promise<GrpcAuthzServer> {
  const server = new Server({ "grpc.max_receive_message_length": 1024 * 1024 });
  server.addService(extAuthzService(), {
    Check(call: ServerUnaryCall<EnvoyCheckRequest, EnvoyCheckResponse>, callback: sendUnaryData<EnvoyCheckResponse>): void {
      callback(null, checkResponse(parseCheck(call.request), (req) => opts.decider.decide(req)));
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
    server.bindAsync(`${host}:${opts.port}`, ServerCredentials.createInsecure(), (error, bound) => {
      if (error !== null) reject(new Error(`--grpc-listen ${opts.host}:${opts.port}: ${error.message}`));
      else resolve(bound);
    });
  });
  return {
    host: opts.host,
    port,
    stop: (graceMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
