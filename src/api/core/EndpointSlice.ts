/** EndpointSlice (discovery.k8s.io/v1): the addresses behind a Service. */
import { Effect, Schema } from "effect"
import { ObjectMeta } from "./ObjectMeta.ts"
import { Protocol } from "./Service.ts"

export const AddressType = Schema.Literals(["IPv4", "IPv6", "FQDN"])
export type AddressType = typeof AddressType.Type

export const EndpointConditions = Schema.Struct({
  ready: Schema.optionalKey(Schema.Boolean),
  serving: Schema.optionalKey(Schema.Boolean),
  terminating: Schema.optionalKey(Schema.Boolean)
})
export type EndpointConditions = typeof EndpointConditions.Type

export const EndpointTargetReference = Schema.Struct({
  kind: Schema.optionalKey(Schema.String),
  namespace: Schema.optionalKey(Schema.String),
  name: Schema.optionalKey(Schema.String),
  uid: Schema.optionalKey(Schema.String)
})
export type EndpointTargetReference = typeof EndpointTargetReference.Type

export const Endpoint = Schema.Struct({
  addresses: Schema.Array(Schema.String),
  conditions: Schema.optionalKey(EndpointConditions),
  hostname: Schema.optionalKey(Schema.String),
  nodeName: Schema.optionalKey(Schema.String),
  zone: Schema.optionalKey(Schema.String),
  targetRef: Schema.optionalKey(EndpointTargetReference)
})
export type Endpoint = typeof Endpoint.Type

export const EndpointPort = Schema.Struct({
  name: Schema.optionalKey(Schema.String),
  port: Schema.optionalKey(Schema.Int),
  protocol: Protocol.pipe(Schema.withDecodingDefaultKey(Effect.succeed("TCP"))),
  appProtocol: Schema.optionalKey(Schema.String)
})
export type EndpointPort = typeof EndpointPort.Type

export const EndpointSlice = Schema.Struct({
  apiVersion: Schema.Literals(["discovery.k8s.io/v1"]),
  kind: Schema.Literal("EndpointSlice"),
  metadata: ObjectMeta,
  addressType: AddressType,
  /** `null` in the API when empty: decoded as []. */
  endpoints: Schema.Array(Endpoint).pipe(Schema.withDecodingDefaultKey(Effect.succeed([]))),
  ports: Schema.optionalKey(Schema.Array(EndpointPort))
})
export type EndpointSlice = typeof EndpointSlice.Type
