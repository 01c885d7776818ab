/**
 * The status expectations a conformance test makes without listing them in
 * `statuses` (defaults.implicit and defaults.setup of expectations.yaml):
 * - every `routes` entry is waited on with the accepted helper of its parent:
 *   (1) the address wait — translate assigns no address, so only its condition
 *   part is checked: the Gateway has Accepted and Programmed conditions, all
 *   current; (2) the route has a parent entry for the parent with our
 *   controllerName, group/kind set, Accepted=True/Accepted, conditions current;
 *   (3) every listener of the parent is ResolvedRefs/Accepted/Programmed True
 *   (not for TLSRoute; not when the test gateway is waitAddressOnly);
 * - `gateway.waitAddressOnly`: the address wait (1) alone;
 * - `waitNamespacesReady`: the Gateways of those namespaces are Accepted and Programmed;
 * - suite setup: the suite's GatewayClass is Accepted=True and the base namespaces are ready;
 * - every condition we write, on every Gateway API object, carries observedGeneration ==
 *   metadata.generation, initially and after each mutation (STATUS.md "Every condition").
 */
import { addressWaitProblems, type CheckResult, namespaceReadyProblems } from "./Checks.ts"
import type { ConformanceTest, RouteWait } from "./Expectations.ts"
import { CONTROLLER_NAME, SUITE_GATEWAY_CLASS } from "./Input.ts"
import { at, describeRef, type Rec, type Ref, rec, refOf, str } from "./Objects.ts"
import {
  conditionProblem,
  conditionsOf,
  conditionsProblems,
  formatParent,
  GATEWAY_GROUP,
  listenersOf,
  lookup,
  ownStaleProblems,
  parentsOf,
  type StateView,
  staleProblems
} from "./Status.ts"

export interface ImplicitExpectation {
  readonly id: string
  readonly label: string
  readonly evaluate: (view: StateView) => CheckResult
}

const result = (problems: ReadonlyArray<string>): CheckResult => ({
  outcome: problems.length === 0 ? "pass" : "fail",
  problems
})

const LISTENER_READY = [
  { type: "ResolvedRefs", status: "True" },
  { type: "Accepted", status: "True" },
  { type: "Programmed", status: "True" }
] as const

/** The Gateway whose address a parent's wait uses: the Gateway itself, or a ListenerSet's spec.parentRef. */
const addressGateway = (view: StateView, parent: Ref): Ref | undefined => {
  if (parent.kind === "Gateway") return parent
  const ls = view.find(parent)
  const name = str(at(ls, "spec", "parentRef", "name"))
  if (name === undefined) return undefined
  return { kind: "Gateway", namespace: str(at(ls, "spec", "parentRef", "namespace")) ?? parent.namespace, name }
}

/** (1) without the address, for `parent` (and a ListenerSet parent's own conditions current). */
const addressStepProblems = (view: StateView, parent: Ref): Array<string> => {
  const gateway = addressGateway(view, parent)
  if (gateway === undefined) return [`${describeRef(parent)}: not in the translate output or has no spec.parentRef`]
  const problems = addressWaitProblems(view, gateway).map((p) => `${describeRef(gateway)}: ${p}`)
  if (parent.kind !== "Gateway") {
    const found = lookup(view, parent)
    if ("missing" in found) problems.push(found.missing)
    else problems.push(...ownStaleProblems(view, parent, found.obj).map((p) => `${describeRef(parent)}: ${p}`))
  }
  return problems
}

/** (2) the route's parent entry for `parent`. */
const parentStepProblems = (view: StateView, route: Ref, parent: Ref): Array<string> => {
  const found = lookup(view, route)
  if ("missing" in found) return [found.missing]
  const parents = parentsOf(found.status, "parents")
  const crossNamespace = route.namespace !== parent.namespace
  const entries = parents.filter((p) => {
    const namespace = at(p, "parentRef", "namespace")
    return (
      p.controllerName === CONTROLLER_NAME &&
      at(p, "parentRef", "group") === GATEWAY_GROUP &&
      at(p, "parentRef", "kind") === parent.kind &&
      at(p, "parentRef", "name") === parent.name &&
      (crossNamespace ? namespace === parent.namespace : namespace === undefined || namespace === parent.namespace)
    )
  })
  const target = `${GATEWAY_GROUP}/${parent.kind} ${parent.namespace}/${parent.name} [${CONTROLLER_NAME}]`
  const accepted = { type: "Accepted", status: "True", reason: "Accepted" } as const
  const good = entries.find((p) => conditionProblem(conditionsOf(p), accepted) === undefined)
  if (good !== undefined) return staleProblems(conditionsOf(good), view.generation(route), `parent ${target}: `)
  const first = entries[0]
  if (first !== undefined) return conditionsProblems(conditionsOf(first), [accepted], `parent ${target}: `)
  const has = parents.map((p) => formatParent(p, "parentRef")).join("; ")
  return [
    `no status.parents entry ${target}${crossNamespace ? " (namespace required)" : ""} (has ${has === "" ? "none" : has})`
  ]
}

/** (3) every listener of the parent ready. */
const listenerStepProblems = (view: StateView, parent: Ref): Array<string> => {
  const found = lookup(view, parent)
  if ("missing" in found) return [found.missing]
  return listenersOf(found.status).flatMap((l) =>
    conditionsProblems(conditionsOf(l), LISTENER_READY, `${describeRef(parent)} listener ${str(l.name)}: `)
  )
}

