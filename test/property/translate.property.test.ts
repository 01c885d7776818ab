/**
 * Property tests of the translation pipeline (`translateObjects`): generated sets of raw
 * Kubernetes objects, valid, boundary and invalid (test/support/arbitraries.ts), must always give a
 * well-formed, deterministic result whose statuses and IR agree with each other and with the input.
 *
 * Every property runs on every generated input, as specified. A property broken by a translator
 * bug is marked `it.fails`, with the bug's shrunk counterexample in a comment and replayed first
 * (so it fails at once, whatever the seed); once the bug is fixed, it fails and becomes `it` again.
 * The last describe block holds one regression test per bug these properties found (A-G), each on
 * its minimal counterexample, asserting the behaviour of the fix.
 *
 * Every generated property runs RUNS cases (10,000 unless PORTICO_FC_RUNS says otherwise).
 * PORTICO_FC_SEED=<n> replays a run; fast-check prints the seed, the path and the shrunk
 * counterexample of any failure.
 */
import { deepStrictEqual } from "node:assert/strict"
import fc from "fast-check"
import { describe, it } from "vitest"
import type { Gateway } from "../../src/api/gatewayapi/Gateway.ts"
import type { ListenerSet } from "../../src/api/gatewayapi/ListenerSet.ts"
import type { ParentReference } from "../../src/api/gatewayapi/Shared.ts"
import { decodeResource, type Resource } from "../../src/api/Resource.ts"
import type { DestinationIR, HttpRouteIR, ListenerIR, TcpRouteIR } from "../../src/ir/Xds.ts"
import { type KubeObject, type TranslateResult, translateObjects } from "../../src/reconcilers/Translate.ts"
import {
  BASE,
  baseObjects,
  CONTROLLER,
  GATEWAY_GROUP,
  anyInput as generatedInput,
  type Obj,
  OTHER_CONTROLLER,
  world
} from "../support/arbitraries.ts"

const RUNS = Number(process.env.PORTICO_FC_RUNS ?? 10_000)
const SEED = process.env.PORTICO_FC_SEED

/** fast-check parameters: RUNS cases, the seed only when PORTICO_FC_SEED fixes it. */
const params = <T>(examples: ReadonlyArray<T> = []): fc.Parameters<T> => ({
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: Number(SEED) }),
  ...(examples.length === 0 ? {} : { examples: [...examples] })
})

/** Parameters that replay the given inputs before the generated ones. */
const replaying = (...inputs: ReadonlyArray<ReadonlyArray<unknown>>): fc.Parameters<[ReadonlyArray<unknown>]> =>
  params(inputs.map((input): [ReadonlyArray<unknown>] => [input]))

/** Generous: 10,000 cases take seconds; the budget covers a loaded 2-core machine. */
const TIMEOUT = 120_000

const check = (condition: boolean, message: () => string): void => {
  if (!condition) throw new Error(message())
}

// ---------------------------------------------------------------------------------------------
// Reading unknown values
// ---------------------------------------------------------------------------------------------

const isRecord = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)
const recordOf = (u: unknown): Obj => (isRecord(u) ? u : {})
const arrayOf = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])

interface ConditionView {
  readonly type: unknown
  readonly status: unknown
  readonly reason: unknown
  readonly observedGeneration: unknown
}

const conditionsOf = (u: unknown): ReadonlyArray<ConditionView> =>
  arrayOf(u).map((c) => {
    const r = recordOf(c)
    return { type: r.type, status: r.status, reason: r.reason, observedGeneration: r.observedGeneration }
  })

const conditionOf = (u: unknown, type: string): ConditionView | undefined =>
  conditionsOf(u).find((c) => c.type === type)

/** The namespace a namespaced object lives in: "default" when absent, empty or not a string. */
const namespaceOfRaw = (o: KubeObject | Obj): string => {
  const ns = recordOf(o.metadata).namespace
  return typeof ns === "string" && ns !== "" ? ns : "default"
}

/** Whether JSON represents `value` faithfully (plain data, finite numbers, no cycles). */
const isJson = (value: unknown, seen: Set<object> = new Set()): boolean => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true
  if (typeof value === "number") return Number.isFinite(value)
  if (typeof value !== "object" || seen.has(value)) return false
  seen.add(value)
  let ok = true
  if (Array.isArray(value)) {
    for (let i = 0; ok && i < value.length; i++) ok = isJson(value[i], seen)
  } else {
    const proto: unknown = Object.getPrototypeOf(value)
    ok = proto === Object.prototype || proto === null
    for (const k in value) {
      if (!ok) break
      const v: unknown = (value as Obj)[k]
      ok = v !== undefined && isJson(v, seen)
    }
  }
  seen.delete(value)
  return ok
}

