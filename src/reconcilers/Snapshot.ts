/**
 * The immutable ResourceSnapshot every reconciler reads: all watched objects,
 * decoded, grouped by kind and indexed for the look-ups translation needs.
 */
import type { ConfigMap } from "../api/core/ConfigMap.ts"
import type { EndpointSlice } from "../api/core/EndpointSlice.ts"
import type { Namespace } from "../api/core/Namespace.ts"
import type { Secret } from "../api/core/Secret.ts"
import type { Service } from "../api/core/Service.ts"
import type { BackendTLSPolicy } from "../api/gatewayapi/BackendTLSPolicy.ts"
import type { Gateway } from "../api/gatewayapi/Gateway.ts"
import type { GatewayClass } from "../api/gatewayapi/GatewayClass.ts"
import type { GRPCRoute } from "../api/gatewayapi/GRPCRoute.ts"
import type { HTTPRoute } from "../api/gatewayapi/HTTPRoute.ts"
import type { ListenerSet } from "../api/gatewayapi/ListenerSet.ts"
import type { ReferenceGrant } from "../api/gatewayapi/ReferenceGrant.ts"
import type { TCPRoute } from "../api/gatewayapi/TCPRoute.ts"
import type { TLSRoute } from "../api/gatewayapi/TLSRoute.ts"
import type { UDPRoute } from "../api/gatewayapi/UDPRoute.ts"
import type { Resource } from "../api/Resource.ts"

export interface ResourceSnapshot {
  readonly gatewayClasses: ReadonlyArray<GatewayClass>
  readonly gateways: ReadonlyArray<Gateway>
  readonly listenerSets: ReadonlyArray<ListenerSet>
  readonly httpRoutes: ReadonlyArray<HTTPRoute>
  readonly grpcRoutes: ReadonlyArray<GRPCRoute>
  readonly tlsRoutes: ReadonlyArray<TLSRoute>
  readonly tcpRoutes: ReadonlyArray<TCPRoute>
  readonly udpRoutes: ReadonlyArray<UDPRoute>
  readonly referenceGrants: ReadonlyArray<ReferenceGrant>
  readonly backendTLSPolicies: ReadonlyArray<BackendTLSPolicy>
  readonly namespaces: ReadonlyMap<string, Namespace>
  /** Keyed by `namespace/name`. */
  readonly services: ReadonlyMap<string, Service>
  /** Keyed by `namespace/serviceName` (label kubernetes.io/service-name). */
  readonly endpointSlices: ReadonlyMap<string, ReadonlyArray<EndpointSlice>>
  readonly secrets: ReadonlyMap<string, Secret>
  readonly configMaps: ReadonlyMap<string, ConfigMap>
}

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name"

export const key = (namespace: string, name: string): string => `${namespace}/${name}`

/** Namespace of a namespaced object (decoding defaults it to "default"). */
export const namespaceOf = (o: { readonly metadata: { readonly namespace?: string } }): string =>
  o.metadata.namespace ?? "default"

/** Orders objects by namespace then name (deterministic output). */
export const byNamespacedName = <
  A extends { readonly metadata: { readonly name: string; readonly namespace?: string } }
>(
  a: A,
  b: A
): number => {
  const na = namespaceOf(a)
  const nb = namespaceOf(b)
  if (na !== nb) return na < nb ? -1 : 1
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0
}

/** Builds a snapshot; a later object with the same kind/namespace/name replaces an earlier one. */
export const makeSnapshot = (resources: Iterable<Resource>): ResourceSnapshot => {
  const byKind = new Map<string, Map<string, Resource>>()
  for (const r of resources) {
    let m = byKind.get(r.kind)
    if (m === undefined) {
      m = new Map()
      byKind.set(r.kind, m)
    }
    m.set(key(r.metadata.namespace ?? "", r.metadata.name), r)
  }
  const list = <K extends Resource["kind"]>(kind: K): ReadonlyArray<Extract<Resource, { kind: K }>> =>
    [...(byKind.get(kind)?.values() ?? [])].sort(byNamespacedName) as unknown as ReadonlyArray<
      Extract<Resource, { kind: K }>
    >
  const mapOf = <K extends Resource["kind"]>(kind: K): ReadonlyMap<string, Extract<Resource, { kind: K }>> => {
    const out = new Map<string, Extract<Resource, { kind: K }>>()
    for (const r of list(kind)) out.set(key(namespaceOf(r), r.metadata.name), r)
    return out
  }
  const namespaces = new Map<string, Namespace>()
  for (const n of list("Namespace")) namespaces.set(n.metadata.name, n)
  const endpointSlices = new Map<string, Array<EndpointSlice>>()
  for (const s of list("EndpointSlice")) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL]
    if (svc === undefined) continue
    const k = key(namespaceOf(s), svc)
    const arr = endpointSlices.get(k)
    if (arr === undefined) endpointSlices.set(k, [s])
    else arr.push(s)
  }
  return {
    gatewayClasses: list("GatewayClass"),
    gateways: list("Gateway"),
    listenerSets: list("ListenerSet"),
    httpRoutes: list("HTTPRoute"),
    grpcRoutes: list("GRPCRoute"),
    tlsRoutes: list("TLSRoute"),
    tcpRoutes: list("TCPRoute"),
    udpRoutes: list("UDPRoute"),
    referenceGrants: list("ReferenceGrant"),
    backendTLSPolicies: list("BackendTLSPolicy"),
    namespaces,
    services: mapOf("Service"),
    endpointSlices,
    secrets: mapOf("Secret"),
    configMaps: mapOf("ConfigMap")
  }
}
