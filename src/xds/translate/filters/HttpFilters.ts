/**
 * The HTTP filter chain of a connection manager, in one fixed order (router last). A filter is in
 * the chain only when some route of the route configuration uses it, so a listener without CORS
 * routes runs no CORS filter. Pure.
 */
import type { Any } from "@bufbuild/protobuf/wkt"
import type { HttpRouteIR, RouteConfigIR } from "../../../ir/Xds.ts"
import { cors } from "./Cors.ts"
import type { HttpFilterInit, HttpFilterModule } from "./HttpFilter.ts"
import { router } from "./Router.ts"

/** Every HTTP filter Portico emits, in chain order. The router must stay last. */
export const HTTP_FILTERS: ReadonlyArray<HttpFilterModule> = [cors, router]

const routesOf = (routeConfig: RouteConfigIR): ReadonlyArray<HttpRouteIR> =>
  routeConfig.virtualHosts.flatMap((vh) => vh.routes)

/** The chain for a connection manager serving `routeConfig`. */
export const httpFilterChain = (routeConfig: RouteConfigIR): Array<HttpFilterInit> => {
  const routes = routesOf(routeConfig)
  return HTTP_FILTERS.filter((f) => f.usedBy === undefined || routes.some(f.usedBy)).map((f) => f.filter())
}

/** A route's `typed_per_filter_config`: each filter's own config for the route, by filter name. */
export const perFilterConfig = (route: HttpRouteIR): Record<string, Any> => {
  const out: Record<string, Any> = {}
  for (const f of HTTP_FILTERS) {
    const config = f.perRoute?.(route)
    if (config !== undefined) out[f.name] = config
  }
  return out
}