/** The first place in `value` that JSON cannot represent faithfully (slow: for the message). */
const nonJsonAt = (value: unknown, path = "$", seen = new Set<object>()): string | undefined => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${path} = ${value}`
  if (typeof value !== "object") return `${path} is ${typeof value}`
  if (seen.has(value)) return `${path} is a cycle`
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const bad = nonJsonAt(value[i], `${path}[${i}]`, seen)
        if (bad !== undefined) return bad
      }
      return undefined
    }
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return `${path} is not a plain object`
    for (const [k, v] of Object.entries(value)) {
      const bad = v === undefined ? `${path}.${k} is undefined` : nonJsonAt(v, `${path}.${k}`, seen)
      if (bad !== undefined) return bad
    }
    return undefined
  } finally {
    seen.delete(value)
  }
}

// ---------------------------------------------------------------------------------------------
// The model: what the input holds, decoded independently of the reconcilers
// ---------------------------------------------------------------------------------------------

const ROUTE_KINDS = ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"] as const
type RouteKind = (typeof ROUTE_KINDS)[number]

/** A key of a namespaced object that cannot mix up the namespace and the name. */
const keyOf = (namespace: string, name: string): string => `${namespace}\u0000${name}`

interface GatewayView {
  readonly namespace: string
  readonly name: string
  readonly gateway: Gateway
  /** The raw input object (its status is the previous status). */
  readonly raw: Obj
}

interface RouteView {
  readonly kind: RouteKind
  readonly namespace: string
  readonly name: string
  readonly generation: number
  readonly parentRefs: ReadonlyArray<ParentReference>
  readonly ruleCount: number
  readonly raw: Obj
}

interface Model {
  /** Names of the GatewayClasses of our controller. */
  readonly ourClasses: ReadonlySet<string>
  /** Every decoded Gateway, by {@link keyOf}. */
  readonly gateways: ReadonlyMap<string, GatewayView>
  /** The Gateways of our classes, by {@link keyOf}. */
  readonly ourGateways: ReadonlyMap<string, GatewayView>
  readonly listenerSets: ReadonlyMap<string, ListenerSet>
  readonly routes: ReadonlyArray<RouteView>
  readonly services: ReadonlySet<string>
}

/** The kinds the model reads (decoding the others would only cost time). */
const MODEL_KINDS = new Set<string>(["GatewayClass", "Gateway", "ListenerSet", "Service", ...ROUTE_KINDS])

/** Decodes the input as the pipeline does: the last valid object of a kind/namespace/name wins. */
const modelOf = (input: ReadonlyArray<unknown>): Model => {
  const latest = new Map<string, { resource: Resource; raw: Obj }>()
  for (const raw of input) {
    if (!isRecord(raw) || typeof raw.kind !== "string" || !MODEL_KINDS.has(raw.kind)) continue
    const outcome = decodeResource(raw)
    if (outcome._tag !== "Decoded") continue
    const r = outcome.resource
    latest.set(`${r.kind}\u0000${keyOf(r.metadata.namespace ?? "", r.metadata.name)}`, { resource: r, raw })
  }
  const ourClasses = new Set<string>()
  const gateways = new Map<string, GatewayView>()
  const listenerSets = new Map<string, ListenerSet>()
  const routes: Array<RouteView> = []
  const services = new Set<string>()
  for (const { resource: r, raw } of latest.values()) {
    const namespace = r.metadata.namespace ?? "default"
    const name = r.metadata.name
    switch (r.kind) {
      case "GatewayClass":
        if (r.spec.controllerName === CONTROLLER) ourClasses.add(name)
        break
      case "Gateway":
        gateways.set(keyOf(namespace, name), { namespace, name, gateway: r, raw })
        break
      case "ListenerSet":
        listenerSets.set(keyOf(namespace, name), r)
        break
      case "Service":
        services.add(keyOf(namespace, name))
        break
      case "HTTPRoute":
      case "GRPCRoute":
      case "TLSRoute":
      case "TCPRoute":
      case "UDPRoute":
        routes.push({
          kind: r.kind,
          namespace,
          name,
          generation: r.metadata.generation,
          parentRefs: r.spec.parentRefs ?? [],
          ruleCount: r.kind === "GRPCRoute" ? (r.spec.rules ?? [{}]).length : r.spec.rules.length,
          raw
        })
        break
      default:
        break
    }
  }
  const ourGateways = new Map([...gateways].filter(([, g]) => ourClasses.has(g.gateway.spec.gatewayClassName)))
  return { ourClasses, gateways, ourGateways, listenerSets, routes, services }
}

/** One translation with its model and an index of the output objects. */
interface Observed {
  readonly input: ReadonlyArray<unknown>
  readonly result: TranslateResult
  readonly model: Model
  /** The output object of a namespaced kind. */
  readonly out: (kind: string, namespace: string, name: string) => KubeObject | undefined
}

const observe = (input: ReadonlyArray<unknown>): Observed => {
  const result = translateObjects(input)
  const index = new Map<string, KubeObject>()
  for (const o of result.objects) index.set(`${o.kind}\u0000${keyOf(namespaceOfRaw(o), o.metadata.name)}`, o)
  return {
    input,
    result,
    model: modelOf(input),
    out: (kind, namespace, name) => index.get(`${kind}\u0000${keyOf(namespace, name)}`)
  }
}

/** The {@link keyOf} of the Gateway a parentRef names, when it names a Gateway. */
const gatewayKeyOf = (ref: Obj | ParentReference, routeNamespace: string): string | undefined =>
  (ref.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && (ref.kind ?? "Gateway") === "Gateway"
    ? keyOf(typeof ref.namespace === "string" ? ref.namespace : routeNamespace, String(ref.name))
    : undefined

const sameParentRef = (status: unknown, spec: ParentReference): boolean => {
  const s = recordOf(status)
  return (
    s.group === spec.group &&
    s.kind === spec.kind &&
    s.name === spec.name &&
    s.namespace === spec.namespace &&
    s.sectionName === spec.sectionName &&
    s.port === spec.port
  )
}

/** Our entries in a route's status.parents. */
const ourParentEntries = (status: unknown): ReadonlyArray<Obj> =>
  arrayOf(recordOf(status).parents)
    .filter(isRecord)
    .filter((p) => p.controllerName === CONTROLLER)

const isAcceptedEntry = (entry: Obj): boolean => conditionOf(entry.conditions, "Accepted")?.status === "True"

/**
 * Route Accepted reasons: those of the Gateway API (IncompatibleFilters too: apis/v1, and
 * STATUS.md), and one implementation-specific reason, `HostnameConflict`: the loser of an
 * HTTPRoute/GRPCRoute hostname conflict on a listener (the younger route) gets Accepted=False with it,
 * by design (src/reconcilers/KindConflicts.ts; the Gateway API leaves that reason to the
 * implementation).
 */
const ROUTE_ACCEPTED_REASONS = new Set([
  "Accepted",
  "NotAllowedByListeners",
  "NoMatchingListenerHostname",
  "NoMatchingParent",
  "UnsupportedValue",
  "IncompatibleFilters",
  "HostnameConflict"
])
const ROUTE_RESOLVED_REASONS = new Set([
  "ResolvedRefs",
  "BackendNotFound",
  "InvalidKind",
  "RefNotPermitted",
  "UnsupportedProtocol"
])

// ---------------------------------------------------------------------------------------------
// IR walking
// ---------------------------------------------------------------------------------------------

interface IrRoutes {
  readonly http: ReadonlyArray<HttpRouteIR>
  readonly l4: ReadonlyArray<{ readonly route: TcpRouteIR; readonly kinds: ReadonlyArray<string> }>
}

const routesOfListener = (l: ListenerIR): IrRoutes => {
  switch (l.type) {
    case "HTTP":
      return { http: l.routeConfig.virtualHosts.flatMap((v) => v.routes), l4: [] }
    case "TLS":
      return {
        http: l.chains.flatMap((c) => c.routeConfig?.virtualHosts.flatMap((v) => v.routes) ?? []),
        l4: l.chains.flatMap((c) => (c.tcpRoutes ?? []).map((route) => ({ route, kinds: ["TLSRoute", "TCPRoute"] })))
      }
    case "TCP":
      return { http: [], l4: l.routes.map((route) => ({ route, kinds: ["TCPRoute"] })) }
    case "UDP":
      return { http: [], l4: l.routes.map((route) => ({ route, kinds: ["UDPRoute"] })) }
  }
}

const destinationsOf = (r: HttpRouteIR): ReadonlyArray<DestinationIR> => [
  ...(r.destination === undefined ? [] : [r.destination]),
  ...(r.mirrors ?? []).map((m) => m.destination)
]

// ---------------------------------------------------------------------------------------------
// Deterministic shuffling (the permutation seed is part of the generated case)
// ---------------------------------------------------------------------------------------------

const shuffled = <T>(items: ReadonlyArray<T>, seed: number): Array<T> => {
  let s = seed >>> 0
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    const tmp = out[i] as T
    out[i] = out[j] as T
    out[j] = tmp
  }
  return out
}

/**
 * The input without the objects that share kind, namespace and name with a later one (the pipeline
 * keeps the last of those, so their order matters by design). Objects without a usable identity
 * are invalid and stay.
 */
const distinctByName = (input: ReadonlyArray<unknown>): ReadonlyArray<unknown> => {
  const identity = (o: unknown): string | undefined =>
    isRecord(o) && typeof o.kind === "string" && isRecord(o.metadata)
      ? `${o.kind}\u0000${keyOf(namespaceOfRaw(o), JSON.stringify(o.metadata.name))}`
      : undefined
  const lastIndex = new Map<string, number>()
  input.forEach((o, i) => {
    const id = identity(o)
    if (id !== undefined) lastIndex.set(id, i)
  })
  return input.filter((o, i) => {
    const id = identity(o)
    return id === undefined || lastIndex.get(id) === i
  })
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/** RFC 1123 subdomain and label, as the API server checks object names and namespaces. */
const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/**
 * Whether Kubernetes would reject the object's name (a string, an RFC 1123 subdomain of at most 253
 * characters) or its namespace (an RFC 1123 label of at most 63; absent, null or "" means
 * "default"), or the object has no metadata to name it.
 */
const badlyNamed = (o: Obj): boolean => {
  if (!isRecord(o.metadata)) return true
  const { name, namespace } = o.metadata
  const goodName = typeof name === "string" && name.length <= 253 && RFC1123_SUBDOMAIN.test(name)
  const goodNamespace =
    namespace === undefined ||
    namespace === null ||
    namespace === "" ||
    (typeof namespace === "string" && namespace.length <= 63 && RFC1123_LABEL.test(namespace))
  return !goodName || !goodNamespace
}

// ---------------------------------------------------------------------------------------------
// The properties, as checks of one case
// ---------------------------------------------------------------------------------------------

const GATEWAY_API_KINDS = new Set([
  "GatewayClass",
  "Gateway",
  "ListenerSet",
  "BackendTLSPolicy",
  "ReferenceGrant",
  ...ROUTE_KINDS
])

/**
 * 1. No exception, JSON output, an error for every non-object and for every object of a kind
 * Portico reads whose name or namespace Kubernetes would reject, only Gateway API kinds in `objects`.
 */
/** The printable part of a result: `statuses` holds functions (the status writer's recompute). */
const printable = (result: ReturnType<typeof translateObjects>) => {
  const { statuses: _functions, ...rest } = result
  return rest
}

const wellFormed = (input: ReadonlyArray<unknown>): void => {
  const result = printable(translateObjects(input))
  check(isJson(result), () => `output is not JSON: ${nonJsonAt(result)}`)

  for (const e of result.errors) {
    check(Number.isInteger(e.index) && e.index >= 0 && e.index < input.length, () => `error index ${e.index}`)
    check(typeof e.message === "string" && e.message !== "", () => `error without a message at ${e.index}`)
  }
  const hasError = (i: number): boolean => result.errors.some((e) => e.index === i)
  input.forEach((o, i) => {
    if (!isRecord(o)) check(hasError(i), () => `the non-object at ${i} has no error`)
    else if (badlyNamed(o) && decodeResource(o)._tag !== "Ignored")
      check(hasError(i), () => `the ${String(o.kind)} at ${i}, named ${JSON.stringify(o.metadata)}, has no error`)
  })
  for (const o of result.objects) check(GATEWAY_API_KINDS.has(o.kind), () => `kind ${o.kind} in objects`)
}

/** 2. Same input, same output; distinct-named objects in another order, same objects and IR. */
const deterministic = (input: ReadonlyArray<unknown>, seed: number): void => {
  const first = translateObjects(input)
  deepStrictEqual(printable(translateObjects(input)), printable(first), "a second translation differs")
  const distinct = distinctByName(input)
  const inOrder = distinct.length === input.length ? first : translateObjects(distinct)
  const reordered = translateObjects(shuffled(distinct, seed))
  deepStrictEqual(
    { objects: reordered.objects, ir: reordered.ir },
    { objects: inOrder.objects, ir: inOrder.ir },
    "the order of the input changed the output"
  )
}

/** 3. Gateway conditions and one listener status per spec listener; other Gateways untouched. */
const gatewayStatuses = ({ model, out }: Observed): void => {
  for (const g of model.gateways.values()) {
    const id = `Gateway ${g.namespace}/${g.name}`
    const o = out("Gateway", g.namespace, g.name)
    check(o !== undefined, () => `${id} is missing from the output`)
    if (!model.ourClasses.has(g.gateway.spec.gatewayClassName)) {
      deepStrictEqual(o?.status, g.raw.status, `${id} of another class got a status`)
      continue
    }
    const gen = g.gateway.metadata.generation
    const status = recordOf(o?.status)
    const conditions = conditionsOf(status.conditions)
    for (const type of ["Accepted", "Programmed"]) {
      check(conditions.filter((c) => c.type === type).length === 1, () => `${id}: not one ${type} condition`)
    }
    for (const c of conditions) {
      check(
        c.observedGeneration === gen,
        () => `${id}: ${String(c.type)} observedGeneration ${String(c.observedGeneration)}, generation ${gen}`
      )
    }
    const listeners = arrayOf(status.listeners).map(recordOf)
    deepStrictEqual(
      listeners.map((l) => l.name).sort(),
      g.gateway.spec.listeners.map((l) => l.name).sort(),
      `${id}: listener statuses`
    )
    for (const l of listeners) {
      const lid = `${id} listener ${String(l.name)}`
      const lc = conditionsOf(l.conditions)
      for (const type of ["Accepted", "Programmed", "ResolvedRefs", "Conflicted"]) {
        check(lc.filter((c) => c.type === type).length === 1, () => `${lid}: not one ${type} condition`)
      }
      for (const c of lc)
        check(c.observedGeneration === gen, () => `${lid}: observedGeneration ${String(c.observedGeneration)}`)
      const n = l.attachedRoutes
      check(typeof n === "number" && Number.isInteger(n) && n >= 0, () => `${lid}: attachedRoutes ${String(n)}`)
    }
  }
}

/** 4. Per route: one entry of ours per parentRef to our Gateways, valid reasons, none for other parents. */
const routeParents = ({ model, out }: Observed): void => {
  for (const r of model.routes) {
    const id = `${r.kind} ${r.namespace}/${r.name}`
    const o = out(r.kind, r.namespace, r.name)
    check(o !== undefined, () => `${id} is missing from the output`)
    const ours = ourParentEntries(o?.status)
    for (const p of r.parentRefs) {
      const g = gatewayKeyOf(p, r.namespace)
      if (g === undefined || !model.ourGateways.has(g)) continue
      const n = ours.filter((e) => sameParentRef(e.parentRef, p)).length
      check(n === 1, () => `${id}: ${n} status entries of ours for parentRef ${JSON.stringify(p)}`)
    }
    for (const e of ours) {
      const ref = recordOf(e.parentRef)
      check(
        typeof ref.group === "string" && typeof ref.kind === "string",
        () => `${id}: parentRef without group or kind`
      )
      const gateway = gatewayKeyOf(ref, r.namespace)
      const set =
        ref.group === GATEWAY_GROUP && ref.kind === "ListenerSet"
          ? model.listenerSets.get(
              keyOf(typeof ref.namespace === "string" ? ref.namespace : r.namespace, String(ref.name))
            )
          : undefined
      const parentIsOurs =
        (gateway !== undefined && model.ourGateways.has(gateway)) ||
        (set !== undefined &&
          model.ourGateways.has(gatewayKeyOf(set.spec.parentRef, set.metadata.namespace ?? "default") ?? ""))
      check(
        parentIsOurs && r.parentRefs.some((p) => sameParentRef(ref, p)),
        () => `${id}: an entry of ours for ${JSON.stringify(ref)}, which is no parentRef to one of our Gateways`
      )
      const conditions = conditionsOf(e.conditions)
      const accepted = conditions.filter((c) => c.type === "Accepted")
      const resolved = conditions.filter((c) => c.type === "ResolvedRefs")
      check(
        accepted.length === 1 && resolved.length === 1,
        () => `${id}: not one Accepted and one ResolvedRefs condition`
      )
      const reason = String(accepted[0]?.reason)
      check(ROUTE_ACCEPTED_REASONS.has(reason), () => `${id}: Accepted reason ${reason}`)
      check(
        ROUTE_RESOLVED_REASONS.has(String(resolved[0]?.reason)),
        () => `${id}: ResolvedRefs reason ${String(resolved[0]?.reason)}`
      )
      for (const c of conditions)
        check(c.observedGeneration === r.generation, () => `${id}: observedGeneration ${String(c.observedGeneration)}`)
    }
    const outParents = arrayOf(recordOf(o?.status).parents)
    for (const p of arrayOf(recordOf(r.raw.status).parents)) {
      if (!isRecord(p) || typeof p.controllerName !== "string" || p.controllerName === CONTROLLER) continue
      check(outParents.includes(p), () => `${id}: the entry of ${String(p.controllerName)} was dropped`)
    }
  }
}

/** 5. attachedRoutes: 0 everywhere without accepted routes; per listener, between exact bounds. */
const attachedRoutes = ({ model, result, out }: Observed): void => {
  const routes = model.routes.map((r) => ({ r, entries: ourParentEntries(out(r.kind, r.namespace, r.name)?.status) }))
  const anyAccepted = routes.some(({ entries }) => entries.some(isAcceptedEntry))
  for (const o of result.objects) {
    if (o.kind !== "Gateway" && o.kind !== "ListenerSet") continue
    for (const l of arrayOf(recordOf(o.status).listeners).map(recordOf)) {
      check(
        anyAccepted || l.attachedRoutes === 0,
        () =>
          `${o.kind} ${o.metadata.name} listener ${String(l.name)}: attachedRoutes ${String(l.attachedRoutes)}, no route accepted`
      )
    }
  }
  for (const [k, g] of model.ourGateways) {
    const statuses = arrayOf(recordOf(out("Gateway", g.namespace, g.name)?.status).listeners).map(recordOf)
    for (const l of g.gateway.spec.listeners) {
      const count = statuses.find((s) => s.name === l.name)?.attachedRoutes
      /** Routes accepted for a parentRef to this Gateway that selects `l` (by section name, or possibly). */
      const routesSelecting = (exactly: boolean): number =>
        routes.filter(({ r, entries }) =>
          entries.some((e) => {
            const ref = recordOf(e.parentRef)
            const section = exactly
              ? ref.sectionName === l.name
              : ref.sectionName === undefined || ref.sectionName === l.name
            return (
              isAcceptedEntry(e) &&
              gatewayKeyOf(ref, r.namespace) === k &&
              section &&
              (ref.port === undefined || ref.port === l.port)
            )
          })
        ).length
      const least = routesSelecting(true)
      const most = routesSelecting(false)
      check(
        typeof count === "number" && count >= least && count <= most,
        () =>
          `Gateway ${g.namespace}/${g.name} listener ${l.name}: attachedRoutes ${String(count)} not in [${least}, ${most}]`
      )
    }
  }
}

/** 6. IR: fleets of accepted Gateways, route names and kinds, ports (listeners and endpoints), weights, invalid backends. */
const irConsistent = ({ model, result, out }: Observed): void => {
  const { xds, infra } = result.ir
  deepStrictEqual(
    infra.fleets.map((f) => f.name),
    xds.fleets.map((f) => f.name),
    "xds and infra fleets"
  )
  const accepted = [...model.ourGateways.values()].filter(
    (g) => conditionOf(recordOf(out("Gateway", g.namespace, g.name)?.status).conditions, "Accepted")?.status === "True"
  )
  deepStrictEqual(
    xds.fleets.map((f) => keyOf(f.gateway.namespace, f.gateway.name)).sort(),
    accepted.map((g) => keyOf(g.namespace, g.name)).sort(),
    "one fleet per accepted Gateway of ours"
  )
  const acceptedRoute = (kind: string, namespace: string, name: string): RouteView | undefined => {
    const r = model.routes.find((x) => x.kind === kind && x.namespace === namespace && x.name === name)
    return r !== undefined && ourParentEntries(out(kind, namespace, name)?.status).some(isAcceptedEntry) ? r : undefined
  }
  const checkDestination = (d: DestinationIR, prefix: string): void => {
    check(d.name === prefix || d.name.startsWith(`${prefix}/mirror/`), () => `destination ${d.name} of ${prefix}`)
    for (const s of d.settings) {
      check(Number.isInteger(s.weight) && s.weight >= 0, () => `${d.name}: weight ${s.weight}`)
      if (s.invalid !== undefined) {
        check(
          s.invalid.reason !== "" && s.invalid.message !== "",
          () => `${d.name}: invalid without a reason or message`
        )
        check(s.endpoints.length === 0, () => `${d.name}: an invalid backend with endpoints`)
      }
      for (const e of s.endpoints) {
        check(
          Number.isInteger(e.port) && e.port >= 1 && e.port <= 65535,
          () => `${d.name}: endpoint ${e.address}:${e.port}`
        )
      }
      const b = s.backend
      const resolvable = b.kind === "Service" && b.port !== undefined && model.services.has(keyOf(b.namespace, b.name))
      check(
        resolvable || s.invalid !== undefined,
        () => `${d.name}: backend ${JSON.stringify(b)} is not marked invalid`
      )
    }
  }
  for (const fleet of xds.fleets) {
    const slots = new Set<string>()
    for (const l of fleet.listeners) {
      check(Number.isInteger(l.port) && l.port >= 1 && l.port <= 65535, () => `${fleet.name}: listener port ${l.port}`)
      const slot = `${l.type === "UDP" ? "UDP" : "TCP"}/${l.port}`
      check(!slots.has(slot), () => `${fleet.name}: two listeners on ${slot}`)
      slots.add(slot)
      const { http, l4 } = routesOfListener(l)
      for (const route of http) {
        const src = route.source
        const prefix = `${src.kind.toLowerCase()}/${src.namespace}/${src.name}/rule/${src.rule}`
        check(
          route.name.startsWith(`${prefix}/match/${src.match}/`),
          () => `route ${route.name}, source ${JSON.stringify(src)}`
        )
        check(src.kind === "HTTPRoute" || src.kind === "GRPCRoute", () => `route ${route.name} of a ${src.kind}`)
        const r = acceptedRoute(src.kind, src.namespace, src.name)
        check(
          r !== undefined && src.rule < r.ruleCount,
          () => `route ${route.name}: no accepted ${src.kind} with that rule`
        )
        for (const d of destinationsOf(route)) checkDestination(d, prefix)
      }
      for (const { route, kinds } of l4) {
        const owner = model.routes.find(
          (r) =>
            kinds.includes(r.kind) && route.name.startsWith(`${r.kind.toLowerCase()}/${r.namespace}/${r.name}/rule/`)
        )
        check(
          owner !== undefined,
          () => `route ${route.name} on a ${l.type} listener is of none of ${kinds.join(", ")}`
        )
        if (owner === undefined) continue
        const rule = route.name.slice(`${owner.kind.toLowerCase()}/${owner.namespace}/${owner.name}/rule/`.length)
        check(/^\d+$/.test(rule) && Number(rule) < owner.ruleCount, () => `route ${route.name}: rule ${rule}`)
        check(
          acceptedRoute(owner.kind, owner.namespace, owner.name) !== undefined,
          () => `route ${route.name}: not accepted`
        )
        check(route.destination.name === route.name, () => `route ${route.name}: destination ${route.destination.name}`)
        checkDestination(route.destination, route.name)
      }
    }
    const ports = infra.fleets.find((f) => f.name === fleet.name)?.ports ?? []
    deepStrictEqual(ports.map((p) => `${p.protocol}/${p.port}`).sort(), [...slots].sort(), `${fleet.name}: infra ports`)
  }
}

/** 7. Next to any generated objects (never named like it), the base route stays accepted and routed. */
const baseSurvives = (garbage: ReadonlyArray<unknown>, at: number): void => {
  const input = [...garbage]
  input.splice(at % (garbage.length + 1), 0, ...baseObjects())
  const { out, result } = observe(input)
  const entries = ourParentEntries(out("HTTPRoute", BASE.namespace, BASE.route)?.status)
  check(entries.length === 1, () => `the base route has ${entries.length} status entries of ours`)
  const conditions = entries[0]?.conditions
  check(
    conditionOf(conditions, "Accepted")?.status === "True",
    () => `base route not accepted: ${JSON.stringify(conditions)}`
  )
  check(
    conditionOf(conditions, "ResolvedRefs")?.status === "True",
    () => `base route refs: ${JSON.stringify(conditions)}`
  )
  const fleet = result.ir.xds.fleets.find(
    (f) => f.gateway.namespace === BASE.namespace && f.gateway.name === BASE.gateway
  )
  const listener = fleet?.listeners.find((l) => l.port === 80 && l.type === "HTTP")
  const name = `httproute/${BASE.namespace}/${BASE.route}/rule/0/match/0/*`
  check(
    listener !== undefined && routesOfListener(listener).http.some((r) => r.name === name),
    () => `the base route is missing from the IR: ${JSON.stringify(fleet)}`
  )
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------

const G1 = `${GATEWAY_GROUP}/v1`

/**
 * Fixed translator bug 1 (found by property 1): a route with no parent of ours and no previous
 * status was printed with a `status` key whose value is undefined (since the fix of bug A,
 * routeStatus returns the absent previous status and translateObjects sets it; before, such a route
 * had no `status` key). JSON and YAML printing drop the key, but the result is no plain JSON data:
 * `"status" in o`, or a comparison with the parsed output, tells the difference. fast-check
 * (PORTICO_FC_SEED=1, first case, shrunk) gives `$.objects[2].status is undefined` on a scene whose
 * HTTPRoute default/r-a has the one parentRef {kind: Gateway, namespace: default, name: base-gw,
 * port: 1} (no Gateway of that name) and no status; trimmed by hand to this.
 */
