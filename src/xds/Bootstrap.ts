/**
 * The Envoy bootstrap for one fleet: ADS over delta gRPC to the control
 * plane, admin on 127.0.0.1:19000, a readiness listener (/ready on 19003)
 * backed by the admin's own /ready, and node.cluster naming the fleet so the
 * ADS server serves it that fleet's resources. Pure.
 */

import { isIP } from "node:net"
import { create, type MessageInitShape, toJson } from "@bufbuild/protobuf"
import { BootstrapSchema } from "./proto/envoy/config/bootstrap/v3/bootstrap_pb.ts"
import { type Cluster, Cluster_DiscoveryType, ClusterSchema } from "./proto/envoy/config/cluster/v3/cluster_pb.ts"
import { ApiConfigSource_ApiType, ApiVersion } from "./proto/envoy/config/core/v3/config_source_pb.ts"
import { ListenerSchema } from "./proto/envoy/config/listener/v3/listener_pb.ts"
import { RouterSchema } from "./proto/envoy/extensions/filters/http/router/v3/router_pb.ts"
import { HttpConnectionManagerSchema } from "./proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import { HttpProtocolOptionsSchema } from "./proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.ts"
import { pack, registry } from "./Registry.ts"

export const XDS_CLUSTER = "xds_cluster"
export const ADMIN_CLUSTER = "envoy_admin"
export const ADMIN_PORT = 19000
export const READY_PORT = 19003
export const DEFAULT_XDS_ADDRESS = "127.0.0.1:18000"

export interface BootstrapOptions {
  /** The fleet (`envoy-<gw-ns>-<gw>-<hash8>`): node.cluster. */
  readonly fleet: string
  /** node.id; default `<fleet>-0`. Must be unique per Envoy. */
  readonly nodeId?: string
  /** The ADS server (see parseHostPort). */
  readonly host: string
  readonly port: number
}

/** Parses `host:port` (IPv6 as `[::1]:18000`); undefined when malformed. */
export const parseHostPort = (value: string): { readonly host: string; readonly port: number } | undefined => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value)
  if (m === null) return undefined
  const host = m[1] ?? m[2] ?? ""
  const port = Number(m[3])
  if (host === "" || port < 1 || port > 65535) return undefined
  return { host, port }
}

const staticCluster = (
  name: string,
  host: string,
  port: number,
  http2: boolean
): MessageInitShape<typeof ClusterSchema> => ({
  name,
  connectTimeout: { seconds: 10n },
  clusterDiscoveryType: {
    case: "type",
    value: isIP(host) === 0 ? Cluster_DiscoveryType.STRICT_DNS : Cluster_DiscoveryType.STATIC
  },
  loadAssignment: {
    clusterName: name,
    endpoints: [
      {
        lbEndpoints: [
          {
            hostIdentifier: {
              case: "endpoint",
              value: {
                address: {
                  address: {
                    case: "socketAddress",
                    value: { address: host, portSpecifier: { case: "portValue", value: port } }
                  }
                }
              }
            }
          }
        ]
      }
    ]
  },
  ...(http2
    ? {
        typedExtensionProtocolOptions: {
          "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": pack(
            HttpProtocolOptionsSchema,
            create(HttpProtocolOptionsSchema, {
              upstreamProtocolOptions: {
                case: "explicitHttpConfig",
                value: { protocolConfig: { case: "http2ProtocolOptions", value: {} } }
              }
            })
          )
        }
      }
    : {})
})

const readyListener = () =>
  create(ListenerSchema, {
    name: "envoy-ready",
    address: {
      address: {
        case: "socketAddress",
        value: { address: "0.0.0.0", portSpecifier: { case: "portValue", value: READY_PORT } }
      }
    },
    filterChains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            configType: {
              case: "typedConfig",
              value: pack(
                HttpConnectionManagerSchema,
                create(HttpConnectionManagerSchema, {
                  statPrefix: "envoy-ready",
                  routeSpecifier: {
                    case: "routeConfig",
                    value: {
                      name: "envoy-ready",
                      virtualHosts: [
                        {
                          name: "ready",
                          domains: ["*"],
                          routes: [
                            {
                              match: { pathSpecifier: { case: "path", value: "/ready" } },
                              action: {
                                case: "route",
                                value: { clusterSpecifier: { case: "cluster", value: ADMIN_CLUSTER } }
                              }
                            }
                          ]
                        }
                      ]
                    }
                  },
                  httpFilters: [
                    {
                      name: "envoy.filters.http.router",
                      configType: { case: "typedConfig", value: pack(RouterSchema, create(RouterSchema, {})) }
                    }
                  ]
                })
              )
            }
          }
        ]
      }
    ]
  })

/** The bootstrap as a typed message. */
export const makeBootstrap = (options: BootstrapOptions) => {
  const ads = { ads: {}, resourceApiVersion: ApiVersion.V3 }
  const clusters: Array<Cluster> = [
    create(ClusterSchema, staticCluster(XDS_CLUSTER, options.host, options.port, true)),
    create(ClusterSchema, staticCluster(ADMIN_CLUSTER, "127.0.0.1", ADMIN_PORT, false))
  ]
  return create(BootstrapSchema, {
    node: { id: options.nodeId ?? `${options.fleet}-0`, cluster: options.fleet },
    admin: {
      address: {
        address: {
          case: "socketAddress",
          value: { address: "127.0.0.1", portSpecifier: { case: "portValue", value: ADMIN_PORT } }
        }
      }
    },
    dynamicResources: {
      adsConfig: {
        apiType: ApiConfigSource_ApiType.DELTA_GRPC,
        transportApiVersion: ApiVersion.V3,
        setNodeOnFirstMessageOnly: true,
        grpcServices: [{ targetSpecifier: { case: "envoyGrpc", value: { clusterName: XDS_CLUSTER } } }]
      },
      ldsConfig: { configSourceSpecifier: { case: "ads", value: {} }, resourceApiVersion: ads.resourceApiVersion },
      cdsConfig: { configSourceSpecifier: { case: "ads", value: {} }, resourceApiVersion: ads.resourceApiVersion }
    },
    staticResources: { listeners: [readyListener()], clusters }
  })
}

/** The bootstrap in Envoy's canonical JSON form (`envoy -c` reads it as JSON or YAML). */
export const bootstrapJson = (options: BootstrapOptions): unknown =>
  toJson(BootstrapSchema, makeBootstrap(options), { registry, useProtoFieldName: true })
