/**
 * The HTTP connection manager of an HTTP listener or HTTPS filter chain: routes over RDS (ADS),
 * the HTTP filter chain (filters/), the access log, and the defaults of Envoy's "edge proxy" best
 * practices that Envoy Gateway applies too: the client address from the connection
 * (`use_remote_address`), normalized paths with merged slashes, escaped slashes unescaped and
 * redirected, headers with underscores rejected, bounded HTTP/2 streams and windows. Pure.
 *
 * WebSocket: upgrades are off by default and turned on per route (RouteAction.ts) for routes whose
 * IR says `websocket`; Envoy honours a route's upgrade config only for upgrade types the
 * connection manager lists, so it lists `websocket` (disabled) when some route needs it.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { RouteConfigIR } from "../../ir/Xds.ts"
import { HttpProtocolOptions_HeadersWithUnderscoresAction } from "../proto/envoy/config/core/v3/protocol_pb.ts"
import type { FilterSchema } from "../proto/envoy/config/listener/v3/listener_components_pb.ts"
import {
  HttpConnectionManager_PathWithEscapedSlashesAction,
  HttpConnectionManagerSchema
} from "../proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import { httpAccessLog } from "./AccessLog.ts"
import { adsConfigSource } from "./Ads.ts"
import { typedExtension } from "./Extension.ts"
import { httpFilterChain } from "./filters/HttpFilters.ts"

export const HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager"

/** Envoy's edge-proxy recommendations for downstream HTTP/2. */
const HTTP2_MAX_CONCURRENT_STREAMS = 100
const HTTP2_INITIAL_STREAM_WINDOW = 65_536
const HTTP2_INITIAL_CONNECTION_WINDOW = 1_048_576

const usesWebSocket = (routeConfig: RouteConfigIR): boolean =>
  routeConfig.virtualHosts.some((vh) => vh.routes.some((route) => route.websocket === true))

export const httpConnectionManager = (
  statPrefix: string,
  routeConfig: RouteConfigIR
): MessageInitShape<typeof FilterSchema> =>
  typedExtension(HTTP_CONNECTION_MANAGER, HttpConnectionManagerSchema, {
    statPrefix,
    routeSpecifier: {
      case: "rds",
      value: { configSource: adsConfigSource(), routeConfigName: routeConfig.name }
    },
    httpFilters: httpFilterChain(routeConfig),
    accessLog: [httpAccessLog()],
    useRemoteAddress: true,
    normalizePath: true,
    mergeSlashes: true,
    pathWithEscapedSlashesAction: HttpConnectionManager_PathWithEscapedSlashesAction.UNESCAPE_AND_REDIRECT,
    commonHttpProtocolOptions: {
      headersWithUnderscoresAction: HttpProtocolOptions_HeadersWithUnderscoresAction.REJECT_REQUEST
    },
    http2ProtocolOptions: {
      maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS,
      initialStreamWindowSize: HTTP2_INITIAL_STREAM_WINDOW,
      initialConnectionWindowSize: HTTP2_INITIAL_CONNECTION_WINDOW
    },
    ...(usesWebSocket(routeConfig) ? { upgradeConfigs: [{ upgradeType: "websocket", enabled: false }] } : {})
  })