const routeParent = (test: ConformanceTest, route: RouteWait): Ref | undefined =>
  route.parent ?? (test.gateway === null ? undefined : { kind: "Gateway", ...test.gateway })

const routeExpectation = (test: ConformanceTest, route: RouteWait, index: number): ImplicitExpectation => {
  const parent = routeParent(test, route)
  const routeRef: Ref = { kind: route.kind, namespace: route.namespace, name: route.name }
  const sections = route.sectionNames === undefined ? "" : ` (sections ${route.sectionNames.join(", ")})`
  const label = `${describeRef(routeRef)} accepted by ${parent === undefined ? "?" : describeRef(parent)}${sections}`
  return {
    id: `routes[${index}]`,
    label,
    evaluate: (view) => {
      if (parent === undefined) return result(["the test has no gateway and the route no parent"])
      const problems = addressStepProblems(view, parent)
      if (route.parent === undefined && test.gateway?.waitAddressOnly === true) return result(problems)
      problems.push(...parentStepProblems(view, routeRef, parent))
      if (route.kind !== "TLSRoute") problems.push(...listenerStepProblems(view, parent))
      return result(problems)
    }
  }
}

const STATUS_KINDS: ReadonlySet<string> = new Set([
  "GatewayClass",
  "Gateway",
  "ListenerSet",
  "HTTPRoute",
  "GRPCRoute",
  "TLSRoute",
  "TCPRoute",
  "UDPRoute",
  "BackendTLSPolicy"
])

/** Our conditions of one object: its own, its listeners', and those of the parents/ancestors we write. */
const ourConditions = (
  obj: Rec
): ReadonlyArray<{ readonly where: string; readonly conditions: ReadonlyArray<Rec> }> => {
  const status = at(obj, "status")
  const ours = (entries: ReadonlyArray<Rec>, field: "parentRef" | "ancestorRef") =>
    entries
      .filter((p) => p.controllerName === CONTROLLER_NAME)
      .map((p) => ({
        where: `${field === "parentRef" ? "parent" : "ancestor"} ${str(at(p, field, "name"))}`,
        conditions: conditionsOf(p)
      }))
  return [
    { where: "", conditions: conditionsOf(status) },
    ...listenersOf(rec(status)).map((l) => ({ where: `listener ${str(l.name)}`, conditions: conditionsOf(l) })),
    ...ours(parentsOf(rec(status), "parents"), "parentRef"),
    ...ours(parentsOf(rec(status), "ancestors"), "ancestorRef")
  ]
}

/** Problems for any condition we wrote whose observedGeneration is not its object's metadata.generation. */
export const currentGenerationProblems = (view: StateView): Array<string> =>
  view
    .outputs()
    .filter((o) => STATUS_KINDS.has(str(o.kind) ?? ""))
    .flatMap((obj) => {
      const ref = refOf(obj)
      const generation = view.generation(ref)
      return ourConditions(obj).flatMap(({ where, conditions }) =>
        staleProblems(conditions, generation, `${describeRef(ref)}${where === "" ? "" : ` ${where}`}: `)
      )
    })

/** The implicit expectations of `test`, in the order the suite checks them. */
export const implicitExpectations = (test: ConformanceTest): ReadonlyArray<ImplicitExpectation> => {
  const out: Array<ImplicitExpectation> = []
  const namespaces = test.waitNamespacesReady ?? []
  if (namespaces.length > 0) {
    out.push({
      id: "waitNamespacesReady",
      label: `namespaces ${namespaces.join(", ")} ready (Gateways Accepted and Programmed)`,
      evaluate: (view) => result(namespaces.flatMap((ns) => namespaceReadyProblems(view, ns)))
    })
  }
  const gateway = test.gateway
  if (gateway !== null && gateway.waitAddressOnly === true) {
    const ref: Ref = { kind: "Gateway", namespace: gateway.namespace, name: gateway.name }
    out.push({
      id: "gateway.waitAddressOnly",
      label: `${describeRef(ref)} address wait (conditions only)`,
      evaluate: (view) => result(addressWaitProblems(view, ref))
    })
  }
  test.routes.forEach((route, index) => {
    out.push(routeExpectation(test, route, index))
  })
  return out
}

/** setup.gatewayClass and setup.namespacesMustBeReady for the base namespaces. */
export const setupExpectations = (baseNamespaces: ReadonlyArray<string>): ReadonlyArray<ImplicitExpectation> => {
  const gatewayClass: Ref = { kind: "GatewayClass", name: SUITE_GATEWAY_CLASS }
  return [
    {
      id: "setup.gatewayClass",
      label: `${describeRef(gatewayClass)} accepted`,
      evaluate: (view) => {
        const found = lookup(view, gatewayClass)
        if ("missing" in found) return result([found.missing])
        return result([
          ...conditionsProblems(conditionsOf(found.status), [{ type: "Accepted", status: "True" }]),
          ...ownStaleProblems(view, gatewayClass, found.obj)
        ])
      }
    },
    {
      id: "setup.namespacesMustBeReady",
      label: `base namespaces ${baseNamespaces.join(", ")} ready (Gateways Accepted and Programmed)`,
      evaluate: (view) => result(baseNamespaces.flatMap((ns) => namespaceReadyProblems(view, ns)))
    }
  ]
}
