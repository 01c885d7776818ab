/**
 * The translation pipeline as one pure function: raw Kubernetes objects in,
 * Gateway API objects with their computed status plus the IR per fleet out.
 * GatewayClass -> Gateway (listeners, ListenerSets) -> routes -> IR + statuses.
 */
import { type DecodeOutcome, decodeResource, isGatewayApiKind, type Resource } from "../api/Resource.ts"
import type { InfraIR } from "../ir/Infra.ts"
import type { XdsIR } from "../ir/Xds.ts"
import type { Condition } from "../status/Conditions.ts"
import { reconcileBackendTLSPolicies } from "./BackendTLSPolicy.ts"
import { buildIR } from "./BuildIR.ts"
import { reconcileGateways } from "./Gateway.ts"
import { reconcileGatewayClasses } from "./GatewayClass.ts"
import { reconcileGRPCRoute } from "./GRPCRoute.ts"
import { reconcileHTTPRoute } from "./HTTPRoute.ts"
import { resolveKindConflicts } from "./KindConflicts.ts"
import { reconcileL4Route } from "./L4Routes.ts"
import { makeParentIndex } from "./RouteParents.ts"
import type { RouteResult } from "./RouteResult.ts"
import { makeSnapshot, type ResourceSnapshot } from "./Snapshot.ts"
import { gatewayStatus, listenerSetStatus, routeStatus } from "./Statuses.ts"

/** A Kubernetes object as printed: the input object with `status` replaced by ours. */
export interface KubeObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string } & Record<string, unknown>
  readonly spec?: unknown
  readonly status?: unknown
  readonly [key: string]: unknown
}

/** An input object that could not be decoded (it violates the schema of its kind). */
export interface TranslateError {
  /** Position of the object in the input array. */
  readonly index: number
  readonly kind: string
  readonly namespace?: string
  readonly name?: string
  /** Field path, e.g. `spec.listeners[0].port`. */
  readonly path: string
  readonly message: string
}

export interface TranslateOptions {
  /** Our GatewayClass controllerName; default `gateway.envoyproxy.io/gatewayclass-controller`. */
  readonly controllerName?: string
}

export interface TranslateResult {
  /** Every Gateway API input object (GatewayClass, Gateway, routes, ListenerSet, BackendTLSPolicy, ReferenceGrant) with our status, sorted by kind, namespace, name. */
  readonly objects: ReadonlyArray<KubeObject>
  /** Objects that violate their kind's schema (excluded from translation). */
  readonly errors: ReadonlyArray<TranslateError>
  /** Kinds present in the input that Portico does not read (e.g. Deployment), as `apiVersion/kind`. */
  readonly ignored: ReadonlyArray<string>
  /** The IR per fleet. */
  readonly ir: { readonly xds: XdsIR; readonly infra: InfraIR }
  /**
   * Our status of each Gateway API object as a function of its current status (keyed
   * `kind/namespace/name`): what a status writer recomputes after a conflict.
   */
  readonly statuses: ReadonlyMap<string, (previous: unknown) => unknown>
}

export const DEFAULT_CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"

const KIND_ORDER = [
  "GatewayClass",
  "Gateway",
  "ListenerSet",
  "HTTPRoute",
  "GRPCRoute",
  "TLSRoute",
  "TCPRoute",
  "UDPRoute",
  "ReferenceGrant",
  "BackendTLSPolicy"
]

export const objectKey = (kind: string, namespace: string | undefined, name: string): string =>
  `${kind}/${namespace ?? ""}/${name}`

export interface Reconciled {
  readonly snapshot: ResourceSnapshot
  /** Computed status per `kind/namespace/name` of each Gateway API object we own a part of. */
  readonly statuses: ReadonlyMap<string, (previous: unknown) => unknown>
  readonly ir: { readonly xds: XdsIR; readonly infra: InfraIR }
}

