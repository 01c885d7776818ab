/**
 * Listeners (LDS), one per IR listener (an address and port of the fleet), bound to the container
 * port (Gateway ports below 1024 + 10000, DESIGN.md section 2). Pure.
 *
 * - HTTP: one filter chain, an HTTP connection manager over RDS.
 * - TLS (HTTPS and TLS listeners sharing a port): the TLS inspector reads the SNI and picks a
 *   filter chain by `server_names` (none = any SNI). HTTPS listeners terminate TLS (certificates
 *   and client validation over SDS) in front of a connection manager; TLS listeners get a chain
 *   per TLSRoute, keyed by the route's hostnames (the listener's when the route has none), with
 *   tcp_proxy behind, terminating first in Terminate mode. Envoy rejects two chains with the same
 *   match, so a server name goes to the first chain that claims it (the IR lists chains and routes
 *   in precedence order) and a chain left with nothing to claim is dropped.
 * - TCP: tcp_proxy to the first route (a TCP listener cannot tell routes apart; the IR lists them
 *   in precedence order). UDP: a UDP listener with udp_proxy, likewise.
 * A TCP or UDP listener without routes, or a TLS listener without a usable chain, is not emitted:
 * Envoy refuses a TCP listener without filter chains, and nothing would be served.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf"
import { containerPortFor } from "../../ir/Infra.ts"
import type { ListenerIR, RouteConfigIR, TcpRouteIR, TlsChainIR, TlsListenerIR } from "../../ir/Xds.ts"
import { SocketAddress_Protocol } from "../proto/envoy/config/core/v3/address_pb.ts"
import type { FilterChainSchema } from "../proto/envoy/config/listener/v3/listener_components_pb.ts"
import { type Listener, ListenerSchema } from "../proto/envoy/config/listener/v3/listener_pb.ts"
import { TlsInspectorSchema } from "../proto/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.ts"
import { CONNECTION_BUFFER_BYTES } from "./Cluster.ts"
import { typedExtension } from "./Extension.ts"
import { httpConnectionManager } from "./HttpConnectionManager.ts"
import type { RouteContext } from "./Route.ts"
import { tcpProxy } from "./TcpProxy.ts"
import { downstreamTls, HTTPS_ALPN } from "./Tls.ts"
import { udpProxy } from "./UdpProxy.ts"

type FilterChainInit = MessageInitShape<typeof FilterChainSchema>

export const TLS_INSPECTOR = "envoy.filters.listener.tls_inspector"

/** A route configuration a listener's connection manager names, with where it is served. */
export interface ServedRouteConfig {
  readonly routeConfig: RouteConfigIR
  readonly context: RouteContext
}

export interface TranslatedListener {
  readonly listener: Listener
  /** The route configurations its connection managers name (RDS). */
  readonly routeConfigs: ReadonlyArray<ServedRouteConfig>
  /** The TCP/TLS routes behind its tcp_proxy filters, or the UDP route of its udp_proxy. */
  readonly l4Routes: ReadonlyArray<TcpRouteIR>
}

const socketAddress = (address: string, port: number, udp: boolean) => ({
  address: {
    case: "socketAddress" as const,
    value: {
      address,
      portSpecifier: { case: "portValue" as const, value: port },
      ...(udp ? { protocol: SocketAddress_Protocol.UDP } : {})
    }
  }
})

/** Hands out server names to filter chains, each name once ("" = the catch-all chain). */
const serverNameClaims = () => {
  const claimed = new Set<string>()
  return (names: ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
    if (names.length === 0) {
      if (claimed.has("")) return undefined
      claimed.add("")
      return []
    }
    const free = [...new Set(names.map((name) => name.toLowerCase()))].filter((name) => !claimed.has(name))
    for (const name of free) claimed.add(name)
    return free.length === 0 ? undefined : free
  }
}

const match = (serverNames: ReadonlyArray<string>) =>
  serverNames.length === 0 ? {} : { filterChainMatch: { serverNames: [...serverNames] } }

const tlsChains = (
  listener: TlsListenerIR,
  port: number
): Omit<TranslatedListener, "listener"> & { readonly chains: Array<FilterChainInit> } => {
  const claim = serverNameClaims()
  const chains: Array<FilterChainInit> = []
  const routeConfigs: Array<ServedRouteConfig> = []
  const l4Routes: Array<TcpRouteIR> = []
  const terminates = (chain: TlsChainIR) => chain.mode === "Terminate"
  for (const chain of listener.chains) {
    if (terminates(chain) && chain.certificates.length === 0) continue
    if (chain.routeConfig !== undefined) {
      const names = claim(chain.serverNames)
      if (names === undefined) continue
      chains.push({
        name: chain.name,
        ...match(names),
        filters: [httpConnectionManager(`https-${port}`, chain.routeConfig)],
        transportSocket: downstreamTls(chain, HTTPS_ALPN)
      })
      routeConfigs.push({
        routeConfig: chain.routeConfig,
        context: { listenerScheme: "https", listenerPort: listener.port }
      })
      continue
    }
    for (const route of chain.tcpRoutes ?? []) {
      const names = claim(route.hostnames.length > 0 ? route.hostnames : chain.serverNames)
      if (names === undefined) continue
      chains.push({
        name: `${chain.name}/${route.name}`,
        ...match(names),
        filters: [tcpProxy(`${terminates(chain) ? "tls-terminate" : "tls-passthrough"}-${port}`, route)],
        ...(terminates(chain) ? { transportSocket: downstreamTls(chain, []) } : {})
      })
      l4Routes.push(route)
    }
  }
  return { chains, routeConfigs, l4Routes }
}

export const translateListener = (ir: ListenerIR): TranslatedListener | undefined => {
  const port = containerPortFor(ir.port)
  const base = { name: ir.name, address: socketAddress(ir.address, port, ir.type === "UDP") }
  switch (ir.type) {
    case "HTTP":
      return {
        listener: create(ListenerSchema, {
          ...base,
          perConnectionBufferLimitBytes: CONNECTION_BUFFER_BYTES,
          filterChains: [
            { name: ir.routeConfig.name, filters: [httpConnectionManager(`http-${port}`, ir.routeConfig)] }
          ]
        }),
        routeConfigs: [{ routeConfig: ir.routeConfig, context: { listenerScheme: "http", listenerPort: ir.port } }],
        l4Routes: []
      }
    case "TLS": {
      const { chains, routeConfigs, l4Routes } = tlsChains(ir, port)
      if (chains.length === 0) return undefined
      return {
        listener: create(ListenerSchema, {
          ...base,
          perConnectionBufferLimitBytes: CONNECTION_BUFFER_BYTES,
          listenerFilters: [typedExtension(TLS_INSPECTOR, TlsInspectorSchema, {})],
          filterChains: chains
        }),
        routeConfigs,
        l4Routes
      }
    }
    case "TCP": {
      const route = ir.routes[0]
      if (route === undefined) return undefined
      return {
        listener: create(ListenerSchema, {
          ...base,
          perConnectionBufferLimitBytes: CONNECTION_BUFFER_BYTES,
          filterChains: [{ name: route.name, filters: [tcpProxy(`tcp-${port}`, route)] }]
        }),
        routeConfigs: [],
        l4Routes: [route]
      }
    }
    case "UDP": {
      const route = ir.routes[0]
      if (route === undefined) return undefined
      return {
        listener: create(ListenerSchema, {
          ...base,
          udpListenerConfig: {},
          listenerFilters: [udpProxy(`udp-${port}`, route)]
        }),
        routeConfigs: [],
        l4Routes: [route]
      }
    }
  }
}
