/**
 * The Envoy v3 protobuf types Portico speaks, as one protobuf-es registry, and the `google.protobuf.Any`
 * helpers that pack typed configs and xDS resources.
 *
 * The messages themselves are generated into `./proto/` by `make proto` (buf + protoc-gen-es from the
 * .proto files of @grpc/grpc-js-xds, packages chosen in buf.gen.yaml). This module names the generated
 * files that nothing else imports and adds everything they import (including the google.protobuf
 * well-known types of @bufbuild/protobuf/wkt), so that the registry holds every generated type: JSON
 * conversion of an `Any` resolves its type URL here, and fails on one it does not know.
 */
import {
  createRegistry,
  type DescFile,
  type DescMessage,
  type Message,
  type MessageShape,
  type Registry
} from "@bufbuild/protobuf"
import { type Any, anyPack, anyUnpack } from "@bufbuild/protobuf/wkt"
import { file_envoy_config_bootstrap_v3_bootstrap } from "./proto/envoy/config/bootstrap/v3/bootstrap_pb.ts"
import { file_envoy_config_core_v3_grpc_method_list } from "./proto/envoy/config/core/v3/grpc_method_list_pb.ts"
import { file_envoy_config_core_v3_http_service } from "./proto/envoy/config/core/v3/http_service_pb.ts"
import { file_envoy_config_endpoint_v3_load_report } from "./proto/envoy/config/endpoint/v3/load_report_pb.ts"
import { file_envoy_extensions_access_loggers_file_v3_file } from "./proto/envoy/extensions/access_loggers/file/v3/file_pb.ts"
import { file_envoy_extensions_access_loggers_stream_v3_stream } from "./proto/envoy/extensions/access_loggers/stream/v3/stream_pb.ts"
import { file_envoy_extensions_filters_http_cors_v3_cors } from "./proto/envoy/extensions/filters/http/cors/v3/cors_pb.ts"
import { file_envoy_extensions_filters_http_credential_injector_v3_credential_injector } from "./proto/envoy/extensions/filters/http/credential_injector/v3/credential_injector_pb.ts"
import { file_envoy_extensions_filters_http_router_v3_router } from "./proto/envoy/extensions/filters/http/router/v3/router_pb.ts"
import { file_envoy_extensions_filters_http_upstream_codec_v3_upstream_codec } from "./proto/envoy/extensions/filters/http/upstream_codec/v3/upstream_codec_pb.ts"
import { file_envoy_extensions_filters_listener_tls_inspector_v3_tls_inspector } from "./proto/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.ts"
import { file_envoy_extensions_filters_network_tcp_proxy_v3_tcp_proxy } from "./proto/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.ts"
import { file_envoy_extensions_filters_udp_udp_proxy_v3_route } from "./proto/envoy/extensions/filters/udp/udp_proxy/v3/route_pb.ts"
import { file_envoy_extensions_filters_udp_udp_proxy_v3_udp_proxy } from "./proto/envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy_pb.ts"
import { file_envoy_extensions_http_injected_credentials_generic_v3_generic } from "./proto/envoy/extensions/http/injected_credentials/generic/v3/generic_pb.ts"
import { file_envoy_extensions_transport_sockets_tls_v3_cert } from "./proto/envoy/extensions/transport_sockets/tls/v3/cert_pb.ts"
import { file_envoy_extensions_transport_sockets_tls_v3_tls_spiffe_validator_config } from "./proto/envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config_pb.ts"
import { file_envoy_extensions_upstreams_http_v3_http_protocol_options } from "./proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.ts"
import { file_envoy_service_discovery_v3_ads } from "./proto/envoy/service/discovery/v3/ads_pb.ts"
import { file_envoy_type_matcher_v3_filter_state } from "./proto/envoy/type/matcher/v3/filter_state_pb.ts"
import { file_envoy_type_matcher_v3_http_inputs } from "./proto/envoy/type/matcher/v3/http_inputs_pb.ts"
import { file_envoy_type_matcher_v3_node } from "./proto/envoy/type/matcher/v3/node_pb.ts"
import { file_envoy_type_matcher_v3_path } from "./proto/envoy/type/matcher/v3/path_pb.ts"
import { file_envoy_type_matcher_v3_status_code_input } from "./proto/envoy/type/matcher/v3/status_code_input_pb.ts"

