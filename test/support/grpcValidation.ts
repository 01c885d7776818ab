/**
 * gRPC's own verdict on xDS resources: each resource is decoded and validated by the resource
 * types of `@grpc/grpc-js-xds` 1.14.1 (the code its xDS client runs before it ACKs or NACKs an
 * update), so a test can prove a gRPC client accepts what we serve without a round trip over ADS.
 * The context is a bootstrap without certificate providers, like the tests' clients. The HTTP
 * filters and load balancers gRPC knows are those `register()` installs, as in a real client.
 */
import { createRequire } from "node:module"
import type { DescMessage, MessageShape } from "@bufbuild/protobuf"
import { toBinary } from "@bufbuild/protobuf"
import { ClusterSchema } from "../../src/xds/proto/envoy/config/cluster/v3/cluster_pb.ts"
import { ClusterLoadAssignmentSchema } from "../../src/xds/proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import { ListenerSchema } from "../../src/xds/proto/envoy/config/listener/v3/listener_pb.ts"
import { RouteConfigurationSchema } from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import { TypeUrl } from "../../src/xds/Registry.ts"
import { registerXds } from "./grpcXdsClient.ts"

interface DecodeResult {
  readonly name: string
  readonly error?: string
}
interface ResourceType {
  decode(context: unknown, resource: { readonly type_url: string; readonly value: Buffer }): DecodeResult
}

const require = createRequire(import.meta.url)
const typeModule = (file: string, exported: string): ResourceType => {
  const module = require(`@grpc/grpc-js-xds/build/src/xds-resource-type/${file}`) as Record<
    string,
    { get(): ResourceType }
  >
  const type = module[exported]
  if (type === undefined) throw new Error(`@grpc/grpc-js-xds: ${file} has no ${exported}`)
  return type.get()
}

const TYPES = {
  listener: {
    schema: ListenerSchema,
    typeUrl: TypeUrl.Listener,
    type: typeModule("listener-resource-type.js", "ListenerResourceType")
  },
  route: {
    schema: RouteConfigurationSchema,
    typeUrl: TypeUrl.RouteConfiguration,
    type: typeModule("route-config-resource-type.js", "RouteConfigurationResourceType")
  },
  cluster: {
    schema: ClusterSchema,
    typeUrl: TypeUrl.Cluster,
    type: typeModule("cluster-resource-type.js", "ClusterResourceType")
  },
  endpoint: {
    schema: ClusterLoadAssignmentSchema,
    typeUrl: TypeUrl.ClusterLoadAssignment,
    type: typeModule("endpoint-resource-type.js", "EndpointResourceType")
  }
} as const

const CONTEXT = {
  server: {
    serverUri: "127.0.0.1:18000",
    channelCreds: [{ type: "insecure" }],
    serverFeatures: ["ignore_resource_deletion"]
  },
  bootstrap: { certificateProviders: {}, node: { id: "test", cluster: "test" }, authorities: {}, xdsServers: [] }
}

/**
 * What gRPC says of one resource: undefined when it accepts it, else its validation error (the
 * text a NACK would carry).
 */
export const grpcRejection = <K extends keyof typeof TYPES>(
  kind: K,
  message: MessageShape<(typeof TYPES)[K]["schema"]>
): string | undefined => {
  registerXds()
  const { schema, typeUrl, type } = TYPES[kind]
  const value = Buffer.from(toBinary(schema as DescMessage, message as MessageShape<DescMessage>))
  const result = type.decode(CONTEXT, { type_url: typeUrl, value })
  return result.error
}
