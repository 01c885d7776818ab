/**
 * Assembles the xDS and infra IR of every fleet from the validated listeners
 * and the routes' entries: listeners merged by port, virtual hosts per
 * hostname (each hostname owned by its most specific listener), routes in
 * precedence order. Pure and deterministic.
 */
import { containerPortFor, type FleetInfra, type InfraIR } from "../ir/Infra.ts"
import type {
  FleetXds,
  HttpRouteIR,
  ListenerIR,
  RouteConfigIR,
  SecretIR,
  TcpRouteIR,
  TlsChainIR,
  VirtualHostIR,
  XdsIR
} from "../ir/Xds.ts"
import type { GatewayContext } from "./Gateway.ts"
import { ANY_HOST, compareHostSpecificity, hostKey, hostnameMatches } from "./Hostnames.ts"
import type { ListenerContext } from "./Listeners.ts"
import type { HttpEntry, L4Entry, RankKey, RouteResult } from "./RouteResult.ts"

export const compareRank = (a: RankKey, b: RankKey): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x === y) continue
    if (typeof x === "number" && typeof y === "number") return x - y
    return String(x) < String(y) ? -1 : 1
  }
  return a.length - b.length
}

const compareHttp = (a: HttpEntry, b: HttpEntry): number => {
  const ka = a.route.source.kind === "GRPCRoute" ? 0 : 1
  const kb = b.route.source.kind === "GRPCRoute" ? 0 : 1
  return ka !== kb ? ka - kb : compareRank(a.rank, b.rank)
}

/** The listener (of those sharing a port) that serves requests for `host`. */
const ownerOf = (listeners: ReadonlyArray<ListenerContext>, host: string): ListenerContext | undefined => {
  const candidates = listeners.filter((l) => l.hostname === undefined || hostnameMatches(l.hostname, host))
  return [...candidates].sort((a, b) => compareHostSpecificity(a.hostname, b.hostname))[0]
}

const routeConfig = (
  name: string,
  listeners: ReadonlyArray<ListenerContext>,
  entries: ReadonlyArray<HttpEntry>
): RouteConfigIR => {
  const byHost = new Map<string, { owner: ListenerContext; routes: Array<HttpEntry> }>()
  for (const e of entries) {
    const owner =
      e.hostname === ANY_HOST ? listeners.find((l) => l.id === e.listenerId) : ownerOf(listeners, e.hostname)
    if (owner === undefined || owner.id !== e.listenerId) continue
    const slot = byHost.get(e.hostname)
    if (slot === undefined) byHost.set(e.hostname, { owner, routes: [e] })
    else slot.routes.push(e)
  }
  // A listener's own hostname always has a virtual host, even without routes: its requests must
  // end there (404), never fall through to a less specific listener's routes (listener isolation).
  for (const l of listeners) {
    if (l.hostname !== undefined && !byHost.has(l.hostname)) byHost.set(l.hostname, { owner: l, routes: [] })
  }
  const virtualHosts: Array<VirtualHostIR> = [...byHost.entries()]
    .sort(([a], [b]) => compareHostSpecificity(a, b) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([hostname, { owner, routes }]) => ({
      name: `${owner.name}/${hostKey(hostname)}`,
      hostname,
      routes: routes.sort(compareHttp).map((e): HttpRouteIR => e.route)
    }))
  return { name, virtualHosts }
}

const l4Routes = (entries: ReadonlyArray<L4Entry>, listenerId: string): ReadonlyArray<TcpRouteIR> =>
  entries
    .filter((e) => e.listenerId === listenerId)
    .sort((a, b) => compareRank(a.rank, b.rank))
    .map((e) => e.route)

const fleetListeners = (
  gw: GatewayContext,
  http: ReadonlyArray<HttpEntry>,
  l4: ReadonlyArray<L4Entry>
): ReadonlyArray<ListenerIR> => {
  const programmed = gw.listeners.filter((l) => l.programmed)
  const groups = new Map<string, Array<ListenerContext>>()
  for (const l of programmed) {
    const k = `${l.protocol === "UDP" ? "udp" : "tcp"}/${l.port}`
    const g = groups.get(k)
    if (g === undefined) groups.set(k, [l])
    else g.push(l)
  }
  const out: Array<ListenerIR> = []
  for (const ls of groups.values()) {
    const first = ls[0]!
    const base = {
      name: first.xdsName,
      address: "0.0.0.0",
      port: first.port,
      gatewayListeners: ls.map((l) => l.xdsName)
    }
    const ids = new Set(ls.map((l) => l.id))
    switch (first.protocol) {
      case "HTTP":
        out.push({
          ...base,
          type: "HTTP",
          routeConfig: routeConfig(
            first.xdsName,
            ls,
            http.filter((e) => ids.has(e.listenerId))
          )
        })
        break
      case "HTTPS":
      case "TLS": {
        const chains = ls
          .slice()
          .sort((a, b) => compareHostSpecificity(a.hostname, b.hostname))
          .map((l): TlsChainIR => {
            const common = {
              name: l.xdsName,
              serverNames: l.hostname === undefined ? [] : [l.hostname],
              mode: l.tlsMode ?? "Terminate",
              certificates: l.certificates.map((c) => c.name),
              ...(l.clientValidation === undefined
                ? {}
                : { clientValidation: { caBundle: clientCaName(l), mode: l.clientValidation.mode } })
            }
            return l.protocol === "HTTPS"
              ? {
                  ...common,
                  routeConfig: routeConfig(
                    l.xdsName,
                    [l],
                    http.filter((e) => e.listenerId === l.id)
                  )
                }
              : { ...common, tcpRoutes: l4Routes(l4, l.id) }
          })
        out.push({ ...base, type: "TLS", chains })
        break
      }
      case "TCP":
        out.push({ ...base, type: "TCP", routes: ls.flatMap((l) => l4Routes(l4, l.id)) })
        break
      case "UDP":
        out.push({ ...base, type: "UDP", routes: ls.flatMap((l) => l4Routes(l4, l.id)) })
        break
    }
  }
  return out.sort((a, b) => a.port - b.port || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))
}

