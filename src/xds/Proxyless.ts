/**
 * Proxyless gRPC: the extra xDS resources a gRPC client with xDS support (gRPC A27/A28, e.g.
 * `@grpc/grpc-js-xds`) needs to follow a fleet's GRPCRoutes without an Envoy in between. Pure.
 *
 * A client dialing `xds:///<authority>` subscribes to the Listener named exactly `<authority>`
 * (the default listener name template is `%s`) and expects an API listener: `api_listener` holding
 * an HttpConnectionManager whose routes come over RDS (ADS) and whose last (here: only) HTTP
 * filter is the router. It then picks the virtual host whose domains match `<authority>` (with the
 * port when the target has one). So for every non-wildcard hostname that a GRPCRoute serves on an
 * HTTP or HTTPS Gateway listener, this emits:
 * - Listener `<hostname>` -> RouteConfiguration `proxyless/<hostname>` (the lowest Gateway port
 *   that serves the hostname), and
 * - Listener `<hostname>:<port>` -> RouteConfiguration `proxyless/<hostname>:<port>` per port,
 * each route configuration with one virtual host (domains: [the authority]) holding the GRPCRoute
 * routes of the Gateway's virtual host, translated by Route.ts exactly as for Envoy and then
 * narrowed to what gRPC accepts:
 * - `typed_per_filter_config` is dropped (the chain has only the router; gRPC rejects
 *   non-optional per-route configs of filters it does not know);
 * - invalid backends: a `direct_response` (all backends invalid: Envoy answers 500) is not a gRPC
 *   route action (gRPC NACKs the whole RouteConfiguration), and the never-defined
 *   INVALID_BACKEND_CLUSTER that answers an invalid share with 500 in Envoy would stall a gRPC
 *   client: it applies no new configuration until every named cluster has arrived or its 15 s
 *   does-not-exist timer fired. So both name PROXYLESS_NO_BACKEND_CLUSTER instead, a real EDS
 *   cluster without endpoints, served only when a route names it: its calls fail at once
 *   (UNAVAILABLE) and the other routes keep working;
 * - a retry policy with `num_retries: 0` (gRPC rejects it) is dropped: zero retries is no retry.
 * Clusters and endpoints are the fleet's own (EDS, round robin): the routes name the same ones;
 * their endpoint groups always carry the locality and weight gRPC requires (Endpoint.ts).
 * Not covered: clusters with upstream TLS (BackendTLSPolicy) carry an UpstreamTlsContext with
 * inline/SDS certificates, which gRPC only accepts through certificate provider instances.
 *
 * grpc-js-xds 1.14.1 compares route configurations by content after a listener update: every
 * listener here is a pure function of its name, so it only changes when its route configuration
 * name does, and a changed listener always comes with a route configuration that is new to it.
 */
import { create } from "@bufbuild/protobuf"
import type { FleetXds, HttpRouteIR } from "../ir/Xds.ts"
import { type Cluster, Cluster_DiscoveryType, ClusterSchema } from "./proto/envoy/config/cluster/v3/cluster_pb.ts"
import {
  type ClusterLoadAssignment,
  ClusterLoadAssignmentSchema
} from "./proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import { type Listener, ListenerSchema } from "./proto/envoy/config/listener/v3/listener_pb.ts"
import { type Route, RouteActionSchema } from "./proto/envoy/config/route/v3/route_components_pb.ts"
import type { RouteConfiguration } from "./proto/envoy/config/route/v3/route_pb.ts"
import { HttpConnectionManagerSchema } from "./proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import { pack } from "./Registry.ts"
import { type FleetResources, INVALID_BACKEND_CLUSTER } from "./Resources.ts"
import { adsConfigSource } from "./translate/Ads.ts"
import { CONNECT_TIMEOUT_MS } from "./translate/Cluster.ts"
import { router } from "./translate/filters/Router.ts"
import { translateListener } from "./translate/Listener.ts"
import { type RouteContext, translateRouteConfig } from "./translate/Route.ts"

/** The prefix of every proxyless RouteConfiguration name. */
export const PROXYLESS_ROUTE_PREFIX = "proxyless/"

/** What gRPC clients are sent for invalid backends: a cluster that exists and has no endpoints. */
export const PROXYLESS_NO_BACKEND_CLUSTER = "portico/proxyless-no-backend"

/** The route kinds a gRPC client is served. */
const GRPC_ROUTE_KIND = "GRPCRoute"

export interface ProxylessResources {
  /** API listeners, one per authority (`<hostname>` and `<hostname>:<port>`), sorted by name. */
  readonly listeners: ReadonlyArray<Listener>
  /** Their route configurations (`proxyless/<authority>`), sorted by name. */
  readonly routes: ReadonlyArray<RouteConfiguration>
  /** PROXYLESS_NO_BACKEND_CLUSTER when a route names it, else nothing. */
  readonly clusters: ReadonlyArray<Cluster>
  readonly endpoints: ReadonlyArray<ClusterLoadAssignment>
}

interface Served {
  readonly hostname: string
  readonly port: number
  readonly routes: ReadonlyArray<HttpRouteIR>
  readonly context: RouteContext
}

const byName = <T extends { readonly name: string }>(a: T, b: T): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0

const isWildcard = (hostname: string): boolean => hostname.includes("*")

