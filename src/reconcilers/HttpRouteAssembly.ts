/**
 * The part HTTPRoute and GRPCRoute share once their rules are compiled: the
 * status entry per parent (Accepted, ResolvedRefs, PartiallyInvalid), the
 * listeners they attach to, and one IR route per (listener, hostname, rule,
 * match) with its precedence rank. Pure.
 */
import type { HttpRouteIR, RouteMatchIR } from "../ir/Xds.ts"
import { type Condition, ConditionType, makeCondition } from "../status/Conditions.ts"
import type { RefFailure } from "./Destinations.ts"
import { hostKey } from "./Hostnames.ts"
import { acceptedCondition, type ParentResult } from "./RouteParents.ts"
import { ageRank, type HttpEntry, type RankKey, type RouteResult, resolvedRefsCondition } from "./RouteResult.ts"

export interface CompiledRule {
  readonly index: number
  readonly ruleName?: string
  readonly matches: ReadonlyArray<{ readonly match: RouteMatchIR; readonly rank: RankKey }>
  /** Everything of the IR route but its name, source and match. */
  readonly body: Omit<HttpRouteIR, "name" | "source" | "match">
}

export interface HttpRouteInput {
  readonly kind: "HTTPRoute" | "GRPCRoute"
  readonly namespace: string
  readonly name: string
  readonly generation: number
  readonly creationTimestamp: string | undefined
  readonly parents: ReadonlyArray<ParentResult>
  readonly rules: ReadonlyArray<CompiledRule>
  /** Rules left out, as `rule <i>: <why>`, and the reason of the first one. */
  readonly dropped: ReadonlyArray<string>
  readonly droppedReason: string
  readonly refFailures: ReadonlyArray<RefFailure>
}

export const assembleHttpRoute = (input: HttpRouteInput): RouteResult => {
  const { kind, namespace, name, generation: gen, rules, dropped, droppedReason } = input
  const ruleFailure =
    rules.length === 0 && dropped.length > 0
      ? { reason: droppedReason, message: `no valid rule: ${dropped.join("; ")}` }
      : undefined
  const age = ageRank(input.creationTimestamp, namespace, name)
  const prefix = kind.toLowerCase()
  const http: Array<HttpEntry> = []
  const seen = new Set<string>()
  const attached = new Set<string>()
  const parents = input.parents.map((p) => {
    const conditions: Array<Condition> = [
      acceptedCondition(p, gen, ruleFailure),
      resolvedRefsCondition(input.refFailures, gen)
    ]
    if (p.failure !== undefined || ruleFailure !== undefined) return { parentRef: p.parentRef, conditions }
    if (dropped.length > 0) {
      conditions.push(
        makeCondition(
          ConditionType.PartiallyInvalid,
          "True",
          droppedReason,
          `Dropped Rule(s): ${dropped.join("; ")}`,
          gen
        )
      )
    }
    for (const a of p.attachments) {
      attached.add(a.listener.id)
      if (!a.listener.programmed) continue
      for (const host of a.hostnames) {
        for (const rule of rules) {
          rule.matches.forEach((m, j) => {
            const routeName = `${prefix}/${namespace}/${name}/rule/${rule.index}/match/${j}/${hostKey(host)}`
            const k = `${a.listener.id}|${routeName}`
            if (seen.has(k)) return
            seen.add(k)
            http.push({
              listenerId: a.listener.id,
              hostname: host,
              rank: [...m.rank, ...age, rule.index, j],
              route: {
                name: routeName,
                source: {
                  kind,
                  namespace,
                  name,
                  rule: rule.index,
                  match: j,
                  ...(rule.ruleName === undefined ? {} : { ruleName: rule.ruleName })
                },
                match: m.match,
                ...rule.body
              }
            })
          })
        }
      }
    }
    return { parentRef: p.parentRef, conditions }
  })
  const parentAttachments = input.parents.map((p) =>
    p.failure === undefined && ruleFailure === undefined
      ? p.attachments.map((a) => ({ listenerId: a.listener.id, hostnames: a.hostnames }))
      : []
  )
  return { kind, namespace, name, age, parents, parentAttachments, attachedListeners: [...attached], http, l4: [] }
}
