/**
 * The generated Envoy v3 messages (src/xds/proto, `make proto`) and src/xds/Registry.ts: every resource
 * type Portico serves round-trips through binary and canonical JSON, `Any` resolves through the
 * registry, and an `Any` the registry does not know fails JSON conversion: later tests rely on that
 * to prove that every resource they emit decodes.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import {
  create,
  type DescMessage,
  equals,
  fromBinary,
  fromJson,
  type MessageShape,
  toBinary,
  toJson
} from "@bufbuild/protobuf"
import {
  type Any,
  AnySchema,
  DurationSchema,
  file_google_protobuf_any,
  file_google_protobuf_duration
} from "@bufbuild/protobuf/wkt"
import { describe, expect, it } from "vitest"
import { type AccessLog, AccessLogSchema } from "../../src/xds/proto/envoy/config/accesslog/v3/accesslog_pb.ts"
import {
  type Cluster,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  ClusterSchema
} from "../../src/xds/proto/envoy/config/cluster/v3/cluster_pb.ts"
import { type Address, AddressSchema } from "../../src/xds/proto/envoy/config/core/v3/address_pb.ts"
import {
  ApiVersion,
  type ConfigSource,
  ConfigSourceSchema
} from "../../src/xds/proto/envoy/config/core/v3/config_source_pb.ts"
import { HealthStatus } from "../../src/xds/proto/envoy/config/core/v3/health_check_pb.ts"
import {
  type ClusterLoadAssignment,
  ClusterLoadAssignmentSchema
} from "../../src/xds/proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import { type Listener, ListenerSchema } from "../../src/xds/proto/envoy/config/listener/v3/listener_pb.ts"
import {
  type RouteConfiguration,
  RouteConfigurationSchema
} from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import { FileAccessLogSchema } from "../../src/xds/proto/envoy/extensions/access_loggers/file/v3/file_pb.ts"
import { CorsSchema } from "../../src/xds/proto/envoy/extensions/filters/http/cors/v3/cors_pb.ts"
import { RouterSchema } from "../../src/xds/proto/envoy/extensions/filters/http/router/v3/router_pb.ts"
import { TlsInspectorSchema } from "../../src/xds/proto/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.ts"
import {
  HttpConnectionManager_CodecType,
  HttpConnectionManagerSchema
} from "../../src/xds/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import { type Secret, SecretSchema } from "../../src/xds/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"
import {
  DownstreamTlsContextSchema,
  UpstreamTlsContextSchema
} from "../../src/xds/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.ts"
import { HttpProtocolOptionsSchema } from "../../src/xds/proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.ts"
import { AggregatedDiscoveryService } from "../../src/xds/proto/envoy/service/discovery/v3/ads_pb.ts"
import {
  type DeltaDiscoveryResponse,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema
} from "../../src/xds/proto/envoy/service/discovery/v3/discovery_pb.ts"
import { files, pack, registry, TypeUrl, typeUrlOf, unpack } from "../../src/xds/Registry.ts"

const repoRoot = resolve(import.meta.dirname, "../..")
const protoDir = join(repoRoot, "src/xds/proto")

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort()

/** Binary and canonical JSON round trips; returns the JSON (through JSON.stringify, as on a wire). */
const roundTrip = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): unknown => {
  const binary = toBinary(schema, message)
  const fromBin = fromBinary(schema, binary)
  expect(equals(schema, fromBin, message)).toBe(true)
  expect(toBinary(schema, fromBin)).toEqual(binary)

  const json: unknown = JSON.parse(JSON.stringify(toJson(schema, message, { registry })))
  const fromJs = fromJson(schema, json as Parameters<typeof fromJson>[1], { registry })
  expect(equals(schema, fromJs, message)).toBe(true)
  expect(toBinary(schema, fromJs)).toEqual(binary)
  expect(JSON.parse(JSON.stringify(toJson(schema, fromJs, { registry })))).toEqual(json)
  return json
}

const ads: ConfigSource = create(ConfigSourceSchema, {
  configSourceSpecifier: { case: "ads", value: {} },
  resourceApiVersion: ApiVersion.V3
})

