/**
 * The status expectations of expectations.yaml (`statuses` entries and their
 * helpers), evaluated on one translate output with the semantics given in
 * `defaults.implicit`. Polling and timeouts do not apply: translate is one pure
 * call, so "poll until X" is "X holds in the output".
 */
import type {
  ConditionExpectation,
  ListenerExpectation,
  ParentRefExpectation,
  StatusAddressesExpectation,
  StatusExpectation
} from "./Expectations.ts"
import { CONTROLLER_NAME, UNUSABLE_ADDRESSES, USABLE_ADDRESSES } from "./Input.ts"
import { arr, at, describeRef, type Ref, recs, str } from "./Objects.ts"
import {
  attachedRoutesOf,
  conditionProblem,
  conditionsOf,
  conditionsProblems,
  formatParent,
  formatParentRef,
  formatWant,
  GATEWAY_GROUP,
  listenerNamed,
  listenersOf,
  lookup,
  ownStaleProblems,
  parentsOf,
  type StateView,
  staleProblems,
  supportedKindsOf
} from "./Status.ts"

export type Outcome = "pass" | "fail" | "unchecked"

export interface CheckResult {
  readonly outcome: Outcome
  /** fail: what does not hold; unchecked: why it cannot be checked here. */
  readonly problems: ReadonlyArray<string>
}

const SKIP_READINESS_ANNOTATION = "gateway-api/skip-this-for-readiness"

const refOfExpectation = (s: StatusExpectation): Ref => s.object

/** Human label of a statuses entry (prefix of its failure messages). */
export const labelOf = (s: StatusExpectation): string => {
  const what = describeRef(s.object)
  if (s.helper !== undefined) return `${what} ${s.helper}`
  if (s.parentRef !== undefined) return `${what} parent ${s.parentRef.kind ?? "Gateway"} ${s.parentRef.name}`
  if (s.ancestorRef !== undefined) return `${what} ancestor ${s.ancestorRef.kind ?? "Gateway"} ${s.ancestorRef.name}`
  if (s.attachedListenerSets !== undefined) return `${what} attachedListenerSets`
  if (s.specAddressesCount !== undefined) return `${what} spec.addresses`
  if (s.statusAddresses !== undefined) return `${what} status.addresses`
  return `${what} conditions`
}

/** routeConditionCheck / policyConditionCheck: a parent (ancestor) by name has the conditions; all are current. */
const parentConditionProblems = (
  view: StateView,
  ref: Ref,
  wanted: ParentRefExpectation,
  wants: ReadonlyArray<ConditionExpectation>,
  field: "parents" | "ancestors"
): Array<string> => {
  const found = lookup(view, ref)
  if ("missing" in found) return [found.missing]
  const refField = field === "parents" ? "parentRef" : "ancestorRef"
  const parents = parentsOf(found.status, field)
  if (parents.length === 0) return [`no status.${field} (want ${wants.map(formatWant).join(", ")})`]
  const generation = view.generation(ref)
  const problems = parents.flatMap((p) =>
    staleProblems(conditionsOf(p), generation, `${formatParentRef(p[refField])}: `)
  )
  const matching = parents.filter(
    (p) =>
      at(p, refField, "name") === wanted.name &&
      (at(p, refField, "namespace") === undefined || at(p, refField, "namespace") === wanted.namespace)
  )
  if (matching.length === 0) {
    return [
      ...problems,
      `no status.${field} entry named ${wanted.name} (has ${parents.map((p) => formatParent(p, refField)).join("; ")})`
    ]
  }
  for (const want of wants) {
    if (matching.some((p) => conditionProblem(conditionsOf(p), want) === undefined)) continue
    problems.push(conditionProblem(conditionsOf(matching[0]), want) ?? "")
  }
  return problems
}

/** gatewayConditionCheck / gatewayClassConditionCheck: the object's conditions, all current. */
const objectConditionProblems = (
  view: StateView,
  ref: Ref,
  wants: ReadonlyArray<ConditionExpectation>
): Array<string> => {
  const found = lookup(view, ref)
  if ("missing" in found) return [found.missing]
  return [...conditionsProblems(conditionsOf(found.status), wants), ...ownStaleProblems(view, ref, found.obj)]
}

