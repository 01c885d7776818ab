/**
 * RouteConfigurations (RDS): one per IR route configuration, a virtual host per hostname, routes
 * in the IR's precedence order. Pure.
 *
 * Domains: a virtual host serves exactly its IR hostname (`*` any host; `*.example.com` Envoy's
 * suffix wildcard, which like the Gateway API's matches one or more labels). Ports: clients send
 * `Host: a.example.com:8080` on non-default ports, so the configuration sets
 * `ignore_port_in_host_matching` instead of listing `a.example.com:*` variants: one domain per
 * virtual host keeps domains unique across virtual hosts (Envoy rejects duplicates) and matches
 * any port, which is what a Gateway API hostname means.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf"
import type { HttpRouteIR, RouteConfigIR, VirtualHostIR } from "../../ir/Xds.ts"
import type { RouteSchema, VirtualHostSchema } from "../proto/envoy/config/route/v3/route_components_pb.ts"
import { type RouteConfiguration, RouteConfigurationSchema } from "../proto/envoy/config/route/v3/route_pb.ts"
import { perFilterConfig } from "./filters/HttpFilters.ts"
import { headerFields, requestHeaderOperations, responseHeaderOperations } from "./HeaderMutation.ts"
import { type RedirectContext, redirectAction } from "./Redirect.ts"
import { forwardAction } from "./RouteAction.ts"
import { routeMatch } from "./RouteMatch.ts"

type RouteInit = MessageInitShape<typeof RouteSchema>
type VirtualHostInit = MessageInitShape<typeof VirtualHostSchema>

/** Where the route configuration is served: the listener's scheme and Gateway port (redirects). */
export interface RouteContext {
  readonly listenerScheme: "http" | "https"
  readonly listenerPort: number
}

const action = (route: HttpRouteIR, context: RedirectContext): NonNullable<RouteInit["action"]> => {
  if (route.redirect !== undefined) {
    return { case: "redirect", value: redirectAction(route.redirect, route.match, context) }
  }
  if (route.directResponse !== undefined) {
    const body = route.directResponse.body
    return {
      case: "directResponse",
      value: {
        status: route.directResponse.status,
        ...(body === undefined ? {} : { body: { specifier: { case: "inlineString", value: body } } })
      }
    }
  }
  return forwardAction(route)
}

export const translateRoute = (route: HttpRouteIR, context: RedirectContext): RouteInit => {
  const typedPerFilterConfig = perFilterConfig(route)
  return {
    name: route.name,
    match: routeMatch(route.match),
    action: action(route, context),
    ...headerFields(requestHeaderOperations(route.requestHeaders), responseHeaderOperations(route.responseHeaders)),
    ...(Object.keys(typedPerFilterConfig).length > 0 ? { typedPerFilterConfig } : {})
  }
}

const virtualHost = (vh: VirtualHostIR, context: RouteContext): VirtualHostInit => ({
  name: vh.name,
  domains: [vh.hostname],
  routes: vh.routes.map((route) => translateRoute(route, { ...context, hostname: vh.hostname }))
})

export const translateRouteConfig = (routeConfig: RouteConfigIR, context: RouteContext): RouteConfiguration =>
  create(RouteConfigurationSchema, {
    name: routeConfig.name,
    virtualHosts: routeConfig.virtualHosts.map((vh) => virtualHost(vh, context)),
    ignorePortInHostMatching: true,
    // Routes may name INVALID_BACKEND_CLUSTER on purpose (RouteAction.ts): never validate clusters.
    validateClusters: false
  })
