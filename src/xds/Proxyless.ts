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
 * - a `direct_response` (all backends invalid: Envoy answers 500) is not a gRPC route action
 *   (gRPC NACKs the whole RouteConfiguration): such a route names the never-defined
 *   INVALID_BACKEND_CLUSTER instead, so its calls fail (UNAVAILABLE) and other routes keep working;
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
import { type Listener, ListenerSchema } from "./proto/envoy/config/listener/v3/listener_pb.ts"
import { type Route, RouteActionSchema } from "./proto/envoy/config/route/v3/route_components_pb.ts"
import type { RouteConfiguration } from "./proto/envoy/config/route/v3/route_pb.ts"
import { HttpConnectionManagerSchema } from "./proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import { pack } from "./Registry.ts"
import { type FleetResources, INVALID_BACKEND_CLUSTER } from "./Resources.ts"
import { adsConfigSource } from "./translate/Ads.ts"
import { router } from "./translate/filters/Router.ts"
import { translateListener } from "./translate/Listener.ts"
import { type RouteContext, translateRouteConfig } from "./translate/Route.ts"

/** The prefix of every proxyless RouteConfiguration name. */
export const PROXYLESS_ROUTE_PREFIX = "proxyless/"

/** The route kinds a gRPC client is served. */
const GRPC_ROUTE_KIND = "GRPCRoute"

export interface ProxylessResources {
  /** API listeners, one per authority (`<hostname>` and `<hostname>:<port>`), sorted by name. */
  readonly listeners: ReadonlyArray<Listener>
  /** Their route configurations (`proxyless/<authority>`), sorted by name. */
  readonly routes: ReadonlyArray<RouteConfiguration>
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
        clusterSpecifier: { case: "cluster", value: INVALID_BACKEND_CLUSTER }
      })
    }
  } else if (route.action.case === "route") {
    const retry = route.action.value.retryPolicy
    if (retry !== undefined && retry.numRetries === 0) route.action.value.retryPolicy = undefined
  }
  return route
}

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
  return {
    listeners: authorities.map(([authority]) => apiListener(authority)).sort(byName),
    routes: authorities.map(([authority, served]) => routeConfigFor(authority, served)).sort(byName)
  }
}

/** `resources` plus the proxyless listeners and route configurations of `fleet`, lists sorted by name. */
export const withProxyless = (resources: FleetResources, fleet: FleetXds): FleetResources => {
  const extra = proxylessResources(fleet)
  if (extra.listeners.length === 0) return resources
  return {
    ...resources,
    listeners: [...resources.listeners, ...extra.listeners].sort(byName),
    routes: [...resources.routes, ...extra.routes].sort(byName)
  }
}
