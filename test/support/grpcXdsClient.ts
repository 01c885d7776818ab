/**
 * A real xDS gRPC client (`@grpc/grpc-js-xds`) for the proxyless tests. Each client gets its own
 * bootstrap through the channel option grpc-js-xds reads before the process-wide
 * GRPC_XDS_BOOTSTRAP(_CONFIG) (so tests need no env and no file, and each client has its own xDS
 * stream): our ADS server as the only xDS server, plaintext (`insecure` channel creds), and
 * `server_features: ["ignore_resource_deletion"]` (a 1.14.1 quirk a control plane must respect).
 * The node's `cluster` is the fleet: our server serves the fleet named by node.cluster.
 */
import * as grpc from "@grpc/grpc-js"
import { register } from "@grpc/grpc-js-xds"
import { Effect, type Scope } from "effect"
import { METHODS, type MethodName, type Reply, TestClient } from "./grpcBackends.ts"

let registered = false

/** Registers the `xds:` resolver and load balancers once per process. */
export const registerXds = (): void => {
  if (registered) return
  register()
  registered = true
}

const BOOTSTRAP_OPTION = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config"

export const bootstrapConfig = (adsAddress: string, fleet: string, nodeId: string) => ({
  xds_servers: [
    {
      server_uri: adsAddress,
      channel_creds: [{ type: "insecure" }],
      server_features: ["xds_v3", "ignore_resource_deletion"]
    }
  ],
  node: { id: nodeId, cluster: fleet, locality: {} }
})

export interface XdsTestClient {
  /** One unary call; `metadata` become request headers. */
  call(method: MethodName, metadata?: Readonly<Record<string, string>>): Promise<Reply>
  readonly client: grpc.Client
}

/** A client on `xds:///<authority>`; closed with the scope. */
export const xdsClient = (
  adsAddress: string,
  fleet: string,
  authority: string,
  nodeId = `grpc-${authority}`
): Effect.Effect<XdsTestClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      registerXds()
      const client = new TestClient(`xds:///${authority}`, grpc.credentials.createInsecure(), {
        [BOOTSTRAP_OPTION]: JSON.stringify(bootstrapConfig(adsAddress, fleet, nodeId))
      })
      const call = (method: MethodName, metadata: Readonly<Record<string, string>> = {}) =>
        new Promise<Reply>((resolve, reject) => {
          const md = new grpc.Metadata()
          for (const [key, value] of Object.entries(metadata)) md.set(key, value)
          client.makeUnaryRequest(
            METHODS[method],
            (value: unknown) => Buffer.from(JSON.stringify(value)),
            (bytes: Buffer) => JSON.parse(bytes.toString()) as Reply,
            {},
            md,
            { deadline: Date.now() + 5000 },
            (error, reply) => {
              if (error !== null || reply === undefined) reject(error ?? new Error("no reply"))
              else resolve(reply)
            }
          )
        })
      return { call, client }
    }),
    ({ client }) => Effect.sync(() => client.close())
  )