const UNDEFINED_STATUS: ReadonlyArray<unknown> = [
  { apiVersion: G1, kind: "HTTPRoute", metadata: { name: "r" }, spec: {} }
]

/**
 * Fixed translator bug 2 (found by property 1): a namespaced object whose metadata.namespace is not
 * a string (false, 7, [], {...}) is no schema error: decodeResource puts it in "default" (as if the
 * namespace were absent) and it is translated there, printed back with its non-string namespace.
 * The API server rejects such an object, and bug G's fix says a namespace must be an RFC 1123
 * label. fast-check (PORTICO_FC_SEED=2 with bug 1 tolerated, shrunk): `the TCPRoute at 5, named
 * {"name":"r-a","namespace":false,...}, has no error`, a TCPRoute of a scene with parentRefs
 * [{namespace: default, name: gw-a}, ...]; trimmed by hand to this.
 */
const NON_STRING_NAMESPACE: ReadonlyArray<unknown> = [
  { apiVersion: G1, kind: "GatewayClass", metadata: { name: "gc" }, spec: { controllerName: CONTROLLER } },
  {
    apiVersion: G1,
    kind: "Gateway",
    metadata: { name: "gw", namespace: false },
    spec: { gatewayClassName: "gc", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] }
  }
]

describe("translateObjects properties", () => {
  // Replays the counterexamples of two fixed bugs first: UNDEFINED_STATUS (a route with nothing of
  // ours printed `status: undefined`) and NON_STRING_NAMESPACE (a non-string namespace was put in
  // "default" instead of being a schema error).
  it(
    "1. never throws; JSON output; an error per non-object and per rejected name; only Gateway API kinds in objects",
    () => {
      fc.assert(fc.property(world, wellFormed), replaying(UNDEFINED_STATUS, NON_STRING_NAMESPACE))
    },
    TIMEOUT
  )

  it(
    "2. is deterministic, and independent of the order of objects with distinct names",
    () => {
      fc.assert(fc.property(world, fc.integer(), deterministic), params())
    },
    TIMEOUT
  )

  it(
    "3. every Gateway of our classes has Accepted, Programmed and one status per listener",
    () => {
      fc.assert(
        fc.property(world, (input) => gatewayStatuses(observe(input))),
        params()
      )
    },
    TIMEOUT
  )

  it(
    "4. routes have one entry of ours per parentRef to our Gateways, with Gateway API reasons, and none for others",
    () => {
      fc.assert(
        fc.property(world, (input) => routeParents(observe(input))),
        params()
      )
    },
    TIMEOUT
  )

  it(
    "5. attachedRoutes counts the distinct routes accepted for a parent selecting the listener",
    () => {
      fc.assert(
        fc.property(world, (input) => attachedRoutes(observe(input))),
        params()
      )
    },
    TIMEOUT
  )

  it(
    "6. the IR agrees with the statuses: fleets, route names, ports, weights, invalid backends",
    () => {
      fc.assert(
        fc.property(world, (input) => irConsistent(observe(input))),
        params()
      )
    },
    TIMEOUT
  )

  it(
    "7. invalid or unrelated objects never remove a valid neighbour",
    () => {
      fc.assert(fc.property(fc.array(generatedInput, { maxLength: 8 }), fc.nat(), baseSurvives), params())
    },
    TIMEOUT
  )
})