/** Every (hostname, port) a GRPCRoute serves, in the fleet's listener (port) order. */
const servedHosts = (fleet: FleetXds): ReadonlyArray<Served> =>
  fleet.listeners.flatMap((ir) =>
    (translateListener(ir)?.routeConfigs ?? []).flatMap(({ routeConfig, context }) =>
      routeConfig.virtualHosts.flatMap((vh) => {
        const routes = vh.routes.filter((route) => route.source.kind === GRPC_ROUTE_KIND)
        return isWildcard(vh.hostname) || routes.length === 0
          ? []
          : [{ hostname: vh.hostname, port: ir.port, routes, context }]
      })
    )
  )

/** A translated route narrowed to what gRPC accepts (see the module comment). */
const forGrpc = (route: Route): Route => {
  route.typedPerFilterConfig = {}
  if (route.action.case === "directResponse") {
    route.action = {
      case: "route",
      value: create(RouteActionSchema, {
        clusterSpecifier: { case: "cluster", value: PROXYLESS_NO_BACKEND_CLUSTER }
      })
    }
  } else if (route.action.case === "route") {
    const action = route.action.value
    const retry = action.retryPolicy
    if (retry !== undefined && retry.numRetries === 0) action.retryPolicy = undefined
    const specifier = action.clusterSpecifier
    if (specifier.case === "cluster" && specifier.value === INVALID_BACKEND_CLUSTER) {
      specifier.value = PROXYLESS_NO_BACKEND_CLUSTER
    } else if (specifier.case === "weightedClusters") {
      for (const cluster of specifier.value.clusters)
        if (cluster.name === INVALID_BACKEND_CLUSTER) cluster.name = PROXYLESS_NO_BACKEND_CLUSTER
    }
  }
  return route
}

/** Whether a route configuration names PROXYLESS_NO_BACKEND_CLUSTER. */
const namesNoBackend = (config: RouteConfiguration): boolean =>
  config.virtualHosts.some((vh) =>
    vh.routes.some((route) => {
      if (route.action.case !== "route") return false
      const specifier = route.action.value.clusterSpecifier
      return specifier.case === "cluster"
        ? specifier.value === PROXYLESS_NO_BACKEND_CLUSTER
        : specifier.case === "weightedClusters" &&
            specifier.value.clusters.some((c) => c.name === PROXYLESS_NO_BACKEND_CLUSTER)
    })
  )

/** The EDS cluster without endpoints that invalid backends name for gRPC clients. */
const noBackendCluster = (): { readonly cluster: Cluster; readonly endpoints: ClusterLoadAssignment } => ({
  cluster: create(ClusterSchema, {
    name: PROXYLESS_NO_BACKEND_CLUSTER,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource(), serviceName: PROXYLESS_NO_BACKEND_CLUSTER },
    connectTimeout: { seconds: BigInt(CONNECT_TIMEOUT_MS / 1000) }
  }),
  endpoints: create(ClusterLoadAssignmentSchema, { clusterName: PROXYLESS_NO_BACKEND_CLUSTER })
})

const routeConfigFor = (authority: string, served: Served): RouteConfiguration => {
  const config = translateRouteConfig(
    {
      name: `${PROXYLESS_ROUTE_PREFIX}${authority}`,
      virtualHosts: [{ name: authority, hostname: authority, routes: served.routes }]
    },
    served.context
  )
  for (const vh of config.virtualHosts) vh.routes = vh.routes.map(forGrpc)
  return config
}

/** The API listener `authority`: an HttpConnectionManager with RDS over ADS and only the router. */
export const apiListener = (authority: string): Listener =>
  create(ListenerSchema, {
    name: authority,
    apiListener: {
      apiListener: pack(
        HttpConnectionManagerSchema,
        create(HttpConnectionManagerSchema, {
          statPrefix: authority,
          routeSpecifier: {
            case: "rds",
            value: { configSource: adsConfigSource(), routeConfigName: `${PROXYLESS_ROUTE_PREFIX}${authority}` }
          },
          httpFilters: [router.filter()]
        })
      )
    }
  })

/** The API listeners and route configurations gRPC clients of `fleet` need. */
export const proxylessResources = (fleet: FleetXds): ProxylessResources => {
  const byAuthority = new Map<string, Served>()
  for (const served of servedHosts(fleet)) {
    // The first (lowest) port serving a hostname answers for the port-less authority.
    if (!byAuthority.has(served.hostname)) byAuthority.set(served.hostname, served)
    const withPort = `${served.hostname}:${served.port}`
    if (!byAuthority.has(withPort)) byAuthority.set(withPort, served)
  }
  const authorities = [...byAuthority.entries()]
  const routes = authorities.map(([authority, served]) => routeConfigFor(authority, served)).sort(byName)
  const noBackend = routes.some(namesNoBackend) ? [noBackendCluster()] : []
  return {
    listeners: authorities.map(([authority]) => apiListener(authority)).sort(byName),
    routes,
    clusters: noBackend.map((r) => r.cluster),
    endpoints: noBackend.map((r) => r.endpoints)
  }
}

/** `resources` plus what gRPC clients of `fleet` need (proxylessResources), lists sorted by name. */
export const withProxyless = (resources: FleetResources, fleet: FleetXds): FleetResources => {
  const extra = proxylessResources(fleet)
  if (extra.listeners.length === 0) return resources
  return {
    ...resources,
    listeners: [...resources.listeners, ...extra.listeners].sort(byName),
    routes: [...resources.routes, ...extra.routes].sort(byName),
    clusters: [...resources.clusters, ...extra.clusters].sort(byName),
    endpoints: [...resources.endpoints, ...extra.endpoints].sort((a, b) =>
      a.clusterName < b.clusterName ? -1 : a.clusterName > b.clusterName ? 1 : 0
    )
  }
}
