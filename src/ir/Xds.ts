/**
 * The xDS IR: plain readonly data describing what each Envoy fleet must
 * serve, named with the stable scheme of DESIGN.md section 2. Produced by the
 * reconcilers, consumed by the xDS translators.
 */

export interface XdsIR {
  /** One entry per fleet (Gateway), sorted by name. */
  readonly fleets: ReadonlyArray<FleetXds>
}

export interface FleetXds {
  /** `envoy-<gw-ns>-<gw>-<hash8>`. */
  readonly name: string
  readonly gateway: { readonly namespace: string; readonly name: string }
  /** One Envoy listener per (address, port), sorted by port. */
  readonly listeners: ReadonlyArray<ListenerIR>
  /** Certificates and CA bundles the listeners and clusters refer to by name (SDS), sorted by name. */
  readonly secrets: ReadonlyArray<SecretIR>
  /** `spec.tls.backend.clientCertificateRef`: the certificate presented to TLS backends (a secret name). */
  readonly backendClientCertificate?: string
}

export type SecretIR =
  | {
      /** `<ns>/<name>` of the Kubernetes Secret. */
      readonly name: string
      readonly type: "TlsCertificate"
      readonly certificateChain: string
      readonly privateKey: string
    }
  | {
      readonly name: string
      readonly type: "CaBundle"
      /** PEM, one or more certificates. */
      readonly caCertificates: string
    }

export type ListenerIR = HttpListenerIR | TlsListenerIR | TcpListenerIR | UdpListenerIR

interface ListenerBase {
  /** `<gw-ns>/<gw>/<first listener on the port>`. */
  readonly name: string
  readonly address: string
  readonly port: number
  /** The Gateway API listeners merged into this port. */
  readonly gatewayListeners: ReadonlyArray<string>
}

/** Cleartext HTTP: one route configuration with a virtual host per hostname. */
export interface HttpListenerIR extends ListenerBase {
  readonly type: "HTTP"
  readonly routeConfig: RouteConfigIR
}

/** TLS on a port: one filter chain per HTTPS/TLS listener, chosen by SNI. */
export interface TlsListenerIR extends ListenerBase {
  readonly type: "TLS"
  readonly chains: ReadonlyArray<TlsChainIR>
}

export interface TlsChainIR {
  /** The Gateway API listener: `<gw-ns>/<gw>/<listener>`. */
  readonly name: string
  /** SNI names (empty = any). */
  readonly serverNames: ReadonlyArray<string>
  readonly mode: "Terminate" | "Passthrough"
  /** `namespace/name` of the TLS Secrets (HTTPS / TLS Terminate). */
  readonly certificates: ReadonlyArray<string>
  /** Client certificate validation (Gateway spec.tls.frontend): the CA bundle secret and the mode. */
  readonly clientValidation?: { readonly caBundle: string; readonly mode: "AllowValidOnly" | "AllowInsecureFallback" }
  /** HTTPS: the HTTP routes behind TLS termination. */
  readonly routeConfig?: RouteConfigIR
  /** TLS listeners: TLSRoutes (by SNI) or TCPRoutes behind the chain. */
  readonly tcpRoutes?: ReadonlyArray<TcpRouteIR>
}

export interface TcpListenerIR extends ListenerBase {
  readonly type: "TCP"
  readonly routes: ReadonlyArray<TcpRouteIR>
}

export interface UdpListenerIR extends ListenerBase {
  readonly type: "UDP"
  readonly routes: ReadonlyArray<TcpRouteIR>
}

/** A TCP/UDP/TLS route: hostnames (SNI) and one weighted destination. */
export interface TcpRouteIR {
  /** `tlsroute/<ns>/<name>/rule/<i>` (tcproute / udproute likewise). */
  readonly name: string
  readonly hostnames: ReadonlyArray<string>
  readonly destination: DestinationIR
}

export interface RouteConfigIR {
  /** `<gw-ns>/<gw>/<listener>`. */
  readonly name: string
  readonly virtualHosts: ReadonlyArray<VirtualHostIR>
}

export interface VirtualHostIR {
  /** `<listener>/<host with . -> _>`. */
  readonly name: string
  /** The one hostname this virtual host serves (`*` = any, `*.example.com` wildcard). */
  readonly hostname: string
  /** Routes in match precedence order. */
  readonly routes: ReadonlyArray<HttpRouteIR>
}