/**
 * The generated files that no other generated file imports: with their imports, every file that
 * `make proto` generates (test/xds/proto.test.ts checks this against the directory).
 */
const roots: ReadonlyArray<DescFile> = [
  file_envoy_config_bootstrap_v3_bootstrap,
  file_envoy_config_core_v3_grpc_method_list,
  file_envoy_config_core_v3_http_service,
  file_envoy_config_endpoint_v3_load_report,
  file_envoy_extensions_access_loggers_file_v3_file,
  file_envoy_extensions_access_loggers_stream_v3_stream,
  file_envoy_extensions_filters_http_cors_v3_cors,
  file_envoy_extensions_filters_http_credential_injector_v3_credential_injector,
  file_envoy_extensions_filters_http_router_v3_router,
  file_envoy_extensions_filters_http_upstream_codec_v3_upstream_codec,
  file_envoy_extensions_filters_listener_tls_inspector_v3_tls_inspector,
  file_envoy_extensions_filters_network_tcp_proxy_v3_tcp_proxy,
  file_envoy_extensions_filters_udp_udp_proxy_v3_route,
  file_envoy_extensions_filters_udp_udp_proxy_v3_udp_proxy,
  file_envoy_extensions_http_injected_credentials_generic_v3_generic,
  file_envoy_extensions_transport_sockets_tls_v3_cert,
  file_envoy_extensions_transport_sockets_tls_v3_tls_spiffe_validator_config,
  file_envoy_extensions_upstreams_http_v3_http_protocol_options,
  file_envoy_service_discovery_v3_ads,
  file_envoy_type_matcher_v3_filter_state,
  file_envoy_type_matcher_v3_http_inputs,
  file_envoy_type_matcher_v3_node,
  file_envoy_type_matcher_v3_path,
  file_envoy_type_matcher_v3_status_code_input
]

const withImports = (files: ReadonlyArray<DescFile>): ReadonlyArray<DescFile> => {
  const byName = new Map<string, DescFile>()
  const visit = (file: DescFile): void => {
    if (byName.has(file.proto.name)) return
    byName.set(file.proto.name, file)
    file.dependencies.forEach(visit)
  }
  files.forEach(visit)
  return [...byName.values()].sort((a, b) => (a.proto.name < b.proto.name ? -1 : 1))
}

/** Every generated file and every well-known type they use, sorted by .proto path. */
export const files: ReadonlyArray<DescFile> = withImports(roots)

/** All of `files`' messages, enums, extensions and services: pass it as `{ registry }` to toJson/fromJson. */
export const registry: Registry = createRegistry(...files)

/** The type URL of a message type, as xDS and `google.protobuf.Any` spell it. */
export const typeUrlOf = <const T extends string>(typeName: T): `type.googleapis.com/${T}` =>
  `type.googleapis.com/${typeName}`

/** The type URLs of the xDS resource types Portico serves. */
export const TypeUrl = {
  Listener: typeUrlOf("envoy.config.listener.v3.Listener"),
  RouteConfiguration: typeUrlOf("envoy.config.route.v3.RouteConfiguration"),
  Cluster: typeUrlOf("envoy.config.cluster.v3.Cluster"),
  ClusterLoadAssignment: typeUrlOf("envoy.config.endpoint.v3.ClusterLoadAssignment"),
  Secret: typeUrlOf("envoy.extensions.transport_sockets.tls.v3.Secret")
} as const

export type TypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl]

/** Packs a message into a `google.protobuf.Any` (type URL `type.googleapis.com/<full name>`). */
export const pack = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Any =>
  anyPack(schema, message)

/**
 * Unpacks an `Any`: with a schema, to that type, or `undefined` when the `Any` holds another type;
 * without one, to whatever type the `registry` knows by that URL, or `undefined` when it knows none.
 * Throws when the bytes do not decode as the named type.
 */
export function unpack<Desc extends DescMessage>(any: Any, schema: Desc): MessageShape<Desc> | undefined
export function unpack(any: Any): Message | undefined
export function unpack(any: Any, schema?: DescMessage): Message | undefined {
  return schema === undefined ? anyUnpack(any, registry) : anyUnpack(any, schema)
}
