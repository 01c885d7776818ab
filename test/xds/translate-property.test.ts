/**
 * Property test of the xDS translators: for any IR within the invariants the reconcilers
 * guarantee (unique names, valid RE2, HTTP-token header names, one virtual host per hostname, a
 * destination name always standing for the same backends), translateFleet gives resources that
 * round-trip through the protos, pass PGV and Envoy's own checks (test/support/xds.ts), and the
 * same IR gives the same bytes. Everything else — colliding SNI names, invalid or zero-weight
 * backends, hostname endpoints, listeners without routes — is fair game.
 *
 * PORTICO_FC_RUNS (default 300) and PORTICO_FC_SEED tune and replay runs.
 */
import { toBinary } from "@bufbuild/protobuf"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type {
  DestinationIR,
  DestinationSettingIR,
  FleetXds,
  HeaderMutationIR,
  HttpRouteIR,
  ListenerIR,
  RouteConfigIR,
  SecretIR,
  TcpRouteIR,
  TlsChainIR
} from "../../src/ir/Xds.ts"
import { ListenerSchema } from "../../src/xds/proto/envoy/config/listener/v3/listener_pb.ts"
import { RouteConfigurationSchema } from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import { translateFleet } from "../../src/xds/translate/Fleet.ts"
import { assertRoundTrip } from "../support/xds.ts"

const RUNS = Number(process.env.PORTICO_FC_RUNS ?? 300)
const SEED = process.env.PORTICO_FC_SEED

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/)
const headerName = fc.oneof(
  token.map((t) => `x-${t}`),
  fc.constantFrom("Host", "host", "User-Agent", "cache-control")
)
const headerValue = fc.stringMatching(/^[ -~]{0,20}$/)
const pathSegment = fc.stringMatching(/^[a-zA-Z0-9._~-]{1,8}$/)
const path = fc.array(pathSegment, { maxLength: 3 }).map((segments) => `/${segments.join("/")}`)
const regex = fc.constantFrom("/items/[0-9]+", ".*", "/a(b|c)?/.+", "[^/]+", "^application/grpc.*")
const hostname = fc.oneof(
  fc.constant("*"),
  token.map((t) => `${t}.example.com`),
  token.map((t) => `*.${t}.example.org`)
)
const weight = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000_000 }))
const durationText = fc.oneof(
  fc.constantFrom("0s", "1h30m", "100ms"),
  fc.integer({ min: 1, max: 600 }).map((n) => `${n}s`)
)

const headerMutation: fc.Arbitrary<HeaderMutationIR> = fc.record(
  {
    set: fc.uniqueArray(fc.record({ name: headerName, value: headerValue }), {
      maxLength: 2,
      selector: (h) => h.name.toLowerCase()
    }),
    add: fc.array(fc.record({ name: headerName, value: headerValue }), { maxLength: 2 }),
    remove: fc.array(headerName, { maxLength: 2 })
  },
  { requiredKeys: [] }
)

const endpoint = fc.record({
  address: fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 0, max: 254 })).map(([a, b]) => `10.${a}.0.${b}`),
    fc.constant("2001:db8::1"),
    token.map((t) => `${t}.svc.cluster.local`)
  ),
  port: fc.integer({ min: 1, max: 65535 }),
  health: fc.constantFrom("Healthy" as const, "Draining" as const),
  zone: fc.option(fc.constantFrom("zone-a", "zone-b"), { nil: undefined })
})

