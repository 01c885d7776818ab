/**
 * The forwarding action of an HTTP route: clusters and weights, URL rewrites, mirrors, timeouts,
 * retries and WebSocket upgrades. Pure.
 *
 * Invalid backends: a destination whose backends are all invalid (or all weight 0) answers 500
 * (`direct_response`); with some valid ones, the invalid share is routed to
 * INVALID_BACKEND_CLUSTER, never defined, and `cluster_not_found_response_code:
 * INTERNAL_SERVER_ERROR` makes Envoy answer exactly that share with 500 (see Destination.ts).
 * RDS route configurations are not cluster-validated by default (`validate_clusters` false), and
 * Route.ts says so explicitly.
 *
 * Timeouts (Gateway API rule `timeouts`; `0s` disables): `request` is the route `timeout` (all
 * attempts included). `backendRequest` bounds each attempt: it is the retry policy's
 * `per_try_timeout` when the rule retries; without retries there is one attempt, so the route
 * timeout is the smaller of the two.
 *
 * GRPCRoute rules have no timeouts in Gateway API, and Envoy's default route timeout (15 s from
 * the end of the request) would cut every longer server-streaming or bidirectional call. gRPC
 * carries its own deadline: a gRPC route disables the route timeout and bounds the stream by the
 * client's `grpc-timeout` header instead (`max_stream_duration.grpc_timeout_header_max: 0s`, i.e.
 * the header's value without a cap), which is also how gRPC's own xDS clients read it (A31).
 *
 * Retries (Gateway API rule `retry`): connection failures, refused streams and resets are always
 * retried (Gateway API: implementations retry connection errors when a retry stanza is
 * configured), plus the listed status codes; `attempts` is `num_retries`; `backoff` the base
 * interval (Envoy backs off exponentially from it, capped at 10x).
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { HttpRouteIR, MirrorIR } from "../../ir/Xds.ts"
import {
  RouteAction_ClusterNotFoundResponseCode,
  type RouteActionSchema,
  type RouteSchema
} from "../proto/envoy/config/route/v3/route_components_pb.ts"
import { FractionalPercent_DenominatorType } from "../proto/envoy/type/v3/percent_pb.ts"
import { INVALID_BACKEND_CLUSTER, planDestination, type TrafficShare } from "./Destination.ts"
import { durationOfMs, parseDurationMs } from "./Duration.ts"
import {
  headerFields,
  type RequestHeaderOperations,
  requestHeaderOperations,
  responseHeaderOperations
} from "./HeaderMutation.ts"
import { fullPathRewrite, type PathRewrite, prefixRewrite } from "./PathRewrite.ts"

type RouteActionInit = MessageInitShape<typeof RouteActionSchema>
type ActionInit = NonNullable<MessageInitShape<typeof RouteSchema>["action"]>

/** The status of a route whose backends are all invalid (Gateway API: 500). */
export const INVALID_BACKENDS_STATUS = 500

/** A backend's own header modifiers (backendRef filters), as fields of its weighted cluster. */
const backendHeaderFields = (share: TrafficShare) => {
  const request = requestHeaderOperations(share.setting?.requestHeaders)
  return {
    ...headerFields(request, responseHeaderOperations(share.setting?.responseHeaders)),
    ...(request.hostRewrite === undefined
      ? {}
      : { hostRewriteSpecifier: { case: "hostRewriteLiteral" as const, value: request.hostRewrite } })
  }
}

/** One cluster, or weighted clusters when several shares or a backend's own header modifiers. */
const clusterSpecifier = (shares: ReadonlyArray<TrafficShare>): NonNullable<RouteActionInit["clusterSpecifier"]> => {
  const only = shares[0]
  if (shares.length === 1 && only !== undefined && Object.keys(backendHeaderFields(only)).length === 0) {
    return { case: "cluster", value: only.cluster }
  }
  return {
    case: "weightedClusters",
    value: {
      clusters: shares.map((share) => ({ name: share.cluster, weight: share.weight, ...backendHeaderFields(share) }))
    }
  }
}

const rewriteFields = (rewrite: PathRewrite | undefined) =>
  rewrite === undefined
    ? {}
    : rewrite.kind === "prefix"
      ? { prefixRewrite: rewrite.value }
      : { regexRewrite: { pattern: { regex: rewrite.pattern }, substitution: rewrite.substitution } }

