/**
 * udp_proxy for UDP listeners: every datagram session goes to the route's cluster, chosen by the
 * proxy's matcher (the `cluster` field is deprecated) with only a no-match action. Pure.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { TcpRouteIR } from "../../ir/Xds.ts"
import type { ListenerFilterSchema } from "../proto/envoy/config/listener/v3/listener_components_pb.ts"
import { RouteSchema as UdpRouteSchema } from "../proto/envoy/extensions/filters/udp/udp_proxy/v3/route_pb.ts"
import { UdpProxyConfigSchema } from "../proto/envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy_pb.ts"
import { l4AccessLog } from "./AccessLog.ts"
import { planUdpDestination } from "./Destination.ts"
import { packed, typedExtension } from "./Extension.ts"

export const UDP_PROXY = "envoy.filters.udp_listener.udp_proxy"

export const udpProxy = (statPrefix: string, route: TcpRouteIR): MessageInitShape<typeof ListenerFilterSchema> => {
  const cluster = planUdpDestination(route.destination).shares[0]?.cluster ?? ""
  return typedExtension(UDP_PROXY, UdpProxyConfigSchema, {
    statPrefix,
    routeSpecifier: {
      case: "matcher",
      value: {
        onNoMatch: {
          onMatch: { case: "action", value: { name: "route", typedConfig: packed(UdpRouteSchema, { cluster }) } }
        }
      }
    },
    accessLog: [l4AccessLog()]
  })
}
