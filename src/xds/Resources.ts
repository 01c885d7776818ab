/**
 * The contract between the xDS translators (src/xds/translate/, IR -> typed
 * Envoy messages) and the snapshot cache / ADS server: one fleet's complete
 * set of resources, as protobuf-es messages, named per DESIGN.md section 2.
 */
import type { Cluster } from "./proto/envoy/config/cluster/v3/cluster_pb.ts"
import type { ClusterLoadAssignment } from "./proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import type { Listener } from "./proto/envoy/config/listener/v3/listener_pb.ts"
import type { RouteConfiguration } from "./proto/envoy/config/route/v3/route_pb.ts"
import type { Secret } from "./proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"

/**
 * The cluster that never exists: an invalid backend's share of traffic is routed to it, and Envoy
 * answers that share with the route's cluster_not_found_response_code (500); tcp_proxy/udp_proxy
 * close the connection. Snapshot consistency checks must not require it in CDS.
 */
export const INVALID_BACKEND_CLUSTER = "portico/invalid-backend"

export interface FleetResources {
  /** The fleet (`envoy-<gw-ns>-<gw>-<hash8>`): Envoys whose node.cluster is this name get these resources. */
  readonly fleet: string
  /** LDS: one per (address, port), sorted by name. */
  readonly listeners: ReadonlyArray<Listener>
  /** RDS: every RouteConfiguration a listener's HttpConnectionManager names, sorted by name. */
  readonly routes: ReadonlyArray<RouteConfiguration>
  /** CDS: every cluster a route, tcp_proxy or udp_proxy names, sorted by name. */
  readonly clusters: ReadonlyArray<Cluster>
  /** EDS: one ClusterLoadAssignment per EDS cluster (same name), sorted by name. */
  readonly endpoints: ReadonlyArray<ClusterLoadAssignment>
  /** SDS: certificates and validation contexts the listeners and clusters name, sorted by name. */
  readonly secrets: ReadonlyArray<Secret>
}
