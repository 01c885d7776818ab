/**
 * GRPCRoute reconciler: like HTTPRoute, with gRPC service/method matches
 * (expressed as :path matches) and gRPC precedence. Pure.
 */
import type { GRPCRoute } from "../api/gatewayapi/GRPCRoute.ts"
import type { HttpRouteIR, RouteMatchIR } from "../ir/Xds.ts"
import { Reason } from "../status/Conditions.ts"
import { buildDestination, type RefFailure } from "./Destinations.ts"
import { type FilterInput, headerMutation, translateFilters } from "./HTTPFilters.ts"
import { assembleHttpRoute } from "./HttpRouteAssembly.ts"
import { re2Error } from "./Regex.ts"
import { type ParentIndex, resolveParents } from "./RouteParents.ts"
import type { RankKey, RouteResult } from "./RouteResult.ts"
import { namespaceOf, type ResourceSnapshot } from "./Snapshot.ts"

type Rule = NonNullable<GRPCRoute["spec"]["rules"]>[number]
type Match = NonNullable<Rule["matches"]>[number]

const GRPC_CONTENT_TYPE = { name: "content-type", type: "RegularExpression" as const, value: "^application/grpc.*" }

const escapeRe2 = (s: string): string => s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&")

/** A gRPC method match as an HTTP/2 :path match, with its rank. */
export const grpcMatch = (m: Match): { match: RouteMatchIR; rank: RankKey; error?: string } => {
  const method = m.method
  const type = method?.type ?? "Exact"
  const svc = method?.service
  const meth = method?.method
  let path: RouteMatchIR["path"]
  let error: string | undefined
  if (type === "Exact") {
    if (svc !== undefined && meth !== undefined) path = { type: "Exact", value: `/${svc}/${meth}` }
    else if (svc !== undefined) path = { type: "PathPrefix", value: `/${svc}/` }
    else if (meth !== undefined) path = { type: "RegularExpression", value: `/[^/]+/${escapeRe2(meth)}` }
    else path = { type: "PathPrefix", value: "/" }
  } else {
    for (const [what, re] of [
      ["service", svc],
      ["method", meth]
    ] as const) {
      if (re !== undefined && error === undefined) {
        const e = re2Error(re)
        if (e !== undefined) error = `${what} regular expression ${JSON.stringify(re)} is invalid: ${e}`
      }
    }
    path = { type: "RegularExpression", value: `/${svc ?? "[^/]+"}/${meth ?? "[^/]+"}` }
  }
  const headers = (m.headers ?? []).map((h) => ({ name: h.name, type: h.type ?? "Exact", value: h.value }))
  for (const h of headers) {
    if (h.type === "RegularExpression" && error === undefined) {
      const e = re2Error(h.value)
      if (e !== undefined) error = `regular expression ${JSON.stringify(h.value)} for header ${h.name} is invalid: ${e}`
    }
  }
  // gRPC rules match gRPC requests only, so they never capture an HTTPRoute's traffic on a shared host.
  const match: RouteMatchIR = {
    path,
    headers: [...headers, GRPC_CONTENT_TYPE],
    grpc: { type, ...(svc === undefined ? {} : { service: svc }), ...(meth === undefined ? {} : { method: meth }) }
  }
  return {
    match,
    rank: [-(svc?.length ?? 0), -(meth?.length ?? 0), -headers.length],
    ...(error === undefined ? {} : { error })
  }
}

export const reconcileGRPCRoute = (snapshot: ResourceSnapshot, index: ParentIndex, gr: GRPCRoute): RouteResult => {
  const namespace = namespaceOf(gr)
  const name = gr.metadata.name
  const gen = gr.metadata.generation
  const kind = "GRPCRoute"
  const route = { kind, namespace, name }
  const parents = resolveParents(
    snapshot,
    index,
    { kind, namespace, name, hostnames: gr.spec.hostnames ?? [] },
    gr.spec.parentRefs ?? []
  )
  const refFailures: Array<RefFailure> = []
  const dropped: Array<string> = []
  const rules: Array<{
    i: number
    ruleName?: string
    matches: ReadonlyArray<{ match: RouteMatchIR; rank: RankKey }>
    body: Omit<HttpRouteIR, "name" | "source" | "match">
  }> = []
  const specRules = gr.spec.rules ?? [{}]
  specRules.forEach((rule: Rule, i) => {
    const ms = (rule.matches === undefined || rule.matches.length === 0 ? [{}] : rule.matches).map((m: Match) =>
      grpcMatch(m)
    )
    const bad = ms.find((m) => m.error !== undefined)
    if (bad?.error !== undefined) {
      dropped.push(`rule ${i}: ${bad.error}`)
      return
    }
    const filters = translateFilters(snapshot, route, i, (rule.filters ?? []) as ReadonlyArray<FilterInput>)
    if (filters.unsupportedType !== undefined) {
      dropped.push(
        `rule ${i}: filter type ${filters.unsupportedType} is not supported (the rule is not served without it)`
      )
      return
    }
    refFailures.push(...filters.refFailures)
    const common = {
      ...(filters.requestHeaders === undefined ? {} : { requestHeaders: filters.requestHeaders }),
      ...(filters.responseHeaders === undefined ? {} : { responseHeaders: filters.responseHeaders }),
      ...(filters.mirrors === undefined ? {} : { mirrors: filters.mirrors }),
      ...(filters.extensionRefs === undefined ? {} : { extensionRefs: filters.extensionRefs })
    }
    let body: Omit<HttpRouteIR, "name" | "source" | "match">
    const backendRefs = rule.backendRefs ?? []
    if (filters.unsupported !== undefined) {
      refFailures.push(filters.unsupported)
      body = { ...common, directResponse: { status: 500 } }
    } else if (backendRefs.length === 0) {
      body = { ...common, directResponse: { status: 500 } }
    } else {
      const { destination, failures } = buildDestination(
        snapshot,
        route,
        `grpcroute/${namespace}/${name}/rule/${i}`,
        backendRefs,
        "GRPC",
        (b) => {
          const per = (backendRefs[b]?.filters ?? []) as ReadonlyArray<FilterInput>
          const requestHeaders = headerMutation(
            per.find((f) => f.type === "RequestHeaderModifier")?.requestHeaderModifier
          )
          const responseHeaders = headerMutation(
            per.find((f) => f.type === "ResponseHeaderModifier")?.responseHeaderModifier
          )
          return {
            ...(requestHeaders === undefined ? {} : { requestHeaders }),
            ...(responseHeaders === undefined ? {} : { responseHeaders })
          }
        }
      )
      refFailures.push(...failures)
      body = { ...common, destination }
    }
    rules.push({ i, ...(rule.name === undefined ? {} : { ruleName: rule.name }), matches: ms, body })
  })
  return assembleHttpRoute({
    kind,
    namespace,
    name,
    generation: gen,
    creationTimestamp: gr.metadata.creationTimestamp,
    parents,
    rules: rules.map((r) => ({
      index: r.i,
      ...(r.ruleName === undefined ? {} : { ruleName: r.ruleName }),
      matches: r.matches,
      body: r.body
    })),
    dropped,
    droppedReason: Reason.UnsupportedValue,
    refFailures
  })
}