export interface HttpRouteIR {
  /** `httproute/<ns>/<name>/rule/<i>/match/<j>/<host_>` (grpcroute likewise). */
  readonly name: string
  readonly source: RouteSource
  readonly match: RouteMatchIR
  /** Exactly one of destination, redirect, directResponse. */
  readonly destination?: DestinationIR
  readonly redirect?: RedirectIR
  readonly directResponse?: { readonly status: number; readonly body?: string }
  readonly requestHeaders?: HeaderMutationIR
  readonly responseHeaders?: HeaderMutationIR
  readonly urlRewrite?: UrlRewriteIR
  readonly mirrors?: ReadonlyArray<MirrorIR>
  readonly cors?: CorsIR
  readonly timeouts?: { readonly request?: string; readonly backendRequest?: string }
  readonly retry?: { readonly codes?: ReadonlyArray<number>; readonly attempts?: number; readonly backoff?: string }
  readonly sessionPersistence?: unknown
  /** ExtensionRef filters, recorded for extensions (not applied by Portico itself). */
  readonly extensionRefs?: ReadonlyArray<{ readonly group: string; readonly kind: string; readonly name: string }>
  /** Upgrade to WebSocket allowed (a backend with appProtocol kubernetes.io/ws). */
  readonly websocket?: boolean
}

export interface RouteSource {
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly rule: number
  readonly ruleName?: string
  readonly match: number
}

export interface RouteMatchIR {
  readonly path?: { readonly type: "Exact" | "PathPrefix" | "RegularExpression"; readonly value: string }
  readonly headers?: ReadonlyArray<{
    readonly name: string
    readonly type: "Exact" | "RegularExpression"
    readonly value: string
  }>
  readonly queryParams?: ReadonlyArray<{
    readonly name: string
    readonly type: "Exact" | "RegularExpression"
    readonly value: string
  }>
  readonly method?: string
  /** gRPC: `/service/method` derived matching is expressed as `path`; this records the original. */
  readonly grpc?: { readonly service?: string; readonly method?: string; readonly type: "Exact" | "RegularExpression" }
}

export interface DestinationIR {
  /** The cluster: `httproute/<ns>/<name>/rule/<i>`. */
  readonly name: string
  readonly settings: ReadonlyArray<DestinationSettingIR>
}

export interface DestinationSettingIR {
  /** Relative weight of this backend (0 = receives nothing). */
  readonly weight: number
  readonly backend: { readonly kind: string; readonly namespace: string; readonly name: string; readonly port?: number }
  /** Set when the backendRef is invalid: its share of traffic answers 500. */
  readonly invalid?: { readonly reason: string; readonly message: string }
  readonly protocol: "HTTP" | "HTTP2" | "TCP" | "UDP"
  readonly appProtocol?: string
  readonly endpoints: ReadonlyArray<EndpointIR>
  /** TLS to the backend (BackendTLSPolicy). */
  readonly tls?: UpstreamTlsIR
  readonly requestHeaders?: HeaderMutationIR
  readonly responseHeaders?: HeaderMutationIR
}

export interface UpstreamTlsIR {
  /** `namespace/name` of the BackendTLSPolicy. */
  readonly policy: string
  /** SNI and the name the certificate must carry (unless subjectAltNames are given). */
  readonly sni: string
  /** CA bundle secret name (`backendtls/<ns>/<policy>/ca`), or the system trust store. */
  readonly caBundle?: { readonly name: string; readonly caCertificates: string }
  readonly wellKnownCACertificates?: "System"
  readonly subjectAltNames?: ReadonlyArray<{ readonly type: string; readonly value: string }>
}

export interface EndpointIR {
  readonly address: string
  readonly port: number
  readonly health: "Healthy" | "Draining"
  readonly zone?: string
}

export interface HeaderMutationIR {
  readonly set?: ReadonlyArray<{ readonly name: string; readonly value: string }>
  readonly add?: ReadonlyArray<{ readonly name: string; readonly value: string }>
  readonly remove?: ReadonlyArray<string>
}

export interface RedirectIR {
  readonly scheme?: string
  readonly hostname?: string
  readonly port?: number
  readonly statusCode: number
  readonly path?: { readonly type: "ReplaceFullPath" | "ReplacePrefixMatch"; readonly value: string }
}

export interface UrlRewriteIR {
  readonly hostname?: string
  readonly path?: { readonly type: "ReplaceFullPath" | "ReplacePrefixMatch"; readonly value: string }
}

export interface MirrorIR {
  readonly destination: DestinationIR
  /** Percentage 0-100 (fractions allowed). */
  readonly percent?: number
}

export interface CorsIR {
  readonly allowOrigins?: ReadonlyArray<string>
  readonly allowMethods?: ReadonlyArray<string>
  readonly allowHeaders?: ReadonlyArray<string>
  readonly exposeHeaders?: ReadonlyArray<string>
  readonly allowCredentials?: boolean
  readonly maxAge?: number
}