// ---------------------------------------------------------------------------------------------
// Regressions: the bugs A-G these properties found, each on its minimal counterexample
// ---------------------------------------------------------------------------------------------

const ourClass = {
  apiVersion: G1,
  kind: "GatewayClass",
  metadata: { name: "gc" },
  spec: { controllerName: CONTROLLER }
}
const gatewayWith = (listeners: ReadonlyArray<Obj>): Obj => ({
  apiVersion: G1,
  kind: "Gateway",
  metadata: { name: "gw" },
  spec: { gatewayClassName: "gc", listeners }
})
const routeTo = (kind: string, name: string, spec: Obj, extra: Obj = {}): Obj => ({
  apiVersion: G1,
  kind,
  metadata: { name },
  spec: { parentRefs: [{ name: "gw" }], ...spec },
  ...extra
})
const HTTP_80 = { name: "http", port: 80, protocol: "HTTP" }
const service = (name: string, port: number): Obj => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { clusterIP: "10.96.0.1", ports: [{ port }] }
})
const statusEntry = (controllerName: string, gateway: string): Obj => ({
  parentRef: { group: GATEWAY_GROUP, kind: "Gateway", name: gateway },
  controllerName,
  conditions: [
    {
      type: "Accepted",
      status: "True",
      reason: "Accepted",
      message: "",
      observedGeneration: 1,
      lastTransitionTime: "2024-01-01T00:00:00Z"
    }
  ]
})