const setting = (protocols: ReadonlyArray<DestinationSettingIR["protocol"]>): fc.Arbitrary<DestinationSettingIR> =>
  fc
    .record({
      weight,
      name: token,
      port: fc.integer({ min: 1, max: 65535 }),
      invalid: fc.boolean(),
      protocol: fc.constantFrom(...protocols),
      endpoints: fc.array(endpoint, { maxLength: 3 }),
      tls: fc.option(
        fc.record({
          sni: token.map((t) => `${t}.example.com`),
          ca: fc.boolean(),
          sans: fc.array(
            fc.oneof(
              token.map((t) => ({ type: "Hostname", value: `${t}.internal` })),
              token.map((t) => ({ type: "URI", value: `spiffe://cluster.local/ns/default/sa/${t}` }))
            ),
            { maxLength: 2 }
          )
        }),
        { nil: undefined }
      ),
      requestHeaders: fc.option(headerMutation, { nil: undefined })
    })
    .map((s) => ({
      weight: s.weight,
      backend: { kind: "Service", namespace: "default", name: s.name, port: s.port },
      protocol: s.protocol,
      endpoints: s.invalid ? [] : s.endpoints.map(({ zone, ...e }) => (zone === undefined ? e : { ...e, zone })),
      ...(s.invalid ? { invalid: { reason: "BackendNotFound", message: `Service default/${s.name} not found` } } : {}),
      ...(s.tls === undefined || s.protocol === "UDP"
        ? {}
        : {
            tls: {
              policy: `default/${s.name}`,
              sni: s.tls.sni,
              ...(s.tls.ca
                ? { caBundle: { name: `backendtls/default/${s.name}/ca`, caCertificates: "CA" } }
                : { wellKnownCACertificates: "System" as const }),
              ...(s.tls.sans.length > 0 ? { subjectAltNames: s.tls.sans } : {})
            }
          }),
      ...(s.requestHeaders === undefined ? {} : { requestHeaders: s.requestHeaders })
    }))

/** Destinations are named afterwards (unique), so a name always stands for the same backends. */
const destination = (protocols: ReadonlyArray<DestinationSettingIR["protocol"]>) =>
  fc.array(setting(protocols), { maxLength: 3 }).map((settings): DestinationIR => ({ name: "", settings }))

const httpRoute: fc.Arbitrary<HttpRouteIR> = fc
  .record({
    match: fc.record(
      {
        path: fc.oneof(
          fc.record({ type: fc.constant("Exact" as const), value: path }),
          fc.record({
            type: fc.constant("PathPrefix" as const),
            value: fc.oneof(
              path,
              path.map((p) => `${p}/`)
            )
          }),
          fc.record({ type: fc.constant("RegularExpression" as const), value: regex })
        ),
        headers: fc.array(
          fc.record({
            name: headerName,
            type: fc.constantFrom("Exact" as const),
            value: headerValue.filter((v) => v !== "")
          }),
          { maxLength: 2 }
        ),
        queryParams: fc.array(
          fc.record({ name: token, type: fc.constantFrom("RegularExpression" as const), value: regex }),
          {
            maxLength: 1
          }
        ),
        method: fc.constantFrom("GET", "POST")
      },
      { requiredKeys: [] }
    ),
    action: fc.oneof(
      destination(["HTTP", "HTTP2"]).map((d) => ({ destination: d })),
      fc
        .record(
          {
            scheme: fc.constantFrom("http", "https"),
            hostname: token.map((t) => `${t}.example.net`),
            port: fc.integer({ min: 1, max: 65535 }),
            path: fc.record({
              type: fc.constantFrom("ReplaceFullPath" as const, "ReplacePrefixMatch" as const),
              value: path
            })
          },
          { requiredKeys: [] }
        )
        .chain((r) =>
          fc.constantFrom(301, 302, 303, 307, 308).map((statusCode) => ({ redirect: { ...r, statusCode } }))
        ),
      fc.integer({ min: 200, max: 599 }).map((status) => ({ directResponse: { status } }))
    ),
    requestHeaders: fc.option(headerMutation, { nil: undefined }),
    responseHeaders: fc.option(headerMutation, { nil: undefined }),
    urlRewrite: fc.option(
      fc.record(
        {
          hostname: token.map((t) => `${t}.internal`),
          path: fc.record({
            type: fc.constantFrom("ReplaceFullPath" as const, "ReplacePrefixMatch" as const),
            value: path
          })
        },
        { requiredKeys: [] }
      ),
      { nil: undefined }
    ),
    mirrors: fc.array(
      fc.record({
        destination: destination(["HTTP"]),
        percent: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined })
      }),
      { maxLength: 2 }
    ),
    cors: fc.option(
      fc.record(
        {
          allowOrigins: fc.oneof(
            fc.constant(["*"]),
            fc.array(
              fc.constantFrom("https://a.example.com", "http://*.example.org:8080", "https://b.example.com:443"),
              {
                minLength: 1,
                maxLength: 3
              }
            )
          ),
          allowMethods: fc.oneof(fc.constant(["*"]), fc.constant(["GET", "POST"])),
          allowHeaders: fc.array(token, { maxLength: 2 }),
          allowCredentials: fc.boolean(),
          maxAge: fc.integer({ min: 0, max: 86400 })
        },
        { requiredKeys: [] }
      ),
      { nil: undefined }
    ),
    timeouts: fc.option(fc.record({ request: durationText, backendRequest: durationText }, { requiredKeys: [] }), {
      nil: undefined
    }),
    retry: fc.option(
      fc.record(
        {
          codes: fc.uniqueArray(fc.integer({ min: 500, max: 599 }), { maxLength: 3 }),
          attempts: fc.integer({ min: 1, max: 5 }),
          backoff: durationText
        },
        { requiredKeys: [] }
      ),
      { nil: undefined }
    ),
    websocket: fc.boolean()
  })
  .map(({ action, requestHeaders, responseHeaders, urlRewrite, cors, timeouts, retry, match, mirrors, websocket }) => ({
    name: "",
    source: { kind: "HTTPRoute", namespace: "default", name: "r", rule: 0, match: 0 },
    match,
    ...action,
    ...(requestHeaders === undefined ? {} : { requestHeaders }),
    ...(responseHeaders === undefined ? {} : { responseHeaders }),
    ...(urlRewrite === undefined ? {} : { urlRewrite }),
    ...(cors === undefined ? {} : { cors }),
    ...(timeouts === undefined ? {} : { timeouts }),
    ...(retry === undefined ? {} : { retry }),
    ...(mirrors.length === 0
      ? {}
      : { mirrors: mirrors.map(({ percent, ...m }) => (percent === undefined ? m : { ...m, percent })) }),
    ...(websocket ? { websocket } : {})
  }))

