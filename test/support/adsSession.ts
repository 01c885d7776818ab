/**
 * One whole ADS stream as a value, for access tests: it asks for everything (wildcard CDS/LDS and
 * every given EDS/RDS/SDS name) as `fleet`, over the given channel credentials and call metadata,
 * and ends after `want` responses, on the server's status, or by cancelling after `timeoutMs`.
 * What a test checks is which names arrived and how the stream ended (e.g. PERMISSION_DENIED).
 */
import { create } from "@bufbuild/protobuf"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { adsServiceDefinition } from "../../src/xds/ads/Service.ts"
import { NodeSchema } from "../../src/xds/proto/envoy/config/core/v3/base_pb.ts"
import {
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryResponse,
  DiscoveryRequestSchema,
  type DiscoveryResponse
} from "../../src/xds/proto/envoy/service/discovery/v3/discovery_pb.ts"
import { TypeUrl } from "../../src/xds/Registry.ts"
import { deltaNames, sotwNames } from "./adsClient.ts"

export interface Session {
  readonly names: ReadonlyArray<string>
  readonly responses: number
  readonly status: grpc.StatusObject
}

export interface SessionOptions {
  readonly credentials: grpc.ChannelCredentials
  readonly fleet: string
  /** The TLS server name (and authority) the client expects. */
  readonly serverName: string
  /** The EDS/RDS/SDS names subscribed to. */
  readonly names: ReadonlyArray<string>
  readonly metadata?: Readonly<Record<string, string>>
  readonly mode?: "delta" | "sotw"
  readonly want?: number
  /** Default 3000. */
  readonly timeoutMs?: number
}

const GenericAds = grpc.makeGenericClientConstructor(adsServiceDefinition, "AggregatedDiscoveryService")

export const adsSession = (address: string, options: SessionOptions): Effect.Effect<Session> =>
  Effect.callback<Session>((resume) => {
    const client = new GenericAds(address, options.credentials, {
      "grpc.ssl_target_name_override": options.serverName,
      "grpc.default_authority": options.serverName
    })
    const metadata = new grpc.Metadata()
    for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value)
    const delta = (options.mode ?? "delta") === "delta"
    const method = delta
      ? adsServiceDefinition.deltaAggregatedResources
      : adsServiceDefinition.streamAggregatedResources
    const call: grpc.ClientDuplexStream<unknown, DeltaDiscoveryResponse | DiscoveryResponse> =
      client.makeBidiStreamRequest(
        method.path,
        method.requestSerialize as (value: unknown) => Buffer,
        method.responseDeserialize as (bytes: Buffer) => DeltaDiscoveryResponse | DiscoveryResponse,
        metadata
      )
    const names: Array<string> = []
    let responses = 0
    const timer = setTimeout(() => call.cancel(), options.timeoutMs ?? 3000)
    call.on("data", (response: DeltaDiscoveryResponse | DiscoveryResponse) => {
      responses += 1
      names.push(...("removedResources" in response ? deltaNames(response) : sotwNames(response)))
      if (responses >= (options.want ?? Number.POSITIVE_INFINITY)) call.end()
    })
    call.on("error", () => {})
    call.on("status", (status) => {
      clearTimeout(timer)
      client.close()
      resume(Effect.succeed({ names, responses, status }))
    })
    const node = create(NodeSchema, { id: "envoy-0", cluster: options.fleet })
    const wildcard = new Set<string>([TypeUrl.Cluster, TypeUrl.Listener])
    for (const [index, typeUrl] of Object.values(TypeUrl).entries()) {
      const wanted = wildcard.has(typeUrl) ? [] : options.names
      const first = index === 0 ? { node } : {}
      call.write(
        delta
          ? create(DeltaDiscoveryRequestSchema, { typeUrl, resourceNamesSubscribe: [...wanted], ...first })
          : create(DiscoveryRequestSchema, { typeUrl, resourceNames: [...wanted], ...first })
      )
    }
  })