const clientCaName = (l: ListenerContext): string => `${l.xdsName}/client-ca`

/** Every certificate and CA bundle the fleet's listeners and clusters name, sorted by name. */
const fleetSecrets = (gw: GatewayContext, listeners: ReadonlyArray<ListenerIR>): ReadonlyArray<SecretIR> => {
  const out = new Map<string, SecretIR>()
  for (const l of gw.listeners) {
    if (!l.programmed) continue
    for (const c of l.certificates) {
      out.set(c.name, {
        name: c.name,
        type: "TlsCertificate",
        certificateChain: c.certificateChain,
        privateKey: c.privateKey
      })
    }
    if (l.clientValidation !== undefined) {
      const name = clientCaName(l)
      out.set(name, { name, type: "CaBundle", caCertificates: l.clientValidation.caBundle })
    }
  }
  const c = gw.backendClientCertificate
  if (c !== undefined) {
    out.set(c.name, {
      name: c.name,
      type: "TlsCertificate",
      certificateChain: c.certificateChain,
      privateKey: c.privateKey
    })
  }
  const visit = (
    settings: ReadonlyArray<{ readonly tls?: { readonly caBundle?: { name: string; caCertificates: string } } }>
  ) => {
    for (const s of settings) {
      const ca = s.tls?.caBundle
      if (ca !== undefined) out.set(ca.name, { name: ca.name, type: "CaBundle", caCertificates: ca.caCertificates })
    }
  }
  for (const l of listeners) {
    const configs: Array<RouteConfigIR> = []
    const tcp: Array<TcpRouteIR> = []
    if (l.type === "HTTP") configs.push(l.routeConfig)
    if (l.type === "TLS") {
      for (const ch of l.chains) {
        if (ch.routeConfig !== undefined) configs.push(ch.routeConfig)
        tcp.push(...(ch.tcpRoutes ?? []))
      }
    }
    if (l.type === "TCP" || l.type === "UDP") tcp.push(...l.routes)
    for (const rc of configs) {
      for (const vh of rc.virtualHosts) {
        for (const r of vh.routes) {
          visit(r.destination?.settings ?? [])
          for (const m of r.mirrors ?? []) visit(m.destination.settings)
        }
      }
    }
    for (const r of tcp) visit(r.destination.settings)
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

const fleetInfra = (gw: GatewayContext): FleetInfra => {
  const ports = new Map<string, FleetInfra["ports"][number]>()
  for (const l of gw.listeners) {
    if (!l.programmed) continue
    const protocol = l.protocol === "UDP" ? ("UDP" as const) : ("TCP" as const)
    const k = `${protocol}/${l.port}`
    if (!ports.has(k)) {
      ports.set(k, {
        name: `${protocol.toLowerCase()}-${l.port}`,
        protocol,
        port: l.port,
        containerPort: containerPortFor(l.port)
      })
    }
  }
  const infra = gw.gateway.spec.infrastructure
  return {
    name: gw.fleetName,
    gateway: { namespace: gw.namespace, name: gw.name, gatewayClassName: gw.gateway.spec.gatewayClassName },
    ports: [...ports.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1)),
    addresses: gw.addresses,
    labels: { ...(infra?.labels ?? {}) },
    annotations: { ...(infra?.annotations ?? {}) }
  }
}

export const buildIR = (
  gateways: ReadonlyArray<GatewayContext>,
  routes: ReadonlyArray<RouteResult>
): { readonly xds: XdsIR; readonly infra: InfraIR } => {
  const httpByGateway = new Map<string, Array<HttpEntry>>()
  const l4ByGateway = new Map<string, Array<L4Entry>>()
  const gatewayOfListener = new Map<string, string>()
  for (const g of gateways) for (const l of g.listeners) gatewayOfListener.set(l.id, g.key)
  for (const r of routes) {
    for (const e of r.http) {
      const g = gatewayOfListener.get(e.listenerId)
      if (g === undefined) continue
      const arr = httpByGateway.get(g)
      if (arr === undefined) httpByGateway.set(g, [e])
      else arr.push(e)
    }
    for (const e of r.l4) {
      const g = gatewayOfListener.get(e.listenerId)
      if (g === undefined) continue
      const arr = l4ByGateway.get(g)
      if (arr === undefined) l4ByGateway.set(g, [e])
      else arr.push(e)
    }
  }
  const accepted = gateways.filter((g) => g.accepted).sort((a, b) => (a.fleetName < b.fleetName ? -1 : 1))
  const fleets: Array<FleetXds> = accepted.map((g) => {
    const listeners = fleetListeners(g, httpByGateway.get(g.key) ?? [], l4ByGateway.get(g.key) ?? [])
    return {
      name: g.fleetName,
      gateway: { namespace: g.namespace, name: g.name },
      listeners,
      secrets: fleetSecrets(g, listeners),
      ...(g.backendClientCertificate === undefined ? {} : { backendClientCertificate: g.backendClientCertificate.name })
    }
  })
  return { xds: { fleets }, infra: { fleets: accepted.map(fleetInfra) } }
}
