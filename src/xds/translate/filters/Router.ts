/** The router filter (`envoy.filters.http.router`): always present, always last. Pure. */
import { RouterSchema } from "../../proto/envoy/extensions/filters/http/router/v3/router_pb.ts"
import { typedExtension } from "../Extension.ts"
import type { HttpFilterModule } from "./HttpFilter.ts"

export const ROUTER_FILTER = "envoy.filters.http.router"

export const router: HttpFilterModule = {
  name: ROUTER_FILTER,
  filter: () => typedExtension(ROUTER_FILTER, RouterSchema, {})
}
