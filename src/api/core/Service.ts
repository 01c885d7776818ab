/**
 * Service (v1). Fields the API server defaults (type ClusterIP, port protocol TCP) are defaulted the
 * same way, so objects from a file decode like objects read from a cluster.
 */
import { Effect, Schema } from "effect"
import { ObjectMeta } from "./ObjectMeta.ts"

export const Protocol = Schema.Literals(["TCP", "UDP", "SCTP"])
export type Protocol = typeof Protocol.Type

/** A port number or the name of a container port. */
export const IntOrString = Schema.Union([Schema.Int, Schema.String])
export type IntOrString = typeof IntOrString.Type

export const ServicePort = Schema.Struct({
  name: Schema.optionalKey(Schema.String),
  protocol: Protocol.pipe(Schema.withDecodingDefaultKey(Effect.succeed("TCP"))),
  appProtocol: Schema.optionalKey(Schema.String),
  port: Schema.Int,
  targetPort: Schema.optionalKey(IntOrString),
  nodePort: Schema.optionalKey(Schema.Int)
})
export type ServicePort = typeof ServicePort.Type

export const ServiceType = Schema.Literals(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"])
export type ServiceType = typeof ServiceType.Type

export const ServiceSpec = Schema.Struct({
  type: ServiceType.pipe(Schema.withDecodingDefaultKey(Effect.succeed("ClusterIP"))),
  clusterIP: Schema.optionalKey(Schema.String),
  clusterIPs: Schema.optionalKey(Schema.Array(Schema.String)),
  externalName: Schema.optionalKey(Schema.String),
  selector: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  ports: Schema.optionalKey(Schema.Array(ServicePort))
})
export type ServiceSpec = typeof ServiceSpec.Type

export const Service = Schema.Struct({
  apiVersion: Schema.Literals(["v1"]),
  kind: Schema.Literal("Service"),
  metadata: ObjectMeta,
  spec: ServiceSpec.pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  status: Schema.optionalKey(Schema.Unknown)
})
export type Service = typeof Service.Type
