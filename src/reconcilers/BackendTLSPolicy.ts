/**
 * BackendTLSPolicy: which Services it targets, whether its CA references
 * resolve, conflicts between policies on the same target, and its status per
 * ancestor Gateway (the Gateways whose routes use a targeted Service). Pure.
 */
import type { BackendTLSPolicy } from "../api/gatewayapi/BackendTLSPolicy.ts"
import type { UpstreamTlsIR } from "../ir/Xds.ts"
import { type Condition, ConditionType, makeCondition, Reason } from "../status/Conditions.ts"
import { validateCaConfigMap } from "./Certificates.ts"
import { GATEWAY_GROUP } from "./Listeners.ts"
import { normalizeGroup } from "./ReferenceGrants.ts"
import type { RouteResult } from "./RouteResult.ts"
import { key, namespaceOf, type ResourceSnapshot } from "./Snapshot.ts"

export interface PolicyStatus {
  readonly namespace: string
  readonly name: string
  readonly status: { readonly ancestors: ReadonlyArray<unknown> }
}

interface RefsWithBackends {
  readonly spec: { readonly rules?: ReadonlyArray<{ readonly backendRefs?: ReadonlyArray<BackendLike> }> }
}
interface BackendLike {
  readonly group?: string
  readonly kind?: string
  readonly name: string
  readonly namespace?: string
}

const routeObject = (snapshot: ResourceSnapshot, r: RouteResult): RefsWithBackends | undefined => {
  const list =
    r.kind === "HTTPRoute"
      ? snapshot.httpRoutes
      : r.kind === "GRPCRoute"
        ? snapshot.grpcRoutes
        : r.kind === "TLSRoute"
          ? snapshot.tlsRoutes
          : r.kind === "TCPRoute"
            ? snapshot.tcpRoutes
            : snapshot.udpRoutes
  return (list as ReadonlyArray<RefsWithBackends & { metadata: { name: string; namespace?: string } }>).find(
    (o) => o.metadata.name === r.name && (o.metadata.namespace ?? "default") === r.namespace
  )
}

/** Gateways (namespace/name) whose accepted routes send traffic to each Service (namespace/name). */
const gatewaysByService = (
  snapshot: ResourceSnapshot,
  routes: ReadonlyArray<RouteResult>
): Map<string, Set<string>> => {
  const out = new Map<string, Set<string>>()
  for (const r of routes) {
    const gws = r.parents
      .filter(
        (p) => p.parentRef.kind === "Gateway" && p.conditions.some((c) => c.type === "Accepted" && c.status === "True")
      )
      .map((p) => key(p.parentRef.namespace ?? r.namespace, p.parentRef.name))
    if (gws.length === 0) continue
    const obj = routeObject(snapshot, r)
    for (const rule of obj?.spec.rules ?? []) {
      for (const b of rule.backendRefs ?? []) {
        if (normalizeGroup(b.group) !== "" || (b.kind ?? "Service") !== "Service") continue
        const svc = key(b.namespace ?? r.namespace, b.name)
        let set = out.get(svc)
        if (set === undefined) {
          set = new Set()
          out.set(svc, set)
        }
        for (const g of gws) set.add(g)
      }
    }
  }
  return out
}

const olderFirst = (a: BackendTLSPolicy, b: BackendTLSPolicy): number => {
  const ta = a.metadata.creationTimestamp ?? ""
  const tb = b.metadata.creationTimestamp ?? ""
  if (ta !== tb) return ta < tb ? -1 : 1
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0
}

/** The policy that applies to each `namespace/service/section` target (the oldest; "" = the whole Service). */
const winnersOf = (snapshot: ResourceSnapshot): ReadonlyMap<string, BackendTLSPolicy> => {
  const winners = new Map<string, BackendTLSPolicy>()
  for (const p of [...snapshot.backendTLSPolicies].sort(olderFirst)) {
    for (const t of p.spec.targetRefs) {
      if (normalizeGroup(t.group) !== "" || t.kind !== "Service") continue
      const k = `${namespaceOf(p)}/${t.name}/${t.sectionName ?? ""}`
      if (!winners.has(k)) winners.set(k, p)
    }
  }
  return winners
}

const upstreamMemo = new WeakMap<ResourceSnapshot, Map<string, UpstreamTlsResult | null>>()

/**
 * The upstream TLS settings for a Service port: from the valid, winning
 * BackendTLSPolicy naming that port (sectionName = port name), else the one
 * naming the whole Service. undefined when no valid policy applies.
 */
export type UpstreamTlsResult = { readonly tls: UpstreamTlsIR } | { readonly invalid: string }

export const upstreamTlsFor = (
  snapshot: ResourceSnapshot,
  namespace: string,
  service: string,
  portName: string | undefined
): UpstreamTlsResult | undefined => {
  if (snapshot.backendTLSPolicies.length === 0) return undefined
  let memo = upstreamMemo.get(snapshot)
  if (memo === undefined) {
    memo = new Map()
    upstreamMemo.set(snapshot, memo)
  }
  const k = `${namespace}/${service}/${portName ?? ""}`
  const cached = memo.get(k)
  if (cached !== undefined) return cached ?? undefined
  const winners = winnersOf(snapshot)
  const policy =
    (portName === undefined ? undefined : winners.get(`${namespace}/${service}/${portName}`)) ??
    winners.get(`${namespace}/${service}/`)
  const tls = policy === undefined ? undefined : upstreamTls(snapshot, policy)
  memo.set(k, tls ?? null)
  return tls
}

