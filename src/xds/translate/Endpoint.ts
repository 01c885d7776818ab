/**
 * ClusterLoadAssignments (EDS): a cluster's endpoints grouped by locality (the EndpointSlice zone),
 * with their health. Pure.
 */

import { isIP } from "node:net"
import { create, type MessageInitShape } from "@bufbuild/protobuf"
import type { DestinationSettingIR, EndpointIR } from "../../ir/Xds.ts"
import { HealthStatus } from "../proto/envoy/config/core/v3/health_check_pb.ts"
import type { LocalityLbEndpointsSchema } from "../proto/envoy/config/endpoint/v3/endpoint_components_pb.ts"
import {
  type ClusterLoadAssignment,
  ClusterLoadAssignmentSchema
} from "../proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import type { ClusterPlan } from "./Destination.ts"

type LocalityInit = MessageInitShape<typeof LocalityLbEndpointsSchema>

/** True when every endpoint is an IP address (EDS); hostnames need a DNS cluster instead. */
export const allIpEndpoints = (plan: ClusterPlan): boolean =>
  plan.backends.every((b) => b.setting.endpoints.every((e) => isIP(e.address) !== 0))

const lbEndpoint = (endpoint: EndpointIR) => ({
  hostIdentifier: {
    case: "endpoint" as const,
    value: {
      address: {
        address: {
          case: "socketAddress" as const,
          value: { address: endpoint.address, portSpecifier: { case: "portValue" as const, value: endpoint.port } }
        }
      }
    }
  },
  healthStatus: endpoint.health === "Healthy" ? HealthStatus.HEALTHY : HealthStatus.DRAINING
})

/** Endpoints grouped by zone: the zone-less group first, then zones in order; endpoints in IR order. */
const byZone = (endpoints: ReadonlyArray<EndpointIR>): Array<[string | undefined, Array<EndpointIR>]> => {
  const groups = new Map<string | undefined, Array<EndpointIR>>()
  for (const endpoint of endpoints) {
    const group = groups.get(endpoint.zone)
    if (group === undefined) groups.set(endpoint.zone, [endpoint])
    else group.push(endpoint)
  }
  return [...groups.entries()].sort(([a], [b]) =>
    a === b ? 0 : a === undefined ? -1 : b === undefined ? 1 : a < b ? -1 : 1
  )
}

/** `<namespace>/<name>:<port>` of a backend: the sub-zone of its locality in a weighted UDP cluster. */
const backendLabel = (setting: DestinationSettingIR): string =>
  `${setting.backend.namespace}/${setting.backend.name}${setting.backend.port === undefined ? "" : `:${setting.backend.port}`}`

const localities = (plan: ClusterPlan): Array<LocalityInit> => {
  if (!plan.localityWeighted) {
    // Every group names a locality (empty = Envoy's default) with weight 1: gRPC's xDS clients (A27)
    // reject groups without a locality and skip those without a weight; Envoy ignores locality
    // weights unless the cluster is locality-weighted.
    return byZone(plan.backends.flatMap((b) => b.setting.endpoints)).map(([zone, endpoints]) => ({
      locality: zone === undefined ? {} : { zone },
      loadBalancingWeight: 1,
      lbEndpoints: endpoints.map(lbEndpoint)
    }))
  }
  // One locality per backend, weighted: locality-weighted load balancing splits by backend weight.
  return plan.backends
    .filter((b) => b.setting.endpoints.length > 0)
    .map((b) => ({
      locality: { subZone: backendLabel(b.setting) },
      loadBalancingWeight: b.weight,
      lbEndpoints: b.setting.endpoints.map(lbEndpoint)
    }))
}

/** The load assignment of a cluster (sent over EDS, or inlined in DNS clusters). */
export const loadAssignment = (plan: ClusterPlan): MessageInitShape<typeof ClusterLoadAssignmentSchema> => ({
  clusterName: plan.name,
  endpoints: localities(plan)
})

/** The EDS resource of an EDS cluster. */
export const translateEndpoints = (plan: ClusterPlan): ClusterLoadAssignment =>
  create(ClusterLoadAssignmentSchema, loadAssignment(plan))