/** The one output object of `kind` default/`name`; fails when it is missing. */
const outputOf = (observed: Observed, kind: string, name: string): KubeObject => {
  const o = observed.out(kind, "default", name)
  check(o !== undefined, () => `${kind} default/${name} is missing from the output`)
  return o as KubeObject
}

/** The conditions of the single status entry of ours of a route. */
const onlyEntryOf = (observed: Observed, kind: string, name: string): ReadonlyArray<ConditionView> => {
  const entries = ourParentEntries(outputOf(observed, kind, name).status)
  check(entries.length === 1, () => `${kind} ${name}: ${entries.length} status entries of ours`)
  return conditionsOf(entries[0]?.conditions)
}

const conditionSummary = (conditions: ReadonlyArray<ConditionView>, type: string): string => {
  const c = conditions.find((x) => x.type === type)
  return c === undefined ? "absent" : `${String(c.status)}/${String(c.reason)}`
}

/** Names of the HTTP routes of the IR (all fleets, all listeners). */
const irHttpRouteNames = (result: TranslateResult): ReadonlyArray<string> =>
  result.ir.xds.fleets.flatMap((f) => f.listeners.flatMap((l) => routesOfListener(l).http.map((r) => r.name)))

const externalAuth = {
  type: "ExternalAuth",
  externalAuth: { protocol: "HTTP", backendRef: { name: "svc", port: 8080 } }
}