/**
 * A policy whose CA references do not resolve still applies: connections to
 * its backends must fail (5xx), never fall back to plaintext or no validation.
 */
const upstreamTls = (snapshot: ResourceSnapshot, p: BackendTLSPolicy): UpstreamTlsResult => {
  const ns = namespaceOf(p)
  const v = p.spec.validation
  const pems: Array<string> = []
  const invalid = (why: string) => ({
    invalid: `BackendTLSPolicy ${ns}/${p.metadata.name} has no valid CA certificate (${why}); connections to this backend fail`
  })
  for (const ref of v.caCertificateRefs ?? []) {
    if (normalizeGroup(ref.group) !== "" || ref.kind !== "ConfigMap") return invalid(`unsupported kind ${ref.kind}`)
    const cm = snapshot.configMaps.get(key(ns, ref.name))
    if (cm === undefined) return invalid(`ConfigMap ${ns}/${ref.name} does not exist`)
    const checked = validateCaConfigMap(cm)
    if (!checked.ok) return invalid(checked.message)
    pems.push(checked.pem.trim())
  }
  const sans = (v.subjectAltNames ?? []).map((s) => ({
    type: s.type,
    value: s.type === "Hostname" ? (s.hostname ?? "") : (s.uri ?? "")
  }))
  return {
    tls: {
      policy: `${ns}/${p.metadata.name}`,
      sni: v.hostname,
      ...(pems.length === 0
        ? {}
        : { caBundle: { name: `backendtls/${ns}/${p.metadata.name}/ca`, caCertificates: `${pems.join("\n")}\n` } }),
      ...(v.wellKnownCACertificates === "System" ? { wellKnownCACertificates: "System" as const } : {}),
      ...(sans.length === 0 ? {} : { subjectAltNames: sans })
    }
  }
}

export const reconcileBackendTLSPolicies = (
  snapshot: ResourceSnapshot,
  routes: ReadonlyArray<RouteResult>,
  controllerName: string
): ReadonlyArray<PolicyStatus> => {
  if (snapshot.backendTLSPolicies.length === 0) return []
  const users = gatewaysByService(snapshot, routes)
  const winners = winnersOf(snapshot)
  const out: Array<PolicyStatus> = []
  for (const p of snapshot.backendTLSPolicies) {
    const ns = namespaceOf(p)
    const gen = p.metadata.generation
    const conflicted = p.spec.targetRefs.every((t) => winners.get(`${ns}/${t.name}/${t.sectionName ?? ""}`) !== p)
    const ancestors = new Set<string>()
    for (const t of p.spec.targetRefs) {
      if (normalizeGroup(t.group) !== "" || t.kind !== "Service") continue
      for (const g of users.get(key(ns, t.name)) ?? []) ancestors.add(g)
    }
    const conditions = policyConditions(snapshot, p, conflicted, gen)
    const entries = [...ancestors].sort().map((g) => {
      const [gns, gname] = g.split("/") as [string, string]
      return {
        ancestorRef: { group: GATEWAY_GROUP, kind: "Gateway", namespace: gns, name: gname },
        controllerName,
        conditions
      }
    })
    if (entries.length > 0) out.push({ namespace: ns, name: p.metadata.name, status: { ancestors: entries } })
  }
  return out
}

const policyConditions = (
  snapshot: ResourceSnapshot,
  p: BackendTLSPolicy,
  conflicted: boolean,
  gen: number
): ReadonlyArray<Condition> => {
  const ns = namespaceOf(p)
  let refsFailure: { reason: string; message: string } | undefined
  for (const ref of p.spec.validation.caCertificateRefs ?? []) {
    if (normalizeGroup(ref.group) !== "" || ref.kind !== "ConfigMap") {
      refsFailure = {
        reason: Reason.InvalidKind,
        message: `caCertificateRef ${ref.group === "" ? "" : `${ref.group}/`}${ref.kind} ${ref.name} is not supported; use a ConfigMap`
      }
      break
    }
    const cm = snapshot.configMaps.get(key(ns, ref.name))
    if (cm === undefined) {
      refsFailure = { reason: Reason.InvalidCACertificateRef, message: `ConfigMap ${ns}/${ref.name} does not exist` }
      break
    }
    const v = validateCaConfigMap(cm)
    if (!v.ok) {
      refsFailure = { reason: Reason.InvalidCACertificateRef, message: v.message }
      break
    }
  }
  const accepted: Condition = conflicted
    ? makeCondition(
        ConditionType.Accepted,
        "False",
        Reason.Conflicted,
        "an older BackendTLSPolicy targets the same Service and section",
        gen
      )
    : refsFailure !== undefined
      ? makeCondition(ConditionType.Accepted, "False", Reason.NoValidCACertificate, refsFailure.message, gen)
      : makeCondition(ConditionType.Accepted, "True", Reason.Accepted, "Policy is accepted", gen)
  const resolved =
    refsFailure === undefined
      ? makeCondition(ConditionType.ResolvedRefs, "True", Reason.ResolvedRefs, "All references are resolved", gen)
      : makeCondition(ConditionType.ResolvedRefs, "False", refsFailure.reason, refsFailure.message, gen)
  return [accepted, resolved]
}
