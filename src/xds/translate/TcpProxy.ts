/**
 * tcp_proxy for TCP listeners and TLS filter chains (passthrough, or terminated TLSRoutes): the
 * route's backends as one cluster or weighted clusters; an invalid share goes to the undefined
 * INVALID_BACKEND_CLUSTER, whose connections Envoy closes (Destination.ts). Pure.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { TcpRouteIR } from "../../ir/Xds.ts"
import type { FilterSchema } from "../proto/envoy/config/listener/v3/listener_components_pb.ts"
import { TcpProxySchema } from "../proto/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.ts"
import { l4AccessLog } from "./AccessLog.ts"
import { INVALID_BACKEND_CLUSTER, planDestination } from "./Destination.ts"
import { typedExtension } from "./Extension.ts"

export const TCP_PROXY = "envoy.filters.network.tcp_proxy"

export const tcpProxy = (statPrefix: string, route: TcpRouteIR): MessageInitShape<typeof FilterSchema> => {
  const shares = planDestination(route.destination).shares
  const only = shares[0]
  return typedExtension(TCP_PROXY, TcpProxySchema, {
    statPrefix,
    clusterSpecifier:
      only === undefined
        ? { case: "cluster", value: INVALID_BACKEND_CLUSTER }
        : shares.length === 1
          ? { case: "cluster", value: only.cluster }
          : {
              case: "weightedClusters",
              value: { clusters: shares.map((share) => ({ name: share.cluster, weight: share.weight })) }
            },
    accessLog: [l4AccessLog()]
  })
}
