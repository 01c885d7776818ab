/**
 * What a route reconciler returns: the status entry per parentRef, the
 * listeners it attached to (for attachedRoutes), and its IR entries. Pure.
 */
import type { HttpRouteIR, TcpRouteIR } from "../ir/Xds.ts"
import { type Condition, ConditionType, makeCondition, Reason } from "../status/Conditions.ts"
import type { RefFailure } from "./Destinations.ts"
import type { StatusParentRef } from "./RouteParents.ts"

export interface RouteParentStatus {
  readonly parentRef: StatusParentRef
  readonly conditions: ReadonlyArray<Condition>
}

/** Sort key of an HTTP/GRPC route match within a virtual host (lower sorts first). */
export type RankKey = ReadonlyArray<number | string>

export interface HttpEntry {
  readonly listenerId: string
  readonly hostname: string
  readonly route: HttpRouteIR
  readonly rank: RankKey
}

export interface L4Entry {
  readonly listenerId: string
  readonly route: TcpRouteIR
  readonly rank: RankKey
}

export interface ListenerAttachment {
  readonly listenerId: string
  /** Effective hostnames on that listener (`*` = any). */
  readonly hostnames: ReadonlyArray<string>
}

export interface RouteResult {
  readonly kind: string
  readonly namespace: string
  readonly name: string
  /** Creation timestamp then `namespace/name`: the tie-break between routes. */
  readonly age: ReadonlyArray<string>
  readonly parents: ReadonlyArray<RouteParentStatus>
  /** Per parent (same order): the listeners that parent attached the route to. */
  readonly parentAttachments: ReadonlyArray<ReadonlyArray<ListenerAttachment>>
  /** Listener ids this route is attached to (Accepted), for attachedRoutes. */
  readonly attachedListeners: ReadonlyArray<string>
  readonly http: ReadonlyArray<HttpEntry>
  readonly l4: ReadonlyArray<L4Entry>
}

/** ResolvedRefs from the failures of every backendRef of the route (the first one names the reason). */
export const resolvedRefsCondition = (failures: ReadonlyArray<RefFailure>, generation: number): Condition => {
  const first = failures[0]
  if (first === undefined) {
    return makeCondition(
      ConditionType.ResolvedRefs,
      "True",
      Reason.ResolvedRefs,
      "All references are resolved",
      generation
    )
  }
  const messages = [...new Set(failures.map((f) => f.message))]
  return makeCondition(ConditionType.ResolvedRefs, "False", first.reason, messages.join("; "), generation)
}

/** Creation time then namespace/name: the tie-break between routes. */
export const ageRank = (
  creationTimestamp: string | undefined,
  namespace: string,
  name: string
): ReadonlyArray<string> => [creationTimestamp ?? "", `${namespace}/${name}`]