/** Gateway/ListenerSet StatusMustHaveListeners: exactly these listeners, kinds, attachedRoutes, conditions. */
const listenersProblems = (view: StateView, ref: Ref, wants: ReadonlyArray<ListenerExpectation>): Array<string> => {
  const found = lookup(view, ref)
  if ("missing" in found) return [found.missing]
  const actual = listenersOf(found.status)
  const problems: Array<string> = []
  if (actual.length !== wants.length) {
    problems.push(
      `want ${wants.length} status.listeners, got ${actual.length} [${actual.map((l) => str(l.name)).join(", ")}]`
    )
  }
  for (const want of wants) {
    const listener = listenerNamed(found.status, want.name)
    if (listener === undefined) {
      problems.push(`listener ${want.name}: missing from status.listeners`)
      continue
    }
    const kinds = supportedKindsOf(listener)
    const shown = `[${kinds.map((k) => `${k.group}/${k.kind}`).join(", ")}]`
    if (want.supportedKinds.length === 0 && kinds.length > 0) {
      problems.push(`listener ${want.name}: want no supportedKinds, got ${shown}`)
    }
    for (const k of want.supportedKinds) {
      const group = k.group ?? GATEWAY_GROUP
      if (!kinds.some((a) => a.group === group && a.kind === k.kind)) {
        problems.push(`listener ${want.name}: supportedKinds lacks ${group}/${k.kind} (got ${shown})`)
      }
    }
    if (attachedRoutesOf(listener) !== want.attachedRoutes) {
      problems.push(
        `listener ${want.name}: want attachedRoutes ${want.attachedRoutes}, got ${attachedRoutesOf(listener)}`
      )
    }
    problems.push(...conditionsProblems(conditionsOf(listener), want.conditions, `listener ${want.name}: `))
  }
  return [...problems, ...ownStaleProblems(view, ref, found.obj)]
}

/** *ListenersMustHaveConditions: the named listeners exist and have the conditions. */
const namedListenersProblems = (
  view: StateView,
  ref: Ref,
  names: ReadonlyArray<string>,
  wants: ReadonlyArray<ConditionExpectation>,
  ownCurrent: boolean
): Array<string> => {
  const found = lookup(view, ref)
  if ("missing" in found) return [found.missing]
  const problems = names.flatMap((name) => {
    const listener = listenerNamed(found.status, name)
    if (listener === undefined) return [`listener ${name}: missing from status.listeners`]
    return conditionsProblems(conditionsOf(listener), wants, `listener ${name}: `)
  })
  return ownCurrent ? [...problems, ...ownStaleProblems(view, ref, found.obj)] : problems
}

/** RouteMustHaveParents: an entry with our controllerName, exact group/kind/name/namespace and the conditions. */
const routeParentsProblems = (
  view: StateView,
  ref: Ref,
  wanted: ParentRefExpectation,
  namespaceRequired: boolean,
  wants: ReadonlyArray<ConditionExpectation>
): Array<string> => {
  const found = lookup(view, ref)
  if ("missing" in found) return [found.missing]
  const parents = parentsOf(found.status, "parents")
  const identity = parents.filter((p) => {
    const namespace = at(p, "parentRef", "namespace")
    return (
      p.controllerName === CONTROLLER_NAME &&
      at(p, "parentRef", "group") === wanted.group &&
      at(p, "parentRef", "kind") === wanted.kind &&
      at(p, "parentRef", "name") === wanted.name &&
      (namespaceRequired ? namespace === wanted.namespace : namespace === undefined || namespace === wanted.namespace)
    )
  })
  if (identity.some((p) => wants.every((w) => conditionProblem(conditionsOf(p), w) === undefined))) return []
  const target = `${wanted.group}/${wanted.kind} ${wanted.namespace ?? ""}/${wanted.name} [${CONTROLLER_NAME}]`
  const first = identity[0]
  if (first !== undefined) return conditionsProblems(conditionsOf(first), wants, `parent ${target}: `)
  const has = parents.map((p) => formatParent(p, "parentRef")).join("; ")
  return [
    `no status.parents entry ${target}${namespaceRequired ? " (namespace required)" : ""} (has ${has === "" ? "none" : has})`
  ]
}

/** RouteMustHaveNoAcceptedParents: no parents, or exactly one, current and Accepted=False. */
const noAcceptedParentsProblems = (view: StateView, ref: Ref): Array<string> => {
  const found = lookup(view, ref)
  if ("missing" in found) return [found.missing]
  const parents = parentsOf(found.status, "parents")
  if (parents.length === 0) return []
  if (parents.length > 1)
    return [
      `want no parents or one not Accepted, got ${parents.length}: ${parents.map((p) => formatParent(p, "parentRef")).join("; ")}`
    ]
  const parent = parents[0]
  const label = `parent ${formatParentRef(parent?.parentRef)}: `
  const accepted = conditionProblem(conditionsOf(parent), { type: "Accepted", status: "False" })
  return [
    ...(accepted === undefined ? [] : [`${label}${accepted}`]),
    ...staleProblems(conditionsOf(parent), view.generation(ref), label)
  ]
}

