/**
 * HTTPRoute reconciler: attachment and status per parentRef, rule validation,
 * backends, filters, and one IR route per (listener, hostname, rule, match)
 * ranked by the spec's precedence. Pure.
 */
import type { HTTPRoute } from "../api/gatewayapi/HTTPRoute.ts"
import type { HttpRouteIR, RouteMatchIR } from "../ir/Xds.ts"
import { Reason } from "../status/Conditions.ts"
import { buildDestination, type RefFailure } from "./Destinations.ts"
import { type FilterInput, headerMutation, translateFilters } from "./HTTPFilters.ts"
import { assembleHttpRoute } from "./HttpRouteAssembly.ts"
import { re2Error } from "./Regex.ts"
import { type ParentIndex, resolveParents } from "./RouteParents.ts"
import type { RankKey, RouteResult } from "./RouteResult.ts"
import { namespaceOf, type ResourceSnapshot } from "./Snapshot.ts"

interface RuleOutcome {
  /** The IR routes of this rule, one per match, without name/hostname (added per vhost). */
  readonly matches: ReadonlyArray<{ readonly match: RouteMatchIR; readonly rank: RankKey; readonly index: number }>
  readonly body: Omit<HttpRouteIR, "name" | "source" | "match">
  readonly ruleName?: string
}

const matchRank = (m: RouteMatchIR): RankKey => {
  const p = m.path
  const pathClass = p === undefined ? 2 : p.type === "Exact" ? 0 : p.type === "RegularExpression" ? 1 : 2
  return [
    pathClass,
    -(p?.value.length ?? 1),
    m.method === undefined ? 1 : 0,
    -(m.headers?.length ?? 0),
    -(m.queryParams?.length ?? 0)
  ]
}

/** Validates the regular expressions of a match; returns the first error. */
const matchError = (m: RouteMatchIR): string | undefined => {
  if (m.path?.type === "RegularExpression") {
    const e = re2Error(m.path.value)
    if (e !== undefined) return `path regular expression ${JSON.stringify(m.path.value)} is invalid: ${e}`
  }
  for (const h of [...(m.headers ?? []), ...(m.queryParams ?? [])]) {
    if (h.type === "RegularExpression") {
      const e = re2Error(h.value)
      if (e !== undefined) return `regular expression ${JSON.stringify(h.value)} for ${h.name} is invalid: ${e}`
    }
  }
  return undefined
}

type Rule = HTTPRoute["spec"]["rules"][number]

const toMatch = (m: Rule["matches"][number]): RouteMatchIR => {
  const path = m.path ?? { type: "PathPrefix" as const, value: "/" }
  return {
    path: { type: path.type ?? "PathPrefix", value: path.value ?? "/" },
    ...(m.headers === undefined || m.headers.length === 0
      ? {}
      : { headers: m.headers.map((h) => ({ name: h.name, type: h.type ?? "Exact", value: h.value })) }),
    ...(m.queryParams === undefined || m.queryParams.length === 0
      ? {}
      : { queryParams: m.queryParams.map((q) => ({ name: q.name, type: q.type ?? "Exact", value: q.value })) }),
    ...(m.method === undefined ? {} : { method: m.method })
  }
}

