/**
 * The Envoy bootstrap for one fleet: ADS over delta gRPC to the control
 * plane, admin on 127.0.0.1:19000, a readiness listener (/ready on 19003)
 * backed by the admin's own /ready, and node.cluster naming the fleet so the
 * ADS server serves it that fleet's resources. Pure.
 *
 * xDS security (opt-in; standalone mode uses neither). With `tls`, the xds_cluster speaks TLS
 * (ALPN h2), trusts only the controller's CA bundle (a file) and requires the server certificate to
 * name `serverName` (SNI and a DNS SAN match: Envoy checks no host name unless told to). With
 * `token`, every request on the xds_cluster carries the pod's projected ServiceAccount token in the
 * header {@link XDS_TOKEN_HEADER}: the cluster's upstream HTTP filters (which, per
 * HttpProtocolOptions.http_filters, apply to every HTTP stream through the cluster, so to the
 * Envoy-gRPC ADS stream too) are `envoy.filters.http.credential_injector` with a `generic`
 * credential, then the terminal `envoy.filters.http.upstream_codec`. The credential is a generic
 * SDS secret read from a file (`sdsFile`, a DiscoveryResponse, see {@link tokenSdsJson}) whose
 * `secret.filename` is the token file. Why a custom header and not `authorization: Bearer`: the
 * Generic credential of the pinned Envoy API injects the secret verbatim and has no
 * `header_value_prefix` (added by envoyproxy/envoy#42728, merged Dec 2025, after Envoy 1.36), and
 * a projected token file holds the bare JWT; the server accepts both forms (see XdsAuth). Rotation: Envoy watches the directory of a generic secret's
 * `filename` for moves (fixed in envoyproxy/envoy#38803, Envoy >= 1.34), which is how the kubelet
 * swaps a projected volume's `..data`; `sdsWatchedDirectory` makes Envoy re-read the SDS file itself
 * when its ConfigMap mount changes. Only the field names and shapes are checked here (they
 * round-trip through the Envoy protos); no Envoy binary runs in the tests.
 */

import { isIP } from "node:net"
import { create, type MessageInitShape, toJson } from "@bufbuild/protobuf"
import { BootstrapSchema } from "./proto/envoy/config/bootstrap/v3/bootstrap_pb.ts"
import { type Cluster, Cluster_DiscoveryType, ClusterSchema } from "./proto/envoy/config/cluster/v3/cluster_pb.ts"
import { ApiConfigSource_ApiType, ApiVersion } from "./proto/envoy/config/core/v3/config_source_pb.ts"
import { ListenerSchema } from "./proto/envoy/config/listener/v3/listener_pb.ts"
import { CredentialInjectorSchema } from "./proto/envoy/extensions/filters/http/credential_injector/v3/credential_injector_pb.ts"
import { RouterSchema } from "./proto/envoy/extensions/filters/http/router/v3/router_pb.ts"
import { UpstreamCodecSchema } from "./proto/envoy/extensions/filters/http/upstream_codec/v3/upstream_codec_pb.ts"
import { HttpConnectionManagerSchema } from "./proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import { GenericSchema } from "./proto/envoy/extensions/http/injected_credentials/generic/v3/generic_pb.ts"
import { SubjectAltNameMatcher_SanType } from "./proto/envoy/extensions/transport_sockets/tls/v3/common_pb.ts"
import { SecretSchema } from "./proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"
import { UpstreamTlsContextSchema } from "./proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.ts"
import { HttpProtocolOptionsSchema } from "./proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.ts"
import { DiscoveryResponseSchema } from "./proto/envoy/service/discovery/v3/discovery_pb.ts"
import { pack, registry, TypeUrl } from "./Registry.ts"

export const XDS_CLUSTER = "xds_cluster"
export const ADMIN_CLUSTER = "envoy_admin"
export const ADMIN_PORT = 19000
export const READY_PORT = 19003
export const DEFAULT_XDS_ADDRESS = "127.0.0.1:18000"
/** The audience of the projected ServiceAccount token an Envoy presents to the xDS server. */
export const XDS_TOKEN_AUDIENCE = "portico-xds"
/** The gRPC metadata (HTTP/2 header) that carries the raw token (`authorization: Bearer` is accepted too). */
export const XDS_TOKEN_HEADER = "x-portico-xds-token"
/** The name of the generic SDS secret holding the token. */
export const XDS_TOKEN_SECRET = "xds-token"

/** ADS over TLS, verified against a CA bundle file. */
export interface XdsTlsOptions {
  /** PEM bundle of the CAs that may sign the xDS server's certificate. */
  readonly caFile: string
  /** SNI and the DNS SAN the server certificate must carry; default the ADS host. */
  readonly serverName?: string
}

/** The token every ADS request carries (see the module doc). */
export interface XdsTokenOptions {
  /** The SDS file (JSON from {@link tokenSdsJson}) that names the token file. */
  readonly sdsFile: string
  /** A directory whose moves make Envoy re-read `sdsFile` (its ConfigMap mount); none by default. */
  readonly sdsWatchedDirectory?: string
}

