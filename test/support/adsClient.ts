/**
 * A raw ADS client for protocol tests: one SotW or delta stream over @grpc/grpc-js with the same
 * protobuf-es serializers as the server, as a scoped Effect (the stream half-closes and the client
 * closes when the scope does). Plus small Envoy resources built with `create(...)` (listeners with
 * an HCM over RDS, tcp_proxy and udp_proxy listeners, route configurations, EDS clusters,
 * assignments, secrets) and a logger that captures log lines.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf"
import type { Any } from "@bufbuild/protobuf/wkt"
import * as grpc from "@grpc/grpc-js"
import { type Duration, Effect, Layer, Logger, Option, Queue, References, type Scope } from "effect"
import { AdsServer } from "../../src/xds/AdsServer.ts"
import { adsServiceDefinition } from "../../src/xds/ads/Service.ts"
import {
  type Cluster,
  Cluster_DiscoveryType,
  ClusterSchema
} from "../../src/xds/proto/envoy/config/cluster/v3/cluster_pb.ts"
import { type Node, NodeSchema } from "../../src/xds/proto/envoy/config/core/v3/base_pb.ts"
import { ApiVersion, type ConfigSourceSchema } from "../../src/xds/proto/envoy/config/core/v3/config_source_pb.ts"
import {
  type ClusterLoadAssignment,
  ClusterLoadAssignmentSchema
} from "../../src/xds/proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import { type Listener, ListenerSchema } from "../../src/xds/proto/envoy/config/listener/v3/listener_pb.ts"
import {
  type RouteAction,
  RouteActionSchema,
  WeightedClusterSchema
} from "../../src/xds/proto/envoy/config/route/v3/route_components_pb.ts"
import {
  type RouteConfiguration,
  RouteConfigurationSchema
} from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import { RouterSchema } from "../../src/xds/proto/envoy/extensions/filters/http/router/v3/router_pb.ts"
import { HttpConnectionManagerSchema } from "../../src/xds/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import { TcpProxySchema } from "../../src/xds/proto/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.ts"
import { RouteSchema as UdpRouteSchema } from "../../src/xds/proto/envoy/extensions/filters/udp/udp_proxy/v3/route_pb.ts"
import { UdpProxyConfigSchema } from "../../src/xds/proto/envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy_pb.ts"
import { type Secret, SecretSchema } from "../../src/xds/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"
import { DownstreamTlsContextSchema } from "../../src/xds/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.ts"
import {
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryResponse,
  DiscoveryRequestSchema,
  type DiscoveryResponse
} from "../../src/xds/proto/envoy/service/discovery/v3/discovery_pb.ts"
import { pack, TypeUrl, unpack } from "../../src/xds/Registry.ts"
import type { FleetResources } from "../../src/xds/Resources.ts"
import { SnapshotCache } from "../../src/xds/SnapshotCache.ts"

// ---------------------------------------------------------------------------------------------
// The client

export interface AdsClient<Req, Res> {
  /** Sends a request (node is added to the first one). */
  send(request: Req): Effect.Effect<void>
  /** The next response, failing after `timeoutMs` (default 2 s). */
  next(timeoutMs?: number): Effect.Effect<Res, Error>
  /** Succeeds when no response arrives within `ms`; fails with the response otherwise. */
  silence(ms: number): Effect.Effect<void, Error>
  /** Every response received so far. */
  readonly received: ReadonlyArray<Res>
}

export type SotwClient = AdsClient<MessageInitShape<typeof DiscoveryRequestSchema>, DiscoveryResponse>
export type DeltaClient = AdsClient<MessageInitShape<typeof DeltaDiscoveryRequestSchema>, DeltaDiscoveryResponse>

export interface NodeInit {
  readonly id: string
  readonly cluster: string
}

const GenericAds = grpc.makeGenericClientConstructor(adsServiceDefinition, "AggregatedDiscoveryService")