const socketAddress = (address: string, port: number): Address =>
  create(AddressSchema, {
    address: { case: "socketAddress", value: { address, portSpecifier: { case: "portValue", value: port } } }
  })

const stdoutFileLog: AccessLog = create(AccessLogSchema, {
  name: "envoy.access_loggers.file",
  configType: {
    case: "typedConfig",
    value: pack(FileAccessLogSchema, create(FileAccessLogSchema, { path: "/dev/stdout" }))
  }
})

const listener: Listener = create(ListenerSchema, {
  name: "default/eg/http",
  address: socketAddress("0.0.0.0", 10080),
  listenerFilters: [
    {
      name: "envoy.filters.listener.tls_inspector",
      configType: { case: "typedConfig", value: pack(TlsInspectorSchema, create(TlsInspectorSchema)) }
    }
  ],
  filterChains: [
    {
      filterChainMatch: { serverNames: ["www.example.com"] },
      filters: [
        {
          name: "envoy.filters.network.http_connection_manager",
          configType: {
            case: "typedConfig",
            value: pack(
              HttpConnectionManagerSchema,
              create(HttpConnectionManagerSchema, {
                statPrefix: "http-10080",
                codecType: HttpConnectionManager_CodecType.AUTO,
                routeSpecifier: { case: "rds", value: { configSource: ads, routeConfigName: "default/eg/http" } },
                accessLog: [stdoutFileLog],
                useRemoteAddress: true,
                httpFilters: [
                  {
                    name: "envoy.filters.http.cors",
                    configType: { case: "typedConfig", value: pack(CorsSchema, create(CorsSchema)) }
                  },
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
      transportSocket: {
        name: "envoy.transport_sockets.tls",
        configType: {
          case: "typedConfig",
          value: pack(
            DownstreamTlsContextSchema,
            create(DownstreamTlsContextSchema, {
              commonTlsContext: {
                alpnProtocols: ["h2", "http/1.1"],
                tlsCertificateSdsSecretConfigs: [{ name: "default/eg-cert", sdsConfig: ads }]
              }
            })
          )
        }
      }
    }
  ]
})

const routeConfiguration: RouteConfiguration = create(RouteConfigurationSchema, {
  name: "default/eg/http",
  ignorePortInHostMatching: true,
  virtualHosts: [
    {
      name: "http/www_example_com",
      domains: ["www.example.com"],
      routes: [
        {
          name: "httproute/default/backend/rule/0/match/0/www_example_com",
          match: { pathSpecifier: { case: "prefix", value: "/" } },
          action: {
            case: "route",
            value: {
              clusterSpecifier: { case: "cluster", value: "httproute/default/backend/rule/0" },
              timeout: create(DurationSchema, { seconds: 15n })
            }
          }
        }
      ]
    }
  ]
})

const cluster: Cluster = create(ClusterSchema, {
  name: "httproute/default/backend/rule/0",
  clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
  edsClusterConfig: { edsConfig: ads, serviceName: "httproute/default/backend/rule/0" },
  connectTimeout: { seconds: 10n },
  lbPolicy: Cluster_LbPolicy.LEAST_REQUEST,
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
  },
  transportSocket: {
    name: "envoy.transport_sockets.tls",
    configType: {
      case: "typedConfig",
      value: pack(UpstreamTlsContextSchema, create(UpstreamTlsContextSchema, { sni: "backend.default.svc" }))
    }
  }
})

const clusterLoadAssignment: ClusterLoadAssignment = create(ClusterLoadAssignmentSchema, {
  clusterName: "httproute/default/backend/rule/0",
  endpoints: [
    {
      locality: { region: "default/backend" },
      loadBalancingWeight: 1,
      lbEndpoints: [
        {
          hostIdentifier: { case: "endpoint", value: { address: socketAddress("10.244.0.7", 3000) } },
          healthStatus: HealthStatus.HEALTHY,
          loadBalancingWeight: 1
        },
        {
          hostIdentifier: { case: "endpoint", value: { address: socketAddress("10.244.0.8", 3000) } },
          healthStatus: HealthStatus.DRAINING
        }
      ]
    }
  ]
})

const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
const secret: Secret = create(SecretSchema, {
  name: "default/eg-cert",
  type: {
    case: "tlsCertificate",
    value: {
      certificateChain: { specifier: { case: "inlineString", value: pem } },
      privateKey: { specifier: { case: "inlineBytes", value: new TextEncoder().encode("private key bytes") } }
    }
  }
})

const resources = [
  { typeUrl: TypeUrl.Listener, name: listener.name, schema: ListenerSchema, message: listener },
  {
    typeUrl: TypeUrl.RouteConfiguration,
    name: routeConfiguration.name,
    schema: RouteConfigurationSchema,
    message: routeConfiguration
  },
  { typeUrl: TypeUrl.Cluster, name: cluster.name, schema: ClusterSchema, message: cluster },
  {
    typeUrl: TypeUrl.ClusterLoadAssignment,
    name: clusterLoadAssignment.clusterName,
    schema: ClusterLoadAssignmentSchema,
    message: clusterLoadAssignment
  },
  { typeUrl: TypeUrl.Secret, name: secret.name, schema: SecretSchema, message: secret }
] as const

const deltaResponse = (typeUrl: string, name: string, resource: Any): DeltaDiscoveryResponse =>
  create(DeltaDiscoveryResponseSchema, {
    systemVersionInfo: "1",
    typeUrl,
    nonce: "n-1",
    resources: [{ name, version: "v-abc", resource }],
    removedResources: ["default/old"]
  })

describe("generated Envoy v3 messages", () => {
  it("round-trips a Listener with an HttpConnectionManager packed in Any", () => {
    const json = roundTrip(ListenerSchema, listener) as {
      filterChains: Array<{ filters: Array<{ typedConfig: Record<string, unknown> }> }>
    }
    const hcm = json.filterChains[0]?.filters[0]?.typedConfig
    expect(hcm?.["@type"]).toBe(
      "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    )
    expect(hcm?.statPrefix).toBe("http-10080")
    expect(hcm?.rds).toEqual({
      configSource: { ads: {}, resourceApiVersion: "V3" },
      routeConfigName: "default/eg/http"
    })
    expect(hcm?.httpFilters).toEqual([
      { name: "envoy.filters.http.cors", typedConfig: { "@type": typeUrlOf(CorsSchema.typeName) } },
      { name: "envoy.filters.http.router", typedConfig: { "@type": typeUrlOf(RouterSchema.typeName) } }
    ])
  })

  it("round-trips a RouteConfiguration", () => {
    const json = roundTrip(RouteConfigurationSchema, routeConfiguration) as {
      virtualHosts: Array<{ routes: Array<{ route: unknown }> }>
    }
    expect(json.virtualHosts[0]?.routes[0]?.route).toEqual({
      cluster: "httproute/default/backend/rule/0",
      timeout: "15s"
    })
  })

  it("round-trips a Cluster with EDS config and typed protocol options", () => {
    const json = roundTrip(ClusterSchema, cluster) as Record<string, unknown>
    expect(json.type).toBe("EDS")
    expect(json.connectTimeout).toBe("10s")
    expect(json.edsClusterConfig).toEqual({
      edsConfig: { ads: {}, resourceApiVersion: "V3" },
      serviceName: "httproute/default/backend/rule/0"
    })
  })

  it("round-trips a ClusterLoadAssignment", () => {
    const json = roundTrip(ClusterLoadAssignmentSchema, clusterLoadAssignment) as {
      endpoints: Array<{ lbEndpoints: Array<Record<string, unknown>> }>
    }
    expect(json.endpoints[0]?.lbEndpoints[0]).toEqual({
      endpoint: { address: { socketAddress: { address: "10.244.0.7", portValue: 3000 } } },
      healthStatus: "HEALTHY",
      loadBalancingWeight: 1
    })
  })

  it("round-trips a TLS Secret (inline bytes as base64 in JSON)", () => {
    const json = roundTrip(SecretSchema, secret) as { tlsCertificate: { privateKey: { inlineBytes: string } } }
    expect(Buffer.from(json.tlsCertificate.privateKey.inlineBytes, "base64").toString()).toBe("private key bytes")
  })

  it.each(resources.map((r) => [r.typeUrl, r] as const))("round-trips a DeltaDiscoveryResponse of %s", (typeUrl, r) => {
    const any = pack(r.schema as DescMessage, r.message)
    expect(any.typeUrl).toBe(typeUrl)
    const response = deltaResponse(typeUrl, r.name, any)
    roundTrip(DeltaDiscoveryResponseSchema, response)
    const decoded = fromBinary(DeltaDiscoveryResponseSchema, toBinary(DeltaDiscoveryResponseSchema, response))
    const resource = decoded.resources[0]?.resource
    expect(resource).toBeDefined()
    const typed = unpack(resource as Any, r.schema as DescMessage)
    expect(typed && equals(r.schema as DescMessage, typed, r.message)).toBe(true)
    const viaRegistry = unpack(resource as Any)
    expect(viaRegistry?.$typeName).toBe(r.schema.typeName)
  })

  it("round-trips a DeltaDiscoveryResponse carrying every resource type at once", () => {
    const response = create(DeltaDiscoveryResponseSchema, {
      resources: resources.map((r) => ({
        name: r.name,
        version: "1",
        resource: pack(r.schema as DescMessage, r.message)
      }))
    })
    const json = roundTrip(DeltaDiscoveryResponseSchema, response) as {
      resources: Array<{ resource: { "@type": string } }>
    }
    expect(json.resources.map((r) => r.resource["@type"])).toEqual(resources.map((r) => r.typeUrl))
  })
})

describe("Any the registry does not know", () => {
  const unknownTypeUrl = "type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope"
  const unknown: Any = create(AnySchema, { typeUrl: unknownTypeUrl, value: new Uint8Array([8, 1]) })

  it("fails JSON encoding, naming the type URL", () => {
    expect(() => toJson(AnySchema, unknown, { registry })).toThrow(
      `cannot encode message google.protobuf.Any to JSON: "${unknownTypeUrl}" is not in the type registry`
    )
  })

  it("fails JSON encoding of a resource that embeds it, and of a response that carries that resource", () => {
    const bad = create(ListenerSchema, {
      name: "bad",
      filterChains: [{ filters: [{ name: "nope", configType: { case: "typedConfig", value: unknown } }] }]
    })
    expect(() => toJson(ListenerSchema, bad, { registry })).toThrow(/is not in the type registry/)
    const response = deltaResponse(TypeUrl.Listener, "bad", pack(ListenerSchema, bad))
    expect(() => toJson(DeltaDiscoveryResponseSchema, response, { registry })).toThrow(unknownTypeUrl)
    // binary alone cannot tell: an Any's bytes are opaque to it
    expect(() =>
      fromBinary(DeltaDiscoveryResponseSchema, toBinary(DeltaDiscoveryResponseSchema, response))
    ).not.toThrow()
  })

  it("fails JSON decoding, naming the type URL", () => {
    expect(() => fromJson(AnySchema, { "@type": unknownTypeUrl }, { registry })).toThrow(unknownTypeUrl)
  })

  it("fails JSON encoding when a known type's bytes do not decode", () => {
    const corrupt = create(AnySchema, { typeUrl: TypeUrl.Cluster, value: new Uint8Array([0xff]) })
    expect(() => toJson(AnySchema, corrupt, { registry })).toThrow()
  })

  it("does not unpack", () => {
    expect(unpack(unknown)).toBeUndefined()
    expect(unpack(unknown, ClusterSchema)).toBeUndefined()
  })
})

describe("Registry", () => {
  it("holds every generated file, and the well-known types from @bufbuild/protobuf/wkt", () => {
    const generated = filesUnder(protoDir)
      .map((path) => relative(protoDir, path).replace(/_pb\.ts$/, ".proto"))
      .sort()
    const names = files.map((file) => file.proto.name)
    expect(names.filter((name) => !name.startsWith("google/protobuf/"))).toEqual(generated)
    expect(generated.filter((name) => name.startsWith("google/protobuf/"))).toEqual([])
    expect(files.find((file) => file.proto.name === "google/protobuf/any.proto")).toBe(file_google_protobuf_any)
    expect(files.find((file) => file.proto.name === "google/protobuf/duration.proto")).toBe(
      file_google_protobuf_duration
    )
  })

  it("has the packages Portico uses", () => {
    const messages = [
      "envoy.config.bootstrap.v3.Bootstrap",
      "envoy.config.listener.v3.Listener",
      "envoy.config.route.v3.RouteConfiguration",
      "envoy.config.cluster.v3.Cluster",
      "envoy.config.endpoint.v3.ClusterLoadAssignment",
      "envoy.config.core.v3.Node",
      "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
      "envoy.extensions.filters.http.router.v3.Router",
      "envoy.extensions.filters.http.cors.v3.Cors",
      "envoy.extensions.filters.http.cors.v3.CorsPolicy",
      "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
      "envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig",
      "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
      "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      "envoy.extensions.transport_sockets.tls.v3.Secret",
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
      "envoy.extensions.access_loggers.file.v3.FileAccessLog",
      "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
      "envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
      "envoy.service.discovery.v3.DiscoveryRequest",
      "envoy.service.discovery.v3.DiscoveryResponse",
      "envoy.service.discovery.v3.DeltaDiscoveryRequest",
      "envoy.service.discovery.v3.DeltaDiscoveryResponse",
      "envoy.type.matcher.v3.StringMatcher",
      "envoy.type.matcher.v3.RegexMatcher",
      "google.protobuf.Struct",
      "google.protobuf.UInt32Value"
    ]
    expect(messages.filter((name) => registry.getMessage(name) === undefined)).toEqual([])
    const service = registry.getService("envoy.service.discovery.v3.AggregatedDiscoveryService")
    expect(service).toBe(AggregatedDiscoveryService)
    expect(service?.methods.map((m) => [m.name, m.methodKind, m.input.typeName, m.output.typeName])).toEqual([
      [
        "StreamAggregatedResources",
        "bidi_streaming",
        DiscoveryRequestSchema.typeName,
        "envoy.service.discovery.v3.DiscoveryResponse"
      ],
      [
        "DeltaAggregatedResources",
        "bidi_streaming",
        "envoy.service.discovery.v3.DeltaDiscoveryRequest",
        DeltaDiscoveryResponseSchema.typeName
      ]
    ])
  })

  it("names the resource type URLs after their schemas", () => {
    expect(TypeUrl).toEqual({
      Listener: typeUrlOf(ListenerSchema.typeName),
      RouteConfiguration: typeUrlOf(RouteConfigurationSchema.typeName),
      Cluster: typeUrlOf(ClusterSchema.typeName),
      ClusterLoadAssignment: typeUrlOf(ClusterLoadAssignmentSchema.typeName),
      Secret: typeUrlOf(SecretSchema.typeName)
    })
  })
})

describe("generated code", () => {
  it("imports only @bufbuild/protobuf and sibling generated files, and declares no TypeScript enums", () => {
    const external = new Set<string>()
    for (const path of filesUnder(protoDir)) {
      const source = readFileSync(path, "utf8")
      for (const match of source.matchAll(/from "([^"]+)"/g)) {
        if (!match[1]?.startsWith(".")) external.add(match[1] ?? "")
      }
      expect(source, path).not.toMatch(/^\s*(export )?(const )?enum /m)
    }
    expect([...external].sort()).toEqual([
      "@bufbuild/protobuf",
      "@bufbuild/protobuf/codegenv2",
      "@bufbuild/protobuf/wkt"
    ])
  })

  it("runs on Node's type stripping (no transpiler)", () => {
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'const m = await import("./src/xds/Registry.ts"); console.log(m.files.length, m.TypeUrl.Listener)'
      ],
      { cwd: repoRoot, encoding: "utf8" }
    )
    expect(out.trim()).toBe(`${files.length} ${TypeUrl.Listener}`)
  })
})
