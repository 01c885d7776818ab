/**
 * HTTPRoute vs GRPCRoute on one listener: when both are attached and their
 * hostnames intersect, exactly one is accepted there — the older route (then
 * the first by namespace/name) — and the other is rejected on that listener
 * (GRPCRoute spec.hostnames). Pure.
 */
import { ConditionType, makeCondition } from "../status/Conditions.ts"
import { ANY_HOST, hostnameMatches } from "./Hostnames.ts"
import type { RouteResult } from "./RouteResult.ts"

export const HOSTNAME_CONFLICT = "HostnameConflict"

const intersects = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.some((x) => b.some((y) => x === ANY_HOST || y === ANY_HOST || hostnameMatches(x, y) || hostnameMatches(y, x)))

const olderThan = (a: RouteResult, b: RouteResult): boolean => {
  for (let i = 0; i < Math.max(a.age.length, b.age.length); i++) {
    const x = a.age[i] ?? ""
    const y = b.age[i] ?? ""
    if (x !== y) return x < y
  }
  return false
}

export const resolveKindConflicts = (routes: ReadonlyArray<RouteResult>): ReadonlyArray<RouteResult> => {
  const byListener = new Map<string, Array<{ route: RouteResult; hostnames: ReadonlyArray<string> }>>()
  for (const r of routes) {
    if (r.kind !== "HTTPRoute" && r.kind !== "GRPCRoute") continue
    for (const attachments of r.parentAttachments) {
      for (const a of attachments) {
        const arr = byListener.get(a.listenerId)
        if (arr === undefined) byListener.set(a.listenerId, [{ route: r, hostnames: a.hostnames }])
        else arr.push({ route: r, hostnames: a.hostnames })
      }
    }
  }
  /** route -> listener id -> the route that won there */
  const lost = new Map<RouteResult, Map<string, RouteResult>>()
  for (const [listenerId, entries] of byListener) {
    const http = entries.filter((e) => e.route.kind === "HTTPRoute")
    const grpc = entries.filter((e) => e.route.kind === "GRPCRoute")
    if (http.length === 0 || grpc.length === 0) continue
    for (const h of http) {
      for (const g of grpc) {
        if (!intersects(h.hostnames, g.hostnames)) continue
        const [winner, loser] = olderThan(g.route, h.route) ? [g.route, h.route] : [h.route, g.route]
        let m = lost.get(loser)
        if (m === undefined) {
          m = new Map()
          lost.set(loser, m)
        }
        if (!m.has(listenerId)) m.set(listenerId, winner)
      }
    }
  }
  if (lost.size === 0) return routes
  return routes.map((r) => {
    const m = lost.get(r)
    if (m === undefined) return r
    const parents = r.parents.map((p, i) => {
      const attachments = r.parentAttachments[i] ?? []
      if (attachments.length === 0 || !attachments.every((a) => m.has(a.listenerId))) return p
      const winner = m.get(attachments[0]!.listenerId)!
      const gen = p.conditions[0]?.observedGeneration ?? 1
      const message = `${winner.kind} ${winner.namespace}/${winner.name} is older and serves intersecting hostnames on the same listener; HTTPRoutes and GRPCRoutes are never merged`
      return {
        ...p,
        conditions: p.conditions.map((c) =>
          c.type === ConditionType.Accepted
            ? makeCondition(ConditionType.Accepted, "False", HOSTNAME_CONFLICT, message, gen)
            : c
        )
      }
    })
    return {
      ...r,
      parents,
      parentAttachments: r.parentAttachments.map((as) => as.filter((a) => !m.has(a.listenerId))),
      attachedListeners: r.attachedListeners.filter((id) => !m.has(id)),
      http: r.http.filter((e) => !m.has(e.listenerId))
    }
  })
}