const routeConfig: fc.Arbitrary<RouteConfigIR> = fc
  .uniqueArray(fc.record({ hostname, routes: fc.array(httpRoute, { maxLength: 3 }) }), {
    maxLength: 3,
    selector: (vh) => vh.hostname
  })
  .map((vhs) => ({ name: "", virtualHosts: vhs.map((vh) => ({ name: "", ...vh })) }))

const tcpRoute = (protocols: ReadonlyArray<DestinationSettingIR["protocol"]>): fc.Arbitrary<TcpRouteIR> =>
  fc
    .record({
      hostnames: fc.array(
        hostname.filter((h) => h !== "*"),
        { maxLength: 2 }
      ),
      destination: destination(protocols)
    })
    .map((r) => ({ name: "", ...r }))

const chain: fc.Arbitrary<TlsChainIR> = fc
  .record({
    serverNames: fc.array(
      hostname.filter((h) => h !== "*"),
      { maxLength: 2 }
    ),
    mode: fc.constantFrom("Terminate" as const, "Passthrough" as const),
    certificates: fc.array(fc.constantFrom("default/cert-a", "default/cert-b"), { maxLength: 2 }),
    clientValidation: fc.option(fc.constantFrom("AllowValidOnly" as const, "AllowInsecureFallback" as const), {
      nil: undefined
    }),
    https: fc.boolean(),
    routeConfig,
    tcpRoutes: fc.array(tcpRoute(["TCP"]), { maxLength: 3 })
  })
  .map(({ https, routeConfig: rc, tcpRoutes, clientValidation, mode, ...c }) => ({
    name: "",
    ...c,
    mode: https ? ("Terminate" as const) : mode,
    ...(clientValidation === undefined ? {} : { clientValidation: { caBundle: "", mode: clientValidation } }),
    ...(https ? { routeConfig: rc } : { tcpRoutes })
  }))

const listener: fc.Arbitrary<ListenerIR> = fc
  .oneof(
    routeConfig.map((rc) => ({ type: "HTTP" as const, routeConfig: rc })),
    fc.array(chain, { maxLength: 3 }).map((chains) => ({ type: "TLS" as const, chains })),
    fc.array(tcpRoute(["TCP"]), { maxLength: 2 }).map((routes) => ({ type: "TCP" as const, routes })),
    fc.array(tcpRoute(["UDP"]), { maxLength: 2 }).map((routes) => ({ type: "UDP" as const, routes }))
  )
  .map((l) => ({ name: "", address: "0.0.0.0", port: 0, gatewayListeners: [], ...l }) as ListenerIR)