/** GatewayMustHaveZeroRoutes: no listeners, or exactly one with attachedRoutes 0; conditions current. */
const zeroRoutesProblems = (view: StateView, ref: Ref): Array<string> => {
  const found = lookup(view, ref)
  if ("missing" in found) return [found.missing]
  const listeners = listenersOf(found.status)
  const problems: Array<string> = []
  const only = listeners[0]
  if (listeners.length > 1) problems.push(`want at most one status.listeners entry, got ${listeners.length}`)
  else if (only !== undefined && attachedRoutesOf(only) !== 0) {
    problems.push(`listener ${str(only.name)}: want attachedRoutes 0, got ${attachedRoutesOf(only)}`)
  }
  return [...problems, ...ownStaleProblems(view, ref, found.obj)]
}

/** *MustHaveLatestConditions: every condition (own, of every parent or ancestor) is current. */
const latestProblems = (view: StateView, ref: Ref, field: "own" | "parents" | "ancestors"): Array<string> => {
  const found = lookup(view, ref)
  if ("missing" in found) return [found.missing]
  if (field === "own") return ownStaleProblems(view, ref, found.obj)
  const refField = field === "parents" ? "parentRef" : "ancestorRef"
  return parentsOf(found.status, field).flatMap((p) =>
    staleProblems(conditionsOf(p), view.generation(ref), `${formatParentRef(p[refField])}: `)
  )
}

/**
 * The address wait, minus the address: translate assigns none, so instead the
 * Gateway must have its Accepted and Programmed conditions (any status), all current.
 */
export const addressWaitProblems = (view: StateView, ref: Ref): Array<string> =>
  objectConditionProblems(view, ref, [{ type: "Accepted" }, { type: "Programmed" }])

/** NamespacesMustBeReady, Gateway part: every Gateway not opted out is Accepted and Programmed, all current (Pods are not ours). */
export const namespaceReadyProblems = (view: StateView, namespace: string): Array<string> =>
  view
    .inputs("Gateway", namespace)
    .filter((g) => at(g, "metadata", "annotations", SKIP_READINESS_ANNOTATION) !== "true")
    .flatMap((g) => {
      const ref: Ref = { kind: "Gateway", namespace, name: str(at(g, "metadata", "name")) ?? "" }
      return objectConditionProblems(view, ref, [
        { type: "Accepted", status: "True" },
        { type: "Programmed", status: "True" }
      ]).map((p) => `${describeRef(ref)}: ${p}`)
    })

const attachedListenerSetsProblems = (view: StateView, ref: Ref, want: number): Array<string> => {
  const found = lookup(view, ref)
  if ("missing" in found) return [found.missing]
  const got = at(found.status, "attachedListenerSets")
  const value = typeof got === "number" ? got : 0
  return [
    ...(value === want
      ? []
      : [`want status.attachedListenerSets ${want}, got ${got === undefined ? "none (0)" : String(got)}`]),
    ...ownStaleProblems(view, ref, found.obj)
  ]
}

const ADDRESS_PLACEHOLDERS: Record<string, ReadonlyArray<string>> = {
  "<usable address value>": USABLE_ADDRESSES.flatMap((a) => str(a.value) ?? []),
  "<unusable address value>": UNUSABLE_ADDRESSES.flatMap((a) => str(a.value) ?? [])
}
const addressValues = (value: string): ReadonlyArray<string> => ADDRESS_PLACEHOLDERS[value] ?? [value]

/**
 * status.addresses (count, values present/absent, type of the usable one as in
 * spec). Translate only reports addresses it can know (static spec.addresses);
 * when it reports none, the expectation is left to the infrastructure: unchecked.
 */
const statusAddressesResult = (view: StateView, ref: Ref, want: StatusAddressesExpectation): CheckResult => {
  const found = lookup(view, ref)
  if ("missing" in found) return { outcome: "fail", problems: [found.missing] }
  const addresses = recs(at(found.status, "addresses"))
  if (addresses.length === 0) {
    return {
      outcome: "unchecked",
      problems: ["status.addresses: translate reports none (assigned by the infrastructure)"]
    }
  }
  const values = addresses.map((a) => str(a.value) ?? "")
  const shown = `[${addresses.map((a) => `${str(a.type) ?? "<unset type>"}:${str(a.value)}`).join(", ")}]`
  const problems: Array<string> = []
  if (addresses.length !== want.count) problems.push(`want ${want.count} status.addresses, got ${shown}`)
  for (const v of addressValues(want.mustContain)) {
    if (!values.includes(v)) problems.push(`status.addresses lacks ${v} (got ${shown})`)
    const specType = str(recs(at(found.obj, "spec", "addresses")).find((a) => a.value === v)?.type) ?? "IPAddress"
    const statusType = str(addresses.find((a) => a.value === v)?.type)
    if (want.typeOfUsableMustMatchSpec && values.includes(v) && statusType !== specType) {
      problems.push(`status.addresses ${v}: want type ${specType} (as in spec), got ${statusType ?? "<unset>"}`)
    }
  }
  for (const v of want.mustNotContain.flatMap(addressValues)) {
    if (values.includes(v)) problems.push(`status.addresses must not contain ${v} (got ${shown})`)
  }
  return { outcome: problems.length === 0 ? "pass" : "fail", problems }
}