const translateRule = (
  snapshot: ResourceSnapshot,
  route: { kind: string; namespace: string; name: string },
  rule: Rule,
  i: number,
  refFailures: Array<RefFailure>
): RuleOutcome | { readonly dropped: string; readonly reason: string } => {
  const matches = (
    rule.matches.length === 0 ? [{ path: { type: "PathPrefix" as const, value: "/" } }] : rule.matches
  ).map(toMatch)
  for (const m of matches) {
    const e = matchError(m)
    if (e !== undefined) return { dropped: e, reason: Reason.UnsupportedValue }
  }
  const filters = translateFilters(snapshot, route, i, (rule.filters ?? []) as ReadonlyArray<FilterInput>)
  if (filters.incompatible !== undefined) return { dropped: filters.incompatible, reason: Reason.IncompatibleFilters }
  if (filters.unsupportedType !== undefined) {
    return {
      dropped: `filter type ${filters.unsupportedType} is not supported (the rule is not served without it)`,
      reason: Reason.UnsupportedValue
    }
  }
  refFailures.push(...filters.refFailures)
  const backendRefs = rule.backendRefs ?? []
  let body: Omit<HttpRouteIR, "name" | "source" | "match">
  const common = {
    ...(filters.requestHeaders === undefined ? {} : { requestHeaders: filters.requestHeaders }),
    ...(filters.responseHeaders === undefined ? {} : { responseHeaders: filters.responseHeaders }),
    ...(filters.mirrors === undefined ? {} : { mirrors: filters.mirrors }),
    ...(filters.cors === undefined ? {} : { cors: filters.cors }),
    ...(filters.extensionRefs === undefined ? {} : { extensionRefs: filters.extensionRefs }),
    ...(rule.timeouts === undefined ? {} : { timeouts: { ...rule.timeouts } }),
    ...(rule.retry === undefined ? {} : { retry: { ...rule.retry } }),
    ...(rule.sessionPersistence === undefined ? {} : { sessionPersistence: rule.sessionPersistence })
  }
  if (filters.unsupported !== undefined) {
    refFailures.push(filters.unsupported)
    body = { ...common, directResponse: { status: 500 } }
  } else if (filters.redirect !== undefined) {
    body = { ...common, redirect: filters.redirect }
  } else if (backendRefs.length === 0) {
    body = { ...common, directResponse: { status: 500 } }
  } else {
    const { destination, failures } = buildDestination(
      snapshot,
      route,
      `httproute/${route.namespace}/${route.name}/rule/${i}`,
      backendRefs,
      "HTTP",
      (b) => {
        const perFilters = (backendRefs[b]?.filters ?? []) as ReadonlyArray<FilterInput>
        const req = perFilters.find((f) => f.type === "RequestHeaderModifier")?.requestHeaderModifier
        const res = perFilters.find((f) => f.type === "ResponseHeaderModifier")?.responseHeaderModifier
        const requestHeaders = headerMutation(req)
        const responseHeaders = headerMutation(res)
        return {
          ...(requestHeaders === undefined ? {} : { requestHeaders }),
          ...(responseHeaders === undefined ? {} : { responseHeaders })
        }
      }
    )
    refFailures.push(...failures)
    const websocket = destination.settings.some((s) => s.appProtocol === "kubernetes.io/ws")
    body = {
      ...common,
      destination,
      ...(filters.urlRewrite === undefined ? {} : { urlRewrite: filters.urlRewrite }),
      ...(websocket ? { websocket: true } : {})
    }
  }
  return {
    matches: matches.map((match, index) => ({ match, rank: matchRank(match), index })),
    body,
    ...(rule.name === undefined ? {} : { ruleName: rule.name })
  }
}

export const reconcileHTTPRoute = (snapshot: ResourceSnapshot, index: ParentIndex, hr: HTTPRoute): RouteResult => {
  const namespace = namespaceOf(hr)
  const name = hr.metadata.name
  const gen = hr.metadata.generation
  const kind = "HTTPRoute"
  const hostnames = hr.spec.hostnames ?? []
  const parents = resolveParents(snapshot, index, { kind, namespace, name, hostnames }, hr.spec.parentRefs ?? [])
  const refFailures: Array<RefFailure> = []
  const dropped: Array<string> = []
  let droppedReason: string = Reason.UnsupportedValue
  const rules: Array<{ i: number; outcome: RuleOutcome }> = []
  hr.spec.rules.forEach((rule, i) => {
    const outcome = translateRule(snapshot, { kind, namespace, name }, rule, i, refFailures)
    if ("dropped" in outcome) {
      if (dropped.length === 0) droppedReason = outcome.reason
      dropped.push(`rule ${i}: ${outcome.dropped}`)
    } else rules.push({ i, outcome })
  })
  return assembleHttpRoute({
    kind,
    namespace,
    name,
    generation: gen,
    creationTimestamp: hr.metadata.creationTimestamp,
    parents,
    rules: rules.map(({ i, outcome }) => ({
      index: i,
      ...(outcome.ruleName === undefined ? {} : { ruleName: outcome.ruleName }),
      matches: outcome.matches,
      body: outcome.body
    })),
    dropped,
    droppedReason,
    refFailures
  })
}
