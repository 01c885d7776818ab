/**
 * Clusters (CDS), one per ClusterPlan (Destination.ts): endpoints from EDS over ADS (DNS when a
 * backend's endpoints are hostnames, e.g. an ExternalName Service), a 10 s connect timeout,
 * round-robin, HTTP/2 for backends that speak it (gRPC, h2c), TLS for backends with a
 * BackendTLSPolicy. Pure.
 */
import { create } from "@bufbuild/protobuf"
import {
  type Cluster,
  Cluster_DiscoveryType,
  Cluster_DnsLookupFamily,
  Cluster_LbPolicy,
  ClusterSchema
} from "../proto/envoy/config/cluster/v3/cluster_pb.ts"
import { HttpProtocolOptionsSchema } from "../proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.ts"
import { adsConfigSource } from "./Ads.ts"
import type { ClusterPlan } from "./Destination.ts"
import { durationOfMs } from "./Duration.ts"
import { allIpEndpoints, loadAssignment } from "./Endpoint.ts"
import { packed } from "./Extension.ts"
import { upstreamTls } from "./Tls.ts"

export const CONNECT_TIMEOUT_MS = 10_000
/** Bytes buffered per connection (Envoy's default is 1 MiB; a gateway keeps it small). */
export const CONNECTION_BUFFER_BYTES = 32_768

/** The key under which Envoy reads a cluster's upstream HTTP protocol options. */
export const HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

export interface ClusterContext {
  /** The Gateway's client certificate for TLS backends (a Secret name), if any. */
  readonly backendClientCertificate?: string | undefined
}

/** True when the cluster gets its endpoints over EDS (else it is a DNS cluster with them inline). */
export const usesEds = (plan: ClusterPlan): boolean => allIpEndpoints(plan)

export const translateCluster = (plan: ClusterPlan, context: ClusterContext): Cluster => {
  // Every backend of a cluster shares protocol and TLS: several backends only happen for UDP.
  const setting = plan.backends[0]?.setting
  const http2 = setting?.protocol === "HTTP2"
  const discovery = usesEds(plan)
    ? {
        clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS } as const,
        edsClusterConfig: { edsConfig: adsConfigSource(), serviceName: plan.name }
      }
    : {
        clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STRICT_DNS } as const,
        dnsLookupFamily: Cluster_DnsLookupFamily.V4_PREFERRED,
        loadAssignment: loadAssignment(plan)
      }
  return create(ClusterSchema, {
    name: plan.name,
    connectTimeout: durationOfMs(CONNECT_TIMEOUT_MS),
    perConnectionBufferLimitBytes: CONNECTION_BUFFER_BYTES,
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    ...discovery,
    ...(plan.localityWeighted
      ? { commonLbConfig: { localityConfigSpecifier: { case: "localityWeightedLbConfig", value: {} } } }
      : {}),
    ...(http2
      ? {
          typedExtensionProtocolOptions: {
            [HTTP_PROTOCOL_OPTIONS]: packed(HttpProtocolOptionsSchema, {
              upstreamProtocolOptions: {
                case: "explicitHttpConfig",
                value: { protocolConfig: { case: "http2ProtocolOptions", value: {} } }
              }
            })
          }
        }
      : {}),
    ...(setting?.tls === undefined
      ? {}
      : {
          transportSocket: upstreamTls(setting.tls, {
            http2,
            clientCertificate: context.backendClientCertificate
          })
        })
  })
}