const helperProblems = (s: StatusExpectation, view: StateView): Array<string> => {
  const ref = refOfExpectation(s)
  const conditions = s.conditions ?? []
  switch (s.helper) {
    case undefined:
      return []
    case "GatewayStatusMustHaveListeners":
    case "ListenerSetStatusMustHaveListeners":
      return listenersProblems(view, ref, s.listeners ?? [])
    case "GatewayListenersMustHaveConditions":
      return namedListenersProblems(view, ref, s.listenerNames ?? [], conditions, false)
    case "GatewayListenerMustHaveConditions":
      return namedListenersProblems(view, ref, s.listener === undefined ? [] : [s.listener], conditions, false)
    case "ListenerSetListenersMustHaveConditions":
      return namedListenersProblems(view, ref, s.listenerNames ?? [], conditions, true)
    case "RouteMustHaveParents":
      if (s.parentRef === undefined) return ["RouteMustHaveParents without parentRef"]
      return routeParentsProblems(view, ref, s.parentRef, s.namespaceRequired ?? false, conditions)
    case "RouteMustHaveNoAcceptedParents":
      return noAcceptedParentsProblems(view, ref)
    case "GatewayMustHaveZeroRoutes":
      return zeroRoutesProblems(view, ref)
    case "GatewayMustHaveLatestConditions":
    case "GatewayClassMustHaveLatestConditions":
      return latestProblems(view, ref, "own")
    case "RouteMustHaveLatestConditions":
      return latestProblems(view, ref, "parents")
    case "PolicyMustHaveLatestConditions":
      return latestProblems(view, ref, "ancestors")
    case "NamespacesMustBeReady":
      return namespaceReadyProblems(view, ref.namespace ?? "")
    case "WaitForGatewayAddress":
      return addressWaitProblems(view, ref)
  }
  return [`helper ${String(s.helper)} is not implemented`]
}

/** Evaluates one `statuses` entry; `before` is the state before its mutation (for metadataGenerationChanged). */
export const evaluateStatus = (s: StatusExpectation, view: StateView, before: StateView | undefined): CheckResult => {
  const ref = refOfExpectation(s)
  const problems: Array<string> = [...helperProblems(s, view)]
  let checked = s.helper !== undefined
  const conditions = s.conditions ?? []
  if (s.helper === undefined && s.parentRef !== undefined) {
    problems.push(...parentConditionProblems(view, ref, s.parentRef, conditions, "parents"))
    checked = true
  } else if (s.helper === undefined && s.ancestorRef !== undefined) {
    problems.push(...parentConditionProblems(view, ref, s.ancestorRef, conditions, "ancestors"))
    checked = true
  } else if (s.helper === undefined && s.conditions !== undefined) {
    problems.push(...objectConditionProblems(view, ref, conditions))
    checked = true
  }
  if (s.attachedListenerSets !== undefined) {
    problems.push(...attachedListenerSetsProblems(view, ref, s.attachedListenerSets))
    checked = true
  }
  if (s.specAddressesCount !== undefined) {
    const got = arr(at(view.find(ref), "spec", "addresses")).length
    if (got !== s.specAddressesCount) problems.push(`want ${s.specAddressesCount} spec.addresses, got ${got}`)
    checked = true
  }
  if (s.metadataGenerationChanged === true) {
    const now = view.generation(ref)
    const then = before?.generation(ref)
    if (now === undefined || now === then) {
      problems.push(`metadata.generation did not change across the mutation (${String(then)} -> ${String(now)})`)
    }
  }
  if (!checked && s.statusAddresses !== undefined) return statusAddressesResult(view, ref, s.statusAddresses)
  if (!checked) return { outcome: "fail", problems: ["expectation of a form this suite does not know"] }
  return { outcome: problems.length === 0 ? "pass" : "fail", problems }
}
