/**
 * What an HTTP filter module provides: its Envoy name, when a route needs it, its place in the
 * connection manager's chain, and its per-route config. Pure.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { Any } from "@bufbuild/protobuf/wkt"
import type { HttpRouteIR } from "../../../ir/Xds.ts"
import type { HttpFilterSchema } from "../../proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"

export type HttpFilterInit = MessageInitShape<typeof HttpFilterSchema>

export interface HttpFilterModule {
  /** The filter's name in the chain, and its key in a route's `typed_per_filter_config`. */
  readonly name: string
  /** Whether `route` needs the filter; a filter without it is always in the chain (the router). */
  readonly usedBy?: (route: HttpRouteIR) => boolean
  /** The filter as it appears in the connection manager's chain. */
  readonly filter: () => HttpFilterInit
  /** The route's own config for the filter, if it has one. */
  readonly perRoute?: (route: HttpRouteIR) => Any | undefined
}