/** Runs every reconciler over a snapshot. */
export const reconcile = (snapshot: ResourceSnapshot, controllerName: string): Reconciled => {
  const statuses = new Map<string, (previous: unknown) => unknown>()
  const classes = reconcileGatewayClasses(snapshot, controllerName)
  for (const s of classes.statuses) {
    const conditions: ReadonlyArray<Condition> = s.conditions
    statuses.set(objectKey("GatewayClass", undefined, s.object.metadata.name), () => ({ conditions }))
  }
  const { gateways, rejectedListenerSets } = reconcileGateways(snapshot, classes)
  const index = makeParentIndex(gateways, rejectedListenerSets)
  const routes: ReadonlyArray<RouteResult> = resolveKindConflicts([
    ...snapshot.httpRoutes.map((r) => reconcileHTTPRoute(snapshot, index, r)),
    ...snapshot.grpcRoutes.map((r) => reconcileGRPCRoute(snapshot, index, r)),
    ...snapshot.tlsRoutes.map((r) => reconcileL4Route(snapshot, index, r)),
    ...snapshot.tcpRoutes.map((r) => reconcileL4Route(snapshot, index, r)),
    ...snapshot.udpRoutes.map((r) => reconcileL4Route(snapshot, index, r))
  ])
  const attached = new Map<string, number>()
  for (const r of routes) for (const id of r.attachedListeners) attached.set(id, (attached.get(id) ?? 0) + 1)
  for (const g of gateways) {
    statuses.set(objectKey("Gateway", g.namespace, g.name), () => gatewayStatus(g, attached))
    for (const ls of g.listenerSets) {
      statuses.set(objectKey("ListenerSet", ls.object.metadata.namespace, ls.object.metadata.name), () =>
        listenerSetStatus(ls, attached)
      )
    }
  }
  for (const ls of rejectedListenerSets) {
    statuses.set(objectKey("ListenerSet", ls.object.metadata.namespace, ls.object.metadata.name), () =>
      listenerSetStatus(ls, attached)
    )
  }
  for (const r of routes) {
    statuses.set(objectKey(r.kind, r.namespace, r.name), (previous) => routeStatus(r, controllerName, previous))
  }
  for (const p of reconcileBackendTLSPolicies(snapshot, routes, controllerName)) {
    statuses.set(objectKey("BackendTLSPolicy", p.namespace, p.name), (previous) =>
      policyStatus(p.status, controllerName, previous)
    )
  }
  return { snapshot, statuses, ir: buildIR(gateways, routes) }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A policy's status: other controllers' ancestor entries first, kept untouched, then ours. */
const policyStatus = (
  ours: { readonly ancestors: ReadonlyArray<unknown> },
  controllerName: string,
  previous: unknown
): unknown => {
  const others =
    isRecord(previous) && Array.isArray(previous.ancestors)
      ? previous.ancestors.filter((a) => isRecord(a) && a.controllerName !== controllerName)
      : []
  return { ...(isRecord(previous) ? previous : {}), ancestors: [...others, ...ours.ancestors] }
}

export const translateObjects = (objects: ReadonlyArray<unknown>, options: TranslateOptions = {}): TranslateResult => {
  const controllerName = options.controllerName ?? DEFAULT_CONTROLLER_NAME
  const errors: Array<TranslateError> = []
  const ignored = new Set<string>()
  const resources: Array<Resource> = []
  /** The raw input of each decoded Gateway API object (the last one wins), to print back. */
  const raws = new Map<string, Record<string, unknown>>()
  objects.forEach((raw, index) => {
    const outcome: DecodeOutcome = decodeResource(raw)
    switch (outcome._tag) {
      case "Ignored":
        ignored.add(`${outcome.apiVersion}/${outcome.kind}`)
        break
      case "Invalid":
        for (const issue of outcome.issues) {
          errors.push({
            index,
            kind: outcome.kind,
            ...(outcome.namespace === undefined ? {} : { namespace: outcome.namespace }),
            ...(outcome.name === undefined ? {} : { name: outcome.name }),
            path: issue.path,
            message: issue.message
          })
        }
        break
      case "Decoded": {
        const r = outcome.resource
        resources.push(r)
        if (isGatewayApiKind(r.kind) && isRecord(raw))
          raws.set(objectKey(r.kind, r.metadata.namespace, r.metadata.name), raw)
      }
    }
  })
  const { statuses, ir } = reconcile(makeSnapshot(resources), controllerName)
  const out: Array<KubeObject> = []
  for (const [k, raw] of raws) {
    const compute = statuses.get(k)
    const metadata = isRecord(raw.metadata) ? raw.metadata : {}
    const printed = { ...raw, metadata: { ...metadata, name: String(metadata.name ?? "") } } as KubeObject
    const status = compute === undefined ? undefined : compute(raw.status)
    out.push(status === undefined ? printed : { ...printed, status })
  }
  out.sort((a, b) => {
    const ka = KIND_ORDER.indexOf(a.kind)
    const kb = KIND_ORDER.indexOf(b.kind)
    if (ka !== kb) return ka - kb
    const na = `${a.metadata.namespace ?? ""}/${a.metadata.name}`
    const nb = `${b.metadata.namespace ?? ""}/${b.metadata.name}`
    return na < nb ? -1 : na > nb ? 1 : 0
  })
  return { objects: out, errors, ignored: [...ignored].sort(), ir, statuses }
}
