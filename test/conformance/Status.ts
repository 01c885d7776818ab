/**
 * Reading translate's output the way the conformance helpers read status:
 * conditions (type/status/reason, observedGeneration), parents, listeners.
 * Every check returns the list of problems found, each saying what was wanted
 * and what was found; an empty list means the check holds.
 */
import type { ConditionExpectation } from "./Expectations.ts"
import { arr, at, describeRef, keyOf, keyOfRef, num, type Rec, type Ref, rec, recs, refOf, str } from "./Objects.ts"

export const GATEWAY_GROUP = "gateway.networking.k8s.io"

/** One state of a test: the objects given to translate and the objects it returned. */
export class StateView {
  readonly #input = new Map<string, Rec>()
  readonly #output = new Map<string, Rec>()

  constructor(input: ReadonlyArray<Rec>, output: ReadonlyArray<unknown>) {
    for (const obj of input) this.#input.set(keyOf(obj), obj)
    for (const obj of recs(output)) this.#output.set(keyOf(obj), obj)
  }

  /** The object as translate returned it. */
  find(ref: Ref): Rec | undefined {
    return this.#output.get(keyOfRef(ref))
  }

  /** metadata.generation as applied (the API server's value). */
  generation(ref: Ref): number | undefined {
    return num(at(this.#input.get(keyOfRef(ref)), "metadata", "generation"))
  }

  /** Every object translate returned. */
  outputs(): ReadonlyArray<Rec> {
    return [...this.#output.values()]
  }

  /** Input objects of `kind` in `namespace`, in apply order. */
  inputs(kind: string, namespace: string): ReadonlyArray<Rec> {
    return [...this.#input.values()].filter((o) => o.kind === kind && at(o, "metadata", "namespace") === namespace)
  }
}

export const conditionsOf = (holder: unknown): ReadonlyArray<Rec> => recs(at(holder, "conditions"))

export const formatCondition = (c: Rec): string => {
  const message = str(c.message)
  return `${str(c.type)}=${str(c.status)}/${str(c.reason)}${message === undefined || message === "" ? "" : ` (message "${message}")`}`
}

export const formatWant = (want: ConditionExpectation): string =>
  `${want.type}=${want.status ?? "<any status>"}${want.reason === undefined || want.reason === "" ? "" : `/${want.reason}`}`

export const conditionMatches = (c: Rec, want: ConditionExpectation): boolean =>
  c.type === want.type &&
  (want.status === undefined || c.status === want.status) &&
  (want.reason === undefined || want.reason === "" || c.reason === want.reason)

/** undefined when `conditions` has `want`, else "want X, got Y". */
export const conditionProblem = (conditions: ReadonlyArray<Rec>, want: ConditionExpectation): string | undefined => {
  const sameType = conditions.filter((c) => c.type === want.type)
  if (sameType.some((c) => conditionMatches(c, want))) return undefined
  if (sameType.length > 0) return `want ${formatWant(want)}, got ${sameType.map(formatCondition).join(", ")}`
  const others = conditions.map((c) => `${str(c.type)}=${str(c.status)}`).join(", ")
  return `want ${formatWant(want)}, got no ${want.type} condition${others === "" ? "" : ` (has ${others})`}`
}

export const conditionsProblems = (
  conditions: ReadonlyArray<Rec>,
  wants: ReadonlyArray<ConditionExpectation>,
  prefix = ""
): Array<string> => wants.flatMap((w) => conditionProblem(conditions, w) ?? []).map((p) => `${prefix}${p}`)

/** Problems for conditions whose observedGeneration is not `generation`. */
export const staleProblems = (
  conditions: ReadonlyArray<Rec>,
  generation: number | undefined,
  prefix = ""
): Array<string> =>
  conditions
    .filter((c) => num(c.observedGeneration) !== generation)
    .map(
      (c) =>
        `${prefix}condition ${str(c.type)} has observedGeneration ${String(c.observedGeneration)}, want ${String(generation)} (metadata.generation)`
    )

/** The output object, or a problem saying it is missing / has no status. */
export const lookup = (
  view: StateView,
  ref: Ref
): { readonly obj: Rec; readonly status: Rec | undefined } | { readonly missing: string } => {
  const obj = view.find(ref)
  if (obj === undefined) return { missing: `${describeRef(ref)} is not in the translate output` }
  return { obj, status: rec(at(obj, "status")) }
}

/** The object's own status.conditions must all be current (Gateway, GatewayClass, ListenerSet). */
export const ownStaleProblems = (view: StateView, ref: Ref, obj: Rec): Array<string> =>
  staleProblems(conditionsOf(at(obj, "status")), view.generation(ref))

/** `Gateway ns/name` of a status parentRef / ancestorRef as written (unset fields shown as <unset>). */
export const formatParentRef = (ref: unknown): string => {
  const group = str(at(ref, "group"))
  const kind = str(at(ref, "kind"))
  const namespace = str(at(ref, "namespace"))
  return `${group ?? "<unset group>"}/${kind ?? "<unset kind>"} ${namespace === undefined ? "" : `${namespace}/`}${str(at(ref, "name"))}`
}

export const formatParent = (parent: Rec, refField: "parentRef" | "ancestorRef"): string =>
  `${formatParentRef(parent[refField])} [${str(parent.controllerName) ?? "<unset controllerName>"}] ${conditionsOf(
    parent
  )
    .map((c) => `${str(c.type)}=${str(c.status)}/${str(c.reason)}`)
    .join(",")}`

/** Listener status entries by name (Gateway or ListenerSet status.listeners). */
export const listenersOf = (status: Rec | undefined): ReadonlyArray<Rec> => recs(at(status, "listeners"))

export const listenerNamed = (status: Rec | undefined, name: string): Rec | undefined =>
  listenersOf(status).find((l) => l.name === name)

export const supportedKindsOf = (listener: Rec): ReadonlyArray<{ readonly group: string; readonly kind: string }> =>
  recs(listener.supportedKinds).map((k) => ({ group: str(k.group) ?? GATEWAY_GROUP, kind: str(k.kind) ?? "" }))

export const attachedRoutesOf = (listener: Rec): number => num(listener.attachedRoutes) ?? 0

export const parentsOf = (status: Rec | undefined, field: "parents" | "ancestors"): ReadonlyArray<Rec> =>
  recs(at(status, field))

export const describeObject = (obj: Rec): string => describeRef(refOf(obj))

export const count = (u: unknown): number => arr(u).length
