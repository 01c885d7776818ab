/**
 * `envoy.service.discovery.v3.AggregatedDiscoveryService` for @grpc/grpc-js, with protobuf-es
 * serializers (no proto-loader): the server and the tests' raw client share this definition.
 */
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf"
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js"
import { AggregatedDiscoveryService } from "../proto/envoy/service/discovery/v3/ads_pb.ts"
import {
  type DeltaDiscoveryRequest,
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryResponse,
  DeltaDiscoveryResponseSchema,
  type DiscoveryRequest,
  DiscoveryRequestSchema,
  type DiscoveryResponse,
  DiscoveryResponseSchema
} from "../proto/envoy/service/discovery/v3/discovery_pb.ts"

const serialize =
  <Desc extends DescMessage>(schema: Desc) =>
  (message: MessageShape<Desc>): Buffer => {
    const bytes = toBinary(schema, message)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

const deserialize =
  <Desc extends DescMessage>(schema: Desc) =>
  (bytes: Buffer): MessageShape<Desc> =>
    fromBinary(schema, bytes)

const bidi = <Req extends DescMessage, Res extends DescMessage>(
  localName: "streamAggregatedResources" | "deltaAggregatedResources",
  request: Req,
  response: Res
): MethodDefinition<MessageShape<Req>, MessageShape<Res>> => {
  const method = AggregatedDiscoveryService.method[localName]
  return {
    path: `/${AggregatedDiscoveryService.typeName}/${method.name}`,
    originalName: localName,
    requestStream: true,
    responseStream: true,
    requestSerialize: serialize(request),
    requestDeserialize: deserialize(request),
    responseSerialize: serialize(response),
    responseDeserialize: deserialize(response)
  }
}

export interface AdsServiceDefinition extends ServiceDefinition {
  readonly streamAggregatedResources: MethodDefinition<DiscoveryRequest, DiscoveryResponse>
  readonly deltaAggregatedResources: MethodDefinition<DeltaDiscoveryRequest, DeltaDiscoveryResponse>
}

export const adsServiceDefinition: AdsServiceDefinition = {
  streamAggregatedResources: bidi("streamAggregatedResources", DiscoveryRequestSchema, DiscoveryResponseSchema),
  deltaAggregatedResources: bidi("deltaAggregatedResources", DeltaDiscoveryRequestSchema, DeltaDiscoveryResponseSchema)
}