export interface BootstrapOptions {
  /** The fleet (`envoy-<gw-ns>-<gw>-<hash8>`): node.cluster. */
  readonly fleet: string
  /** node.id; default `<fleet>-0`. Must be unique per Envoy. */
  readonly nodeId?: string
  /** The ADS server (see parseHostPort). */
  readonly host: string
  readonly port: number
  /** Default plaintext. */
  readonly tls?: XdsTlsOptions
  /** Default none. Needs `tls`: a token never travels in plaintext. */
  readonly token?: XdsTokenOptions
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

/** The xds_cluster's upstream HTTP filters: inject the token, then the codec (which must come last). */
const tokenFilters = (token: XdsTokenOptions) => [
  {
    name: "envoy.filters.http.credential_injector",
    configType: {
      case: "typedConfig" as const,
      value: pack(
        CredentialInjectorSchema,
        create(CredentialInjectorSchema, {
          overwrite: true,
          // Without the token the request fails locally (401) and Envoy retries the stream with backoff.
          allowRequestWithoutCredential: false,
          credential: {
            name: "envoy.http.injected_credentials.generic",
            typedConfig: pack(
              GenericSchema,
              create(GenericSchema, {
                header: XDS_TOKEN_HEADER,
                credential: {
                  name: XDS_TOKEN_SECRET,
                  sdsConfig: {
                    resourceApiVersion: ApiVersion.V3,
                    configSourceSpecifier: {
                      case: "pathConfigSource",
                      value: {
                        path: token.sdsFile,
                        ...(token.sdsWatchedDirectory === undefined
                          ? {}
                          : { watchedDirectory: { path: token.sdsWatchedDirectory } })
                      }
                    }
                  }
                }
              })
            )
          }
        })
      )
    }
  },
  {
    name: "envoy.filters.http.upstream_codec",
    configType: { case: "typedConfig" as const, value: pack(UpstreamCodecSchema, create(UpstreamCodecSchema, {})) }
  }
]

/** TLS to the xDS server: only the given CAs, SNI and a DNS SAN match on the server name, ALPN h2 (gRPC). */
const tlsSocket = (tls: XdsTlsOptions, host: string) => {
  const serverName = tls.serverName ?? host
  return {
    name: "envoy.transport_sockets.tls",
    configType: {
      case: "typedConfig" as const,
      value: pack(
        UpstreamTlsContextSchema,
        create(UpstreamTlsContextSchema, {
          sni: serverName,
          commonTlsContext: {
            alpnProtocols: ["h2"],
            validationContextType: {
              case: "validationContext",
              value: {
                trustedCa: { specifier: { case: "filename", value: tls.caFile } },
                matchTypedSubjectAltNames: [
                  {
                    sanType: SubjectAltNameMatcher_SanType.DNS,
                    matcher: { matchPattern: { case: "exact", value: serverName } }
                  }
                ]
              }
            }
          }
        })
      )
    }
  }
}

const staticCluster = (
  name: string,
  host: string,
  port: number,
  http2: boolean,
  security: Pick<BootstrapOptions, "tls" | "token"> = {}
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
              },
              httpFilters: security.token === undefined ? [] : tokenFilters(security.token)
            })
          )
        }
      }
    : {}),
  ...(security.tls === undefined ? {} : { transportSocket: tlsSocket(security.tls, host) })
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

/** The bootstrap as a typed message. Throws a RangeError for a token without TLS. */
export const makeBootstrap = (options: BootstrapOptions) => {
  if (options.token !== undefined && options.tls === undefined) {
    throw new RangeError("Bootstrap: an xDS token needs TLS (it must not travel in plaintext)")
  }
  const ads = { ads: {}, resourceApiVersion: ApiVersion.V3 }
  const security = {
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.token === undefined ? {} : { token: options.token })
  }
  const clusters: Array<Cluster> = [
    create(ClusterSchema, staticCluster(XDS_CLUSTER, options.host, options.port, true, security)),
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

/** The SDS file's content as a typed DiscoveryResponse: one generic secret whose value is the token file. */
export const makeTokenSds = (tokenFile: string) =>
  create(DiscoveryResponseSchema, {
    typeUrl: TypeUrl.Secret,
    resources: [
      pack(
        SecretSchema,
        create(SecretSchema, {
          name: XDS_TOKEN_SECRET,
          type: {
            case: "genericSecret",
            value: { secret: { specifier: { case: "filename", value: tokenFile } } }
          }
        })
      )
    ]
  })

/** {@link makeTokenSds} in canonical JSON: the file that {@link XdsTokenOptions.sdsFile} names. */
export const tokenSdsJson = (tokenFile: string): unknown =>
  toJson(DiscoveryResponseSchema, makeTokenSds(tokenFile), { registry, useProtoFieldName: true })