/** Gives every listener, chain, route configuration, virtual host, route and destination a unique name and port. */
const named = (listeners: ReadonlyArray<ListenerIR>, backendClientCertificate: boolean): FleetXds => {
  let n = 0
  const next = (prefix: string) => `${prefix}/${n++}`
  const secrets = new Map<string, SecretIR>()
  const destinationNamed = (d: DestinationIR, prefix: string): DestinationIR => {
    for (const s of d.settings) {
      const ca = s.tls?.caBundle
      if (ca !== undefined) secrets.set(ca.name, { name: ca.name, type: "CaBundle", caCertificates: ca.caCertificates })
    }
    return { ...d, name: next(prefix) }
  }
  const rcNamed = (rc: RouteConfigIR, name: string): RouteConfigIR => ({
    name,
    virtualHosts: rc.virtualHosts.map((vh) => ({
      ...vh,
      name: next("vh"),
      routes: vh.routes.map((r) => ({
        ...r,
        name: next("httproute/default/r/rule"),
        ...(r.destination === undefined
          ? {}
          : { destination: destinationNamed(r.destination, "httproute/default/r/rule") }),
        ...(r.mirrors === undefined
          ? {}
          : { mirrors: r.mirrors.map((m) => ({ ...m, destination: destinationNamed(m.destination, "mirror") })) })
      }))
    }))
  })
  const tcpNamed = (r: TcpRouteIR): TcpRouteIR => ({
    ...r,
    name: next("tcproute/default/r/rule"),
    destination: destinationNamed(r.destination, "tcproute/default/r/rule")
  })
  const out = listeners.map((l, i): ListenerIR => {
    const name = `default/gw/l${i}`
    const base = { ...l, name, port: 1000 + i, gatewayListeners: [name] }
    switch (l.type) {
      case "HTTP":
        return { ...base, type: "HTTP", routeConfig: rcNamed(l.routeConfig, name) }
      case "TLS":
        return {
          ...base,
          type: "TLS",
          chains: l.chains.map((c, j) => {
            const chainName = `${name}-${j}`
            for (const cert of c.certificates)
              secrets.set(cert, { name: cert, type: "TlsCertificate", certificateChain: "C", privateKey: "K" })
            const clientValidation =
              c.clientValidation === undefined
                ? undefined
                : { ...c.clientValidation, caBundle: `${chainName}/client-ca` }
            if (clientValidation !== undefined) {
              secrets.set(clientValidation.caBundle, {
                name: clientValidation.caBundle,
                type: "CaBundle",
                caCertificates: "CA"
              })
            }
            return {
              ...c,
              name: chainName,
              ...(clientValidation === undefined ? {} : { clientValidation }),
              ...(c.routeConfig === undefined ? {} : { routeConfig: rcNamed(c.routeConfig, chainName) }),
              ...(c.tcpRoutes === undefined ? {} : { tcpRoutes: c.tcpRoutes.map(tcpNamed) })
            }
          })
        }
      case "TCP":
        return { ...base, type: "TCP", routes: l.routes.map(tcpNamed) }
      default:
        return { ...base, type: "UDP", routes: l.routes.map(tcpNamed) }
    }
  })
  if (backendClientCertificate) {
    secrets.set("default/client", {
      name: "default/client",
      type: "TlsCertificate",
      certificateChain: "C",
      privateKey: "K"
    })
  }
  return {
    name: "envoy-default-gw-00000000",
    gateway: { namespace: "default", name: "gw" },
    listeners: out,
    secrets: [...secrets.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    ...(backendClientCertificate ? { backendClientCertificate: "default/client" } : {})
  }
}

const fleetArbitrary = fc
  .tuple(fc.array(listener, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([listeners, clientCert]) => named(listeners, clientCert))

describe("translateFleet on generated IR", () => {
  it("always gives resources Envoy accepts, and the same bytes for the same IR", () => {
    fc.assert(
      fc.property(fleetArbitrary, (fleet) => {
        const out = translateFleet(fleet)
        assertRoundTrip(out)
        const again = translateFleet(fleet)
        expect(again.listeners.map((l) => toBinary(ListenerSchema, l))).toEqual(
          out.listeners.map((l) => toBinary(ListenerSchema, l))
        )
        expect(again.routes.map((r) => toBinary(RouteConfigurationSchema, r))).toEqual(
          out.routes.map((r) => toBinary(RouteConfigurationSchema, r))
        )
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: Number(SEED) }) }
    )
  }, 120_000)
})
