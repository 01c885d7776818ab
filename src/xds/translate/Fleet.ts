/**
 * One fleet's xDS resources from its IR: listeners, the route configurations they name, the
 * clusters those routes and proxies name with their endpoints, and the fleet's secrets. Pure and
 * deterministic: every list is sorted by name, and the same IR gives equal messages.
 */

import type { FleetXds, HttpRouteIR } from "../../ir/Xds.ts"
import type { Cluster } from "../proto/envoy/config/cluster/v3/cluster_pb.ts"
import type { ClusterLoadAssignment } from "../proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import type { RouteConfiguration } from "../proto/envoy/config/route/v3/route_pb.ts"
import type { FleetResources } from "../Resources.ts"
import { translateCluster, usesEds } from "./Cluster.ts"
import { type ClusterPlan, INVALID_BACKEND_CLUSTER, planDestination, planUdpDestination } from "./Destination.ts"
import { translateEndpoints } from "./Endpoint.ts"
import { translateListener } from "./Listener.ts"
import { translateRouteConfig } from "./Route.ts"
import { translateSecret } from "./Secret.ts"

const byName = <T extends { readonly name: string }>(a: T, b: T): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0

/**
 * The clusters of an HTTP route: one per valid backend of its destination (weight-0 ones too),
 * and its mirrors' when it forwards somewhere (RouteAction.ts answers 500 otherwise).
 */
const httpRouteClusters = (route: HttpRouteIR): ReadonlyArray<ClusterPlan> => {
  if (route.destination === undefined || route.redirect !== undefined || route.directResponse !== undefined) return []
  const plan = planDestination(route.destination)
  const forwards = plan.shares.some((share) => share.cluster !== INVALID_BACKEND_CLUSTER)
  return [
    ...plan.clusters,
    ...(forwards ? (route.mirrors ?? []).flatMap((m) => planDestination(m.destination).clusters.slice(0, 1)) : [])
  ]
}

export const translateFleet = (fleet: FleetXds): FleetResources => {
  const translated = fleet.listeners.flatMap((ir) => {
    const out = translateListener(ir)
    return out === undefined ? [] : [{ ir, out }]
  })

  const routes = new Map<string, RouteConfiguration>()
  const plans = new Map<string, ClusterPlan>()
  const addPlans = (list: ReadonlyArray<ClusterPlan>) => {
    for (const plan of list) if (!plans.has(plan.name)) plans.set(plan.name, plan)
  }
  for (const { ir, out } of translated) {
    for (const { routeConfig, context } of out.routeConfigs) {
      if (routes.has(routeConfig.name)) continue
      routes.set(routeConfig.name, translateRouteConfig(routeConfig, context))
      for (const vh of routeConfig.virtualHosts) for (const route of vh.routes) addPlans(httpRouteClusters(route))
    }
    for (const route of out.l4Routes) {
      addPlans((ir.type === "UDP" ? planUdpDestination : planDestination)(route.destination).clusters)
    }
  }

  const sortedPlans = [...plans.values()].sort(byName)
  const clusters: Array<Cluster> = sortedPlans.map((plan) =>
    translateCluster(plan, { backendClientCertificate: fleet.backendClientCertificate })
  )
  const endpoints: Array<ClusterLoadAssignment> = sortedPlans.filter(usesEds).map(translateEndpoints)

  return {
    fleet: fleet.name,
    listeners: translated.map(({ out }) => out.listener).sort(byName),
    routes: [...routes.values()].sort(byName),
    clusters,
    endpoints: endpoints.sort((a, b) => (a.clusterName < b.clusterName ? -1 : a.clusterName > b.clusterName ? 1 : 0)),
    secrets: fleet.secrets.map(translateSecret).sort(byName)
  }
}