describe("regressions of the translator bugs found by these properties", () => {
  it("A: a route without a parent of ours loses its stale entries of ours and keeps the others'", () => {
    const theirs = statusEntry(OTHER_CONTROLLER, "their-gw")
    const input = [routeTo("HTTPRoute", "r", {}, { status: { parents: [statusEntry(CONTROLLER, "gw"), theirs] } })]
    const observed = observe(input)
    deepStrictEqual(outputOf(observed, "HTTPRoute", "r").status, { parents: [theirs] })
    routeParents(observed)
  })

  it("A: a route with nothing of ours, before or now, keeps its status as it was", () => {
    const status = { parents: [statusEntry(OTHER_CONTROLLER, "their-gw")] }
    const observed = observe([routeTo("HTTPRoute", "r", {}, { status })])
    deepStrictEqual(outputOf(observed, "HTTPRoute", "r").status, status)
  })

  it("B: identical parentRefs are one parent with one status entry", () => {
    const observed = observe([
      ourClass,
      gatewayWith([HTTP_80]),
      routeTo("HTTPRoute", "r", { parentRefs: [{ name: "gw" }, { name: "gw" }] })
    ])
    deepStrictEqual(conditionSummary(onlyEntryOf(observed, "HTTPRoute", "r"), "Accepted"), "True/Accepted")
    routeParents(observed)
    attachedRoutes(observed)
    const listeners = arrayOf(recordOf(outputOf(observed, "Gateway", "gw").status).listeners).map(recordOf)
    deepStrictEqual(
      listeners.map((l) => l.attachedRoutes),
      [1]
    )
  })

  it("C: an ExternalAuth filter drops its only rule: Accepted=False/UnsupportedValue, refs resolved", () => {
    const observed = observe([
      ourClass,
      gatewayWith([HTTP_80]),
      routeTo("HTTPRoute", "r", { rules: [{ filters: [externalAuth] }] })
    ])
    const conditions = onlyEntryOf(observed, "HTTPRoute", "r")
    deepStrictEqual(conditionSummary(conditions, "Accepted"), "False/UnsupportedValue")
    check(
      conditionOf(conditions, "ResolvedRefs")?.reason !== "UnsupportedValue",
      () => "ResolvedRefs reason UnsupportedValue"
    )
    deepStrictEqual(irHttpRouteNames(observed.result), [])
    routeParents(observed)
    irConsistent(observed)
  })

  it("C: an ExternalAuth filter drops its rule, the others are served: PartiallyInvalid=True/UnsupportedValue", () => {
    const observed = observe([
      ourClass,
      gatewayWith([HTTP_80]),
      routeTo("HTTPRoute", "r", { rules: [{ filters: [externalAuth] }, {}] })
    ])
    const conditions = onlyEntryOf(observed, "HTTPRoute", "r")
    deepStrictEqual(conditionSummary(conditions, "Accepted"), "True/Accepted")
    deepStrictEqual(conditionSummary(conditions, "ResolvedRefs"), "True/ResolvedRefs")
    deepStrictEqual(conditionSummary(conditions, "PartiallyInvalid"), "True/UnsupportedValue")
    const entry = ourParentEntries(outputOf(observed, "HTTPRoute", "r").status)[0]
    const message = recordOf(arrayOf(entry?.conditions).find((c) => recordOf(c).type === "PartiallyInvalid")).message
    check(
      typeof message === "string" && message.startsWith("Dropped Rule") && message.includes("ExternalAuth"),
      () => `PartiallyInvalid message ${String(message)}`
    )
    const names = irHttpRouteNames(observed.result)
    check(
      names.length > 0 && names.every((n) => n.startsWith("httproute/default/r/rule/1/")),
      () => `IR routes ${JSON.stringify(names)}: rule 1 only`
    )
    routeParents(observed)
    irConsistent(observed)
  })

  it("D: a Gateway with two listeners of one name is a schema error naming spec.listeners and the name", () => {
    const input = [
      ourClass,
      gatewayWith([
        { name: "l", port: 443, protocol: "TCP" },
        { name: "l", port: 53, protocol: "UDP" }
      ]),
      routeTo("UDPRoute", "r", {
        parentRefs: [{ name: "gw", sectionName: "l", port: 53 }],
        rules: [{ backendRefs: [{ name: "svc", port: 53 }] }]
      })
    ]
    const observed = observe(input)
    const errors = observed.result.errors.filter((e) => e.index === 1)
    check(
      errors.some((e) => e.kind === "Gateway" && e.path === "spec.listeners" && e.message.includes('"l"')),
      () => `errors ${JSON.stringify(observed.result.errors)}`
    )
    check(observed.out("Gateway", "default", "gw") === undefined, () => "the Gateway is in the output")
    deepStrictEqual(observed.result.ir.xds.fleets, [])
    routeParents(observed)
  })

  it("D: a ListenerSet with two listeners of one name is a schema error naming spec.listeners and the name", () => {
    const input = [
      ourClass,
      {
        ...gatewayWith([HTTP_80]),
        spec: { gatewayClassName: "gc", listeners: [HTTP_80], allowedListeners: { namespaces: { from: "Same" } } }
      },
      {
        apiVersion: G1,
        kind: "ListenerSet",
        metadata: { name: "ls" },
        spec: {
          parentRef: { name: "gw" },
          listeners: [
            { name: "x", port: 8080, protocol: "HTTP" },
            { name: "x", port: 8081, protocol: "HTTP" }
          ]
        }
      }
    ]
    const observed = observe(input)
    check(
      observed.result.errors.some(
        (e) => e.index === 2 && e.kind === "ListenerSet" && e.path === "spec.listeners" && e.message.includes('"x"')
      ),
      () => `errors ${JSON.stringify(observed.result.errors)}`
    )
    check(observed.out("ListenerSet", "default", "ls") === undefined, () => "the ListenerSet is in the output")
    gatewayStatuses(observed)
    irConsistent(observed)
  })

  for (const older of ["HTTPRoute", "GRPCRoute"] as const) {
    it(`E: of an HTTPRoute and a GRPCRoute with intersecting hostnames, the younger gets HostnameConflict (older: ${older})`, () => {
      const created = (kind: string): Obj => ({
        metadata: {
          name: kind === "HTTPRoute" ? "r" : "g",
          creationTimestamp: kind === older ? "2024-01-01T00:00:00Z" : "2024-06-01T00:00:00Z"
        }
      })
      const observed = observe([
        ourClass,
        gatewayWith([HTTP_80]),
        { ...routeTo("HTTPRoute", "r", {}), ...created("HTTPRoute") },
        { ...routeTo("GRPCRoute", "g", {}), ...created("GRPCRoute") }
      ])
      const younger = older === "HTTPRoute" ? "GRPCRoute" : "HTTPRoute"
      const nameOf = (kind: string): string => (kind === "HTTPRoute" ? "r" : "g")
      deepStrictEqual(conditionSummary(onlyEntryOf(observed, older, nameOf(older)), "Accepted"), "True/Accepted")
      deepStrictEqual(
        conditionSummary(onlyEntryOf(observed, younger, nameOf(younger)), "Accepted"),
        "False/HostnameConflict"
      )
      routeParents(observed)
      attachedRoutes(observed)
      irConsistent(observed)
    })
  }

  it("F: EndpointSlice ports outside 1..65535 are ignored; the in-range endpoints stay", () => {
    const slice = (name: string, address: string, port: number): Obj => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name, labels: { "kubernetes.io/service-name": "svc" } },
      addressType: "IPv4",
      endpoints: [{ addresses: [address] }],
      ports: [{ port }]
    })
    const observed = observe([
      ourClass,
      gatewayWith([HTTP_80]),
      routeTo("HTTPRoute", "r", { rules: [{ backendRefs: [{ name: "svc", port: 8080 }] }] }),
      service("svc", 8080),
      slice("svc-1", "10.0.0.1", 70000),
      slice("svc-2", "10.0.0.2", 0),
      slice("svc-3", "10.0.0.3", 9090)
    ])
    const endpoints = observed.result.ir.xds.fleets.flatMap((f) =>
      f.listeners.flatMap((l) =>
        routesOfListener(l).http.flatMap((r) =>
          destinationsOf(r).flatMap((d) => d.settings.flatMap((s) => s.endpoints.map((e) => `${e.address}:${e.port}`)))
        )
      )
    )
    deepStrictEqual(endpoints, ["10.0.0.3:9090"])
    irConsistent(observed)
  })

  it("G: names and namespaces Kubernetes rejects are schema errors; the input order does not matter", () => {
    const input = [
      ourClass,
      { ...gatewayWith([HTTP_80]), metadata: { namespace: "a", name: "b/gw" } },
      { ...gatewayWith([{ name: "tcp", port: 81, protocol: "TCP" }]), metadata: { namespace: "a/b", name: "gw" } },
      { ...gatewayWith([HTTP_80]), metadata: { name: "x".repeat(254) } },
      { ...gatewayWith([HTTP_80]), metadata: { namespace: "x".repeat(64), name: "gw" } },
      { ...gatewayWith([HTTP_80]), metadata: { namespace: "a.b", name: "gw" } }
    ]
    const { result } = observe(input)
    const paths = [1, 2, 3, 4, 5].map((i) =>
      result.errors
        .filter((e) => e.index === i)
        .map((e) => e.path)
        .join(", ")
    )
    deepStrictEqual(paths, [
      "metadata.name",
      "metadata.namespace",
      "metadata.name",
      "metadata.namespace",
      "metadata.namespace"
    ])
    deepStrictEqual(
      result.objects.map((o) => o.kind),
      ["GatewayClass"]
    )
    deepStrictEqual(result.ir.xds.fleets, [])
    wellFormed(input)
    for (let seed = 0; seed < 20; seed++) deterministic(input, seed)
    const reversed = translateObjects([...input].reverse())
    deepStrictEqual({ objects: reversed.objects, ir: reversed.ir }, { objects: result.objects, ir: result.ir })
  })

  it("G: the longest valid name (253) and namespace (63) are translated", () => {
    const name = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`
    const namespace = "n".repeat(63)
    const input = [ourClass, { ...gatewayWith([HTTP_80]), metadata: { namespace, name } }]
    const observed = observe(input)
    deepStrictEqual(observed.result.errors, [])
    deepStrictEqual(
      observed.result.ir.xds.fleets.map((f) => `${f.gateway.namespace}/${f.gateway.name}`),
      [`${namespace}/${name}`]
    )
    gatewayStatuses(observed)
  })
})