/** How a client connects: plaintext by default; TLS, call metadata (e.g. a token) and channel options. */
export interface Connection {
  readonly credentials?: grpc.ChannelCredentials
  readonly metadata?: grpc.Metadata
  readonly options?: grpc.ChannelOptions
}

const connect = <Req, Res, Init>(
  address: string,
  method: grpc.MethodDefinition<Req, Res>,
  toRequest: (init: Init, first: boolean) => Req,
  connection: Connection = {}
): Effect.Effect<AdsClient<Init, Res>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const responses = yield* Queue.unbounded<Res>()
    const received: Array<Res> = []
    const { call } = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const client = new GenericAds(
          address,
          connection.credentials ?? grpc.credentials.createInsecure(),
          connection.options ?? {}
        )
        const call = client.makeBidiStreamRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          connection.metadata ?? new grpc.Metadata()
        )
        const ended = new Promise<void>((resolve) => {
          call.on("status", () => {
            client.close()
            resolve()
          })
        })
        call.on("error", () => {})
        call.on("data", (response: Res) => {
          received.push(response)
          Queue.offerUnsafe(responses, response)
        })
        return { client, call, ended }
      }),
      ({ client, call, ended }) =>
        Effect.sync(() => call.end()).pipe(
          Effect.andThen(Effect.promise(() => ended)),
          Effect.timeoutOption("2 seconds"),
          Effect.andThen(Effect.sync(() => client.close()))
        )
    )
    let first = true
    return {
      send: (init: Init) =>
        Effect.sync(() => {
          call.write(toRequest(init, first))
          first = false
        }),
      next: (timeoutMs = 2000) =>
        Queue.take(responses).pipe(
          Effect.timeoutOption(timeoutMs),
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.fail(new Error(`no response within ${timeoutMs} ms`)),
              onSome: Effect.succeed
            })
          )
        ),
      silence: (ms: number) =>
        Queue.take(responses).pipe(
          Effect.timeoutOption(ms),
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.void,
              onSome: (response) => Effect.fail(new Error(`unexpected response: ${describe(response)}`))
            })
          )
        ),
      received
    }
  })

const describe = (response: unknown): string =>
  JSON.stringify(response, (_key, value) =>
    typeof value === "bigint" ? value.toString() : value instanceof Uint8Array ? `<${value.length} bytes>` : value
  )

/** A SotW stream; `node` goes into the first request. */
export const sotwClient = (address: string, node: NodeInit): Effect.Effect<SotwClient, never, Scope.Scope> =>
  connect(
    address,
    adsServiceDefinition.streamAggregatedResources,
    (init: MessageInitShape<typeof DiscoveryRequestSchema>, first) =>
      withNode(create(DiscoveryRequestSchema, init), first ? node : undefined)
  )

/** A delta stream; `node` goes into the first request. */
export const deltaClient = (
  address: string,
  node: NodeInit,
  connection?: Connection
): Effect.Effect<DeltaClient, never, Scope.Scope> =>
  connect(
    address,
    adsServiceDefinition.deltaAggregatedResources,
    (init: MessageInitShape<typeof DeltaDiscoveryRequestSchema>, first) =>
      withNode(create(DeltaDiscoveryRequestSchema, init), first ? node : undefined),
    connection
  )

const withNode = <R extends { node?: Node | undefined }>(request: R, node: NodeInit | undefined): R => {
  if (node !== undefined) request.node = create(NodeSchema, node)
  return request
}

/**
 * Opens a SotW stream and writes bytes that are no DiscoveryRequest; resolves with the status the
 * server ends the stream with.
 */
export const garbageStream = (address: string): Effect.Effect<grpc.StatusObject> =>
  Effect.callback<grpc.StatusObject>((resume) => {
    const client = new GenericAds(address, grpc.credentials.createInsecure())
    const call = client.makeBidiStreamRequest(
      adsServiceDefinition.streamAggregatedResources.path,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes
    )
    call.on("data", () => {})
    call.on("error", () => {})
    call.on("status", (status) => {
      client.close()
      resume(Effect.succeed(status))
    })
    call.write(Buffer.from([0xff, 0xff, 0xff, 0xff]))
  })