const urlRewriteFields = (route: HttpRouteIR, request: RequestHeaderOperations) => {
  const path = route.urlRewrite?.path
  const rewrite =
    path === undefined
      ? undefined
      : path.type === "ReplaceFullPath"
        ? fullPathRewrite(path.value)
        : prefixRewrite(route.match, path.value)
  const host = route.urlRewrite?.hostname ?? request.hostRewrite
  return {
    ...rewriteFields(rewrite),
    ...(host === undefined ? {} : { hostRewriteSpecifier: { case: "hostRewriteLiteral" as const, value: host } })
  }
}

/** A percentage (0-100, fractions allowed) as a FractionalPercent, exact to 1/10000 of a percent. */
export const fractionalPercent = (percent: number) =>
  Number.isInteger(percent)
    ? { numerator: percent, denominator: FractionalPercent_DenominatorType.HUNDRED }
    : { numerator: Math.round(percent * 10_000), denominator: FractionalPercent_DenominatorType.MILLION }

const mirrorPolicy = (mirror: MirrorIR) => {
  // A mirror has one backend: its cluster, whatever its weight; an invalid one mirrors nothing.
  const cluster = planDestination(mirror.destination).clusters[0]
  if (cluster === undefined) return []
  const percent = mirror.percent
  return [
    {
      cluster: cluster.name,
      ...(percent === undefined || percent >= 100
        ? {}
        : { runtimeFraction: { defaultValue: fractionalPercent(percent) } })
    }
  ]
}

/** `0s` (disabled) counts as no limit. */
const limitMs = (value: string | undefined): number | undefined => {
  const ms = value === undefined ? undefined : parseDurationMs(value)
  return ms === undefined ? undefined : ms === 0 ? Number.POSITIVE_INFINITY : ms
}

/** A gRPC route's deadline comes from the client (see the module comment). */
const GRPC_DEADLINE = { timeout: durationOfMs(0), maxStreamDuration: { grpcTimeoutHeaderMax: durationOfMs(0) } }

const timeoutAndRetryFields = (route: HttpRouteIR) => {
  if (route.source.kind === "GRPCRoute" && route.timeouts === undefined && route.retry === undefined)
    return GRPC_DEADLINE
  const request = limitMs(route.timeouts?.request)
  const backend = limitMs(route.timeouts?.backendRequest)
  const retry = route.retry
  const asDuration = (ms: number) => durationOfMs(ms === Number.POSITIVE_INFINITY ? 0 : ms)
  if (retry === undefined) {
    const limits = [request, backend].filter((ms): ms is number => ms !== undefined)
    return limits.length === 0 ? {} : { timeout: asDuration(Math.min(...limits)) }
  }
  const codes = retry.codes ?? []
  const backoffMs = retry.backoff === undefined ? undefined : parseDurationMs(retry.backoff)
  return {
    ...(request === undefined ? {} : { timeout: asDuration(request) }),
    retryPolicy: {
      retryOn: [
        "connect-failure",
        "refused-stream",
        "reset",
        ...(codes.length > 0 ? ["retriable-status-codes"] : [])
      ].join(","),
      ...(retry.attempts === undefined ? {} : { numRetries: retry.attempts }),
      ...(codes.length > 0 ? { retriableStatusCodes: [...codes] } : {}),
      ...(backend === undefined || backend === Number.POSITIVE_INFINITY
        ? {}
        : { perTryTimeout: durationOfMs(backend) }),
      ...(backoffMs === undefined || backoffMs === 0 ? {} : { retryBackOff: { baseInterval: durationOfMs(backoffMs) } })
    }
  }
}

/** The action of a route that forwards (`route.destination` set). */
export const forwardAction = (route: HttpRouteIR): ActionInit => {
  const plan = planDestination(route.destination ?? { name: "", settings: [] })
  if (!plan.shares.some((share) => share.cluster !== INVALID_BACKEND_CLUSTER)) {
    return { case: "directResponse", value: { status: INVALID_BACKENDS_STATUS } }
  }
  const mirrors = (route.mirrors ?? []).flatMap(mirrorPolicy)
  return {
    case: "route",
    value: {
      clusterSpecifier: clusterSpecifier(plan.shares),
      ...(plan.invalidWeight > 0
        ? { clusterNotFoundResponseCode: RouteAction_ClusterNotFoundResponseCode.INTERNAL_SERVER_ERROR }
        : {}),
      ...urlRewriteFields(route, requestHeaderOperations(route.requestHeaders)),
      ...timeoutAndRetryFields(route),
      ...(mirrors.length > 0 ? { requestMirrorPolicies: mirrors } : {}),
      ...(route.websocket === true ? { upgradeConfigs: [{ upgradeType: "websocket", enabled: true }] } : {})
    }
  }
}
