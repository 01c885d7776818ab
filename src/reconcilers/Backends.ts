/**
 * Backend references of routes: permission (ReferenceGrant), existence, port
 * and protocol, and the endpoints behind a Service (EndpointSlices, falling
 * back to the clusterIP only where no slice exists). Pure.
 */
import type { EndpointIR, UpstreamTlsIR } from "../ir/Xds.ts"
import { Reason } from "../status/Conditions.ts"
import { upstreamTlsFor } from "./BackendTLSPolicy.ts"
import { GATEWAY_GROUP } from "./Listeners.ts"
import { isReferenceAllowed, normalizeGroup } from "./ReferenceGrants.ts"
import { key, type ResourceSnapshot } from "./Snapshot.ts"

export interface BackendRefInput {
  readonly group?: string
  readonly kind?: string
  readonly name: string
  readonly namespace?: string
  readonly port?: number
}

export type Transport = "HTTP" | "GRPC" | "TCP" | "UDP"

export type ResolvedBackend =
  | {
      readonly ok: true
      readonly backend: {
        readonly kind: string
        readonly namespace: string
        readonly name: string
        readonly port: number
      }
      readonly endpoints: ReadonlyArray<EndpointIR>
      readonly protocol: "HTTP" | "HTTP2" | "TCP" | "UDP"
      readonly appProtocol?: string
      readonly tls?: UpstreamTlsIR
    }
  | {
      readonly ok: false
      readonly backend: {
        readonly kind: string
        readonly namespace: string
        readonly name: string
        readonly port?: number
      }
      readonly reason: string
      readonly message: string
      /** false: the share answers 500 but the route's ResolvedRefs is not affected. */
      readonly reportInStatus?: boolean
    }

const H2C = "kubernetes.io/h2c"
const WS = "kubernetes.io/ws"
/** appProtocols an HTTP/GRPC route can speak to. */
const HTTP_APP_PROTOCOLS = new Set([H2C, WS, "http", "HTTP", "h2c", "grpc", "kubernetes.io/http"])

export const resolveBackendRef = (
  snapshot: ResourceSnapshot,
  route: { readonly kind: string; readonly namespace: string },
  ref: BackendRefInput,
  transport: Transport
): ResolvedBackend => {
  const group = normalizeGroup(ref.group)
  const kind = ref.kind ?? "Service"
  const namespace = ref.namespace ?? route.namespace
  const desc = { kind, namespace, name: ref.name, ...(ref.port === undefined ? {} : { port: ref.port }) }
  const fail = (reason: string, message: string): ResolvedBackend => ({ ok: false, backend: desc, reason, message })
  if (group !== "" || kind !== "Service") {
    return fail(
      Reason.InvalidKind,
      `backendRef kind ${group === "" ? "" : `${group}/`}${kind} is not supported; use a core Service`
    )
  }
  if (
    !isReferenceAllowed(
      snapshot,
      { group: GATEWAY_GROUP, kind: route.kind, namespace: route.namespace },
      { group: "", kind: "Service", namespace, name: ref.name }
    )
  ) {
    return fail(
      Reason.RefNotPermitted,
      `backendRef to Service ${namespace}/${ref.name} is not permitted by any ReferenceGrant in namespace ${namespace}`
    )
  }
  const svc = snapshot.services.get(key(namespace, ref.name))
  if (svc === undefined) return fail(Reason.BackendNotFound, `Service ${namespace}/${ref.name} not found`)
  if (ref.port === undefined)
    return fail(Reason.BackendNotFound, `backendRef to Service ${namespace}/${ref.name} needs a port`)
  const wantProtocol = transport === "UDP" ? "UDP" : "TCP"
  const svcPort = (svc.spec?.ports ?? []).find((p) => p.port === ref.port && (p.protocol ?? "TCP") === wantProtocol)
  if (svcPort === undefined) {
    return fail(Reason.BackendNotFound, `Service ${namespace}/${ref.name} has no ${wantProtocol} port ${ref.port}`)
  }
  const appProtocol = svcPort.appProtocol
  if (
    (transport === "HTTP" || transport === "GRPC") &&
    appProtocol !== undefined &&
    !HTTP_APP_PROTOCOLS.has(appProtocol) &&
    appProtocol.startsWith("kubernetes.io/")
  ) {
    return fail(
      Reason.UnsupportedProtocol,
      `Service ${namespace}/${ref.name} port ${ref.port} has appProtocol ${appProtocol}, which ${transport === "GRPC" ? "a GRPCRoute" : "an HTTPRoute"} cannot use`
    )
  }
  const protocol: "HTTP" | "HTTP2" | "TCP" | "UDP" =
    transport === "UDP"
      ? "UDP"
      : transport === "TCP"
        ? "TCP"
        : transport === "GRPC" || appProtocol === H2C || appProtocol === "h2c" || appProtocol === "grpc"
          ? "HTTP2"
          : "HTTP"
  const upstream = transport === "UDP" ? undefined : upstreamTlsFor(snapshot, namespace, ref.name, svcPort.name)
  if (upstream !== undefined && "invalid" in upstream) {
    // The route itself is fine (ResolvedRefs stays True); the policy's status says what is wrong.
    return {
      ok: false,
      backend: desc,
      reason: "InvalidBackendTLSPolicy",
      message: upstream.invalid,
      reportInStatus: false
    }
  }
  const tls = upstream?.tls
  return {
    ok: true,
    backend: { kind, namespace, name: ref.name, port: ref.port },
    endpoints: endpointsOf(snapshot, namespace, ref.name, svcPort),
    protocol,
    ...(appProtocol === undefined ? {} : { appProtocol }),
    ...(tls === undefined ? {} : { tls })
  }
}

const endpointsOf = (
  snapshot: ResourceSnapshot,
  namespace: string,
  service: string,
  svcPort: { readonly name?: string; readonly port: number; readonly protocol?: string }
): ReadonlyArray<EndpointIR> => {
  const slices = snapshot.endpointSlices.get(key(namespace, service))
  const svc = snapshot.services.get(key(namespace, service))
  if (slices === undefined || slices.length === 0) {
    if (svc?.spec?.type === "ExternalName" && svc.spec.externalName !== undefined) {
      return [{ address: svc.spec.externalName, port: svcPort.port, health: "Healthy" }]
    }
    const ip = svc?.spec?.clusterIP
    return ip === undefined || ip === "" || ip === "None"
      ? []
      : [{ address: ip, port: svcPort.port, health: "Healthy" }]
  }
  const seen = new Set<string>()
  const out: Array<EndpointIR> = []
  for (const slice of slices) {
    const port = (slice.ports ?? []).find(
      (p) => (p.name ?? "") === (svcPort.name ?? "") && (p.protocol ?? "TCP") === (svcPort.protocol ?? "TCP")
    )
    if (port?.port === undefined || port.port < 1 || port.port > 65535) continue
    for (const ep of slice.endpoints ?? []) {
      const ready = ep.conditions?.ready
      const serving = ep.conditions?.serving ?? ready
      const terminating = ep.conditions?.terminating ?? false
      const health: EndpointIR["health"] | undefined =
        ready !== false && !terminating ? "Healthy" : serving === true && terminating ? "Draining" : undefined
      if (health === undefined) continue
      for (const address of ep.addresses) {
        const k = `${address}:${port.port}`
        if (seen.has(k)) continue
        seen.add(k)
        out.push({ address, port: port.port, health, ...(ep.zone === undefined ? {} : { zone: ep.zone }) })
      }
    }
  }
  return out.sort((a, b) => (a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1))
}