/** The SotW ACK of a response, keeping `resourceNames`. */
export const sotwAck = (
  response: DiscoveryResponse,
  resourceNames: ReadonlyArray<string> = []
): MessageInitShape<typeof DiscoveryRequestSchema> => ({
  typeUrl: response.typeUrl,
  versionInfo: response.versionInfo,
  responseNonce: response.nonce,
  resourceNames: [...resourceNames]
})

/** The SotW NACK of a response: `versionInfo` is the last version the client accepted. */
export const sotwNack = (
  response: DiscoveryResponse,
  lastGoodVersion: string,
  message: string,
  resourceNames: ReadonlyArray<string> = []
): MessageInitShape<typeof DiscoveryRequestSchema> => ({
  typeUrl: response.typeUrl,
  versionInfo: lastGoodVersion,
  responseNonce: response.nonce,
  resourceNames: [...resourceNames],
  errorDetail: { code: 3, message }
})

export const deltaAck = (response: DeltaDiscoveryResponse): MessageInitShape<typeof DeltaDiscoveryRequestSchema> => ({
  typeUrl: response.typeUrl,
  responseNonce: response.nonce
})

export const deltaNack = (
  response: DeltaDiscoveryResponse,
  message: string
): MessageInitShape<typeof DeltaDiscoveryRequestSchema> => ({
  typeUrl: response.typeUrl,
  responseNonce: response.nonce,
  errorDetail: { code: 3, message }
})

let pings = 0

/**
 * Waits until the server has processed everything this delta client sent before: subscribes to an
 * endpoint assignment that does not exist and waits for the server to report it absent.
 */
export const deltaBarrier = (client: DeltaClient): Effect.Effect<void, Error> =>
  Effect.gen(function* () {
    pings += 1
    const name = `barrier-${pings}`
    yield* client.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: [name] })
    const response = yield* client.next()
    if (!response.removedResources.includes(name)) {
      return yield* Effect.fail(new Error(`expected the barrier's answer, got ${describe(response)}`))
    }
    yield* client.send({
      typeUrl: TypeUrl.ClusterLoadAssignment,
      responseNonce: response.nonce,
      resourceNamesUnsubscribe: [name]
    })
  })

/** Names of the resources in a SotW response. */
export const sotwNames = (response: DiscoveryResponse): ReadonlyArray<string> => response.resources.map(nameOfAny)

/** Names of the resources in a delta response. */
export const deltaNames = (response: DeltaDiscoveryResponse): ReadonlyArray<string> =>
  response.resources.map((r) => r.name)

/** The name of a packed xDS resource (a ClusterLoadAssignment's is its cluster_name). */
export const nameOfAny = (any: Any): string => {
  const message = unpack(any)
  if (message === undefined) return `<${any.typeUrl}>`
  if ("name" in message && typeof message.name === "string") return message.name
  if ("clusterName" in message && typeof message.clusterName === "string") return message.clusterName
  return `<${any.typeUrl}>`
}

// ---------------------------------------------------------------------------------------------
// Resources

const ads: MessageInitShape<typeof ConfigSourceSchema> = {
  configSourceSpecifier: { case: "ads", value: {} },
  resourceApiVersion: ApiVersion.V3
}

/** An HTTP listener on `port` whose HCM takes route configuration `route` over RDS; optional TLS secret over SDS. */
export const httpListener = (
  name: string,
  route: string,
  options: { port?: number; secret?: string; statPrefix?: string } = {}
): Listener =>
  create(ListenerSchema, {
    name,
    address: {
      address: {
        case: "socketAddress",
        value: { address: "0.0.0.0", portSpecifier: { case: "portValue", value: options.port ?? 10080 } }
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
                  statPrefix: options.statPrefix ?? name,
                  routeSpecifier: { case: "rds", value: { routeConfigName: route, configSource: ads } },
                  httpFilters: [
                    {
                      name: "envoy.filters.http.router",
                      configType: { case: "typedConfig", value: pack(RouterSchema, create(RouterSchema)) }
                    }
                  ]
                })
              )
            }
          }
        ],
        ...(options.secret === undefined
          ? {}
          : {
              transportSocket: {
                name: "envoy.transport_sockets.tls",
                configType: {
                  case: "typedConfig",
                  value: pack(
                    DownstreamTlsContextSchema,
                    create(DownstreamTlsContextSchema, {
                      commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: options.secret, sdsConfig: ads }] }
                    })
                  )
                }
              }
            })
      }
    ]
  })

