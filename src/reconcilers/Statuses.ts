/**
 * Status objects as written to the API (and printed by `portico translate`):
 * Gateway, ListenerSet and route status from the reconcilers' results. Pure.
 */
import type { Condition } from "../status/Conditions.ts"
import type { GatewayContext, ListenerSetContext } from "./Gateway.ts"
import type { ListenerContext } from "./Listeners.ts"
import type { RouteResult } from "./RouteResult.ts"

const listenerStatus = (l: ListenerContext, attached: ReadonlyMap<string, number>) => ({
  name: l.name,
  supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
  attachedRoutes: attached.get(l.id) ?? 0,
  conditions: l.conditions
})

export const gatewayStatus = (g: GatewayContext, attached: ReadonlyMap<string, number>) => {
  const attachedSets = g.listenerSets.filter((s) => s.accepted).length
  return {
    ...(g.addresses.length === 0 ? {} : { addresses: g.addresses.map((a) => ({ type: a.type, value: a.value })) }),
    conditions: g.conditions,
    listeners: g.listeners.filter((l) => l.parent.kind === "Gateway").map((l) => listenerStatus(l, attached)),
    ...(g.gateway.spec.allowedListeners === undefined && g.listenerSets.length === 0
      ? {}
      : { attachedListenerSets: attachedSets })
  }
}

export const listenerSetStatus = (ls: ListenerSetContext, attached: ReadonlyMap<string, number>) => ({
  conditions: ls.conditions,
  listeners: ls.listeners.map((l) => listenerStatus(l, attached))
})

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Route status: our entry per parentRef, after the entries other controllers own (kept untouched). */
export const routeStatus = (r: RouteResult, controllerName: string, previous: unknown) => {
  const others =
    isRecord(previous) && Array.isArray(previous.parents)
      ? previous.parents.filter((p) => isRecord(p) && p.controllerName !== controllerName)
      : []
  const ours: Array<{ parentRef: unknown; controllerName: string; conditions: ReadonlyArray<Condition> }> =
    r.parents.map((p) => ({ parentRef: p.parentRef, controllerName, conditions: p.conditions }))
  // Nothing of ours, now or before: the status is not ours to write.
  const before = isRecord(previous) && Array.isArray(previous.parents) ? previous.parents.length : 0
  if (ours.length === 0 && others.length === before) return previous
  return { ...(isRecord(previous) ? previous : {}), parents: [...others, ...ours] }
}