/** A TCP listener proxying to `cluster`. */
export const tcpListener = (name: string, cluster: string, port = 10090): Listener =>
  create(ListenerSchema, {
    name,
    address: {
      address: {
        case: "socketAddress",
        value: { address: "0.0.0.0", portSpecifier: { case: "portValue", value: port } }
      }
    },
    filterChains: [
      {
        filters: [
          {
            name: "envoy.filters.network.tcp_proxy",
            configType: {
              case: "typedConfig",
              value: pack(
                TcpProxySchema,
                create(TcpProxySchema, { statPrefix: name, clusterSpecifier: { case: "cluster", value: cluster } })
              )
            }
          }
        ]
      }
    ]
  })

/** A UDP listener whose udp_proxy matcher routes everything to `cluster`. */
export const udpListener = (name: string, cluster: string, port = 10053): Listener =>
  create(ListenerSchema, {
    name,
    address: {
      address: {
        case: "socketAddress",
        value: { address: "0.0.0.0", protocol: 1, portSpecifier: { case: "portValue", value: port } }
      }
    },
    listenerFilters: [
      {
        name: "envoy.filters.udp_listener.udp_proxy",
        configType: {
          case: "typedConfig",
          value: pack(
            UdpProxyConfigSchema,
            create(UdpProxyConfigSchema, {
              statPrefix: name,
              routeSpecifier: {
                case: "matcher",
                value: {
                  onNoMatch: {
                    onMatch: {
                      case: "action",
                      value: {
                        name: "route",
                        typedConfig: pack(UdpRouteSchema, create(UdpRouteSchema, { cluster }))
                      }
                    }
                  }
                }
              }
            })
          )
        }
      }
    ]
  })

const routeAction = (clusters: ReadonlyArray<string>, mirror: string | undefined): RouteAction => {
  const action = create(RouteActionSchema, {
    requestMirrorPolicies: mirror === undefined ? [] : [{ cluster: mirror }]
  })
  action.clusterSpecifier =
    clusters.length === 1
      ? { case: "cluster", value: clusters[0] ?? "" }
      : {
          case: "weightedClusters",
          value: create(WeightedClusterSchema, { clusters: clusters.map((name) => ({ name, weight: 1 })) })
        }
  return action
}

/** A route configuration with one virtual host sending `/` to `clusters` (weighted evenly when several). */
export const routeConfig = (
  name: string,
  clusters: ReadonlyArray<string>,
  options: { mirror?: string; domain?: string } = {}
): RouteConfiguration =>
  create(RouteConfigurationSchema, {
    name,
    virtualHosts: [
      {
        name: `${name}/vh`,
        domains: [options.domain ?? "*"],
        routes: [
          {
            name: `${name}/route`,
            match: { pathSpecifier: { case: "prefix", value: "/" } },
            action: { case: "route", value: routeAction(clusters, options.mirror) }
          }
        ]
      }
    ]
  })

/** An EDS cluster over ADS. */
export const edsCluster = (
  name: string,
  options: { connectTimeoutSeconds?: number; serviceName?: string } = {}
): Cluster =>
  create(ClusterSchema, {
    name,
    connectTimeout: { seconds: BigInt(options.connectTimeoutSeconds ?? 5) },
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: ads, serviceName: options.serviceName ?? "" }
  })

/** A static cluster (no EDS). */
export const staticCluster = (name: string): Cluster =>
  create(ClusterSchema, { name, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC } })

/** An assignment with one endpoint on 127.0.0.1:`port`. */
export const assignment = (clusterName: string, port: number): ClusterLoadAssignment =>
  create(ClusterLoadAssignmentSchema, {
    clusterName,
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
                    value: { address: "127.0.0.1", portSpecifier: { case: "portValue", value: port } }
                  }
                }
              }
            }
          }
        ]
      }
    ]
  })

/** A TLS certificate secret (inline PEM placeholders). */
export const tlsSecret = (name: string, serial = "1"): Secret =>
  create(SecretSchema, {
    name,
    type: {
      case: "tlsCertificate",
      value: {
        certificateChain: { specifier: { case: "inlineString", value: `-----BEGIN CERTIFICATE-----\n${serial}\n` } },
        privateKey: { specifier: { case: "inlineString", value: `-----BEGIN PRIVATE KEY-----\n${serial}\n` } }
      }
    }
  })

const byName =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0

/** A fleet's resources, sorted by name as the contract says. */
export const fleetResources = (
  fleet: string,
  parts: {
    readonly listeners?: ReadonlyArray<Listener>
    readonly routes?: ReadonlyArray<RouteConfiguration>
    readonly clusters?: ReadonlyArray<Cluster>
    readonly endpoints?: ReadonlyArray<ClusterLoadAssignment>
    readonly secrets?: ReadonlyArray<Secret>
  }
): FleetResources => ({
  fleet,
  listeners: [...(parts.listeners ?? [])].sort(byName((l) => l.name)),
  routes: [...(parts.routes ?? [])].sort(byName((r) => r.name)),
  clusters: [...(parts.clusters ?? [])].sort(byName((c) => c.name)),
  endpoints: [...(parts.endpoints ?? [])].sort(byName((e) => e.clusterName)),
  secrets: [...(parts.secrets ?? [])].sort(byName((s) => s.name))
})

/**
 * A small consistent HTTP fleet: listener `l` -> route config `r` -> EDS clusters (each with an
 * assignment on port 9000 + index).
 */
export const httpFleet = (
  fleet: string,
  clusters: ReadonlyArray<string>,
  options: { route?: string; listener?: string } = {}
): FleetResources =>
  fleetResources(fleet, {
    listeners: [httpListener(options.listener ?? "l", options.route ?? "r")],
    routes: [routeConfig(options.route ?? "r", clusters)],
    clusters: clusters.map((c) => edsCluster(c)),
    endpoints: clusters.map((c, i) => assignment(c, 9000 + i))
  })

export { TypeUrl }

// ---------------------------------------------------------------------------------------------
// Logs

export interface CapturedLog {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** A logger layer that records log lines (instead of printing them) into `into`. */
export const captureLogs = (into: Array<CapturedLog>) =>
  Logger.layer([
    Logger.make(({ message, logLevel, fiber }) => {
      const parts = Array.isArray(message) ? message : [message]
      into.push({
        level: logLevel,
        message: parts.map((p) => (typeof p === "string" ? p : describe(p))).join(" "),
        annotations: fiber.getRef(References.CurrentLogAnnotations)
      })
    })
  ])

// ---------------------------------------------------------------------------------------------
// A server per test

/**
 * Runs `body` against a fresh SnapshotCache and an AdsServer on a random free port of 127.0.0.1;
 * the server stops (and every stream ends) when `body` is done. Log lines go to `logs`.
 */
export const withAds = <A, E>(
  body: Effect.Effect<A, E, SnapshotCache | AdsServer | Scope.Scope>,
  options: { readonly ackTimeout?: Duration.Input; readonly logs?: Array<CapturedLog> } = {}
): Effect.Effect<A, E | Error> =>
  body.pipe(
    Effect.scoped,
    Effect.provide(
      AdsServer.layer({ address: "127.0.0.1:0", ackTimeout: options.ackTimeout ?? "2 seconds" }).pipe(
        Layer.provideMerge(SnapshotCache.layer),
        Layer.provideMerge(captureLogs(options.logs ?? []))
      )
    )
  )
