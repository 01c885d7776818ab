/**
 * The HTTP route translators against the Gateway API's own tables: path rewrites (the
 * ReplacePrefixMatch table of HTTPPathModifier, applied the way Envoy applies prefix_rewrite and
 * regex_rewrite), redirect ports (RequestRedirect.port), CORS origins, timeouts, retries, mirrors,
 * matches and header mutations. The generated messages also pass PGV and round-trip.
 */
import { create } from "@bufbuild/protobuf"
import { RE2JS } from "re2js"
import { describe, expect, it } from "vitest"
import type { HttpRouteIR, RouteConfigIR, RouteMatchIR } from "../../src/ir/Xds.ts"
import { RouteConfigurationSchema } from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import { durationOfMs, parseDurationMs } from "../../src/xds/translate/Duration.ts"
import { corsPolicy, originMatcher } from "../../src/xds/translate/filters/Cors.ts"
import { fullPathRewrite, type PathRewrite, prefixRewrite } from "../../src/xds/translate/PathRewrite.ts"
import { redirectAction } from "../../src/xds/translate/Redirect.ts"
import { translateRoute, translateRouteConfig } from "../../src/xds/translate/Route.ts"
import { fractionalPercent } from "../../src/xds/translate/RouteAction.ts"
import { validateMessage } from "../support/pgv.ts"
import { roundTrip } from "../support/xds.ts"

/** What Envoy forwards for `path` on a route matching `match` with `rewrite` (query excluded). */
const applyRewrite = (path: string, match: RouteMatchIR, rewrite: PathRewrite | undefined): string => {
  if (rewrite === undefined) return path
  if (rewrite.kind === "regex") return RE2JS.compile(rewrite.pattern).matcher(path).replaceAll(rewrite.substitution)
  // prefix_rewrite swaps what the route matched: the prefix (path_separated_prefix or prefix) or the path.
  const matched =
    match.path === undefined
      ? "/"
      : match.path.type === "Exact"
        ? match.path.value
        : match.path.value.replace(/\/+$/, "") || "/"
  expect(path.startsWith(matched)).toBe(true)
  return rewrite.value + path.slice(matched.length)
}

const prefix = (value: string): RouteMatchIR => ({ path: { type: "PathPrefix", value } })

describe("ReplacePrefixMatch (Gateway API HTTPPathModifier table)", () => {
  // Request path | prefix match | replacement | forwarded path, as the Gateway API spec lists them.
  const table: ReadonlyArray<readonly [string, string, string, string]> = [
    ["/foo/bar", "/foo", "/xyz", "/xyz/bar"],
    ["/foo/bar", "/foo", "/xyz/", "/xyz/bar"],
    ["/foo/bar", "/foo/", "/xyz", "/xyz/bar"],
    ["/foo/bar", "/foo/", "/xyz/", "/xyz/bar"],
    ["/foo", "/foo", "/xyz", "/xyz"],
    ["/foo/", "/foo", "/xyz", "/xyz/"],
    ["/foo/bar", "/foo", "", "/bar"],
    ["/foo/", "/foo", "", "/"],
    ["/foo", "/foo", "", "/"],
    ["/foo/", "/foo", "/", "/"],
    ["/foo", "/foo", "/", "/"]
  ]
  it.each(table)("%s matched by %s, replaced by %j -> %s", (path, matchPrefix, replacement, expected) => {
    const match = prefix(matchPrefix)
    expect(applyRewrite(path, match, prefixRewrite(match, replacement))).toBe(expected)
  })

  it("rewrites under the catch-all prefix /", () => {
    expect(prefixRewrite(prefix("/"), "/")).toBeUndefined()
    expect(applyRewrite("/x/y", prefix("/"), prefixRewrite(prefix("/"), "/app"))).toBe("/app/x/y")
    expect(applyRewrite("/x", {}, prefixRewrite({}, "/app/"))).toBe("/app/x")
  })

  it("escapes the prefix in the regex it builds", () => {
    const match = prefix("/a.b")
    expect(applyRewrite("/a.b/c", match, prefixRewrite(match, "/"))).toBe("/c")
    expect(applyRewrite("/aXb/c", match, prefixRewrite(match, "/"))).toBe("/aXb/c")
  })

  it("replaces the whole path for ReplaceFullPath", () => {
    expect(applyRewrite("/any/thing", prefix("/any"), fullPathRewrite("/index.html"))).toBe("/index.html")
    expect(applyRewrite("/", prefix("/"), fullPathRewrite("/x"))).toBe("/x")
  })
})

describe("redirect ports (Gateway API RequestRedirect.port)", () => {
  const http = { listenerScheme: "http" as const, listenerPort: 80, hostname: "*" }
  it.each([
    ["scheme https, no port: https's port, none printed", { scheme: "https", statusCode: 302 }, http, undefined],
    ["no scheme, no port: the listener's port", { statusCode: 302 }, { ...http, listenerPort: 8080 }, 8080],
    ["no scheme, listener on 80: none printed", { statusCode: 302 }, http, undefined],
    ["explicit 443 with https", { scheme: "https", port: 443, statusCode: 302 }, http, undefined],
    ["explicit 80 with https: printed", { scheme: "https", port: 80, statusCode: 302 }, http, 80],
    ["explicit 8443", { port: 8443, statusCode: 302 }, http, 8443],
    [
      "https listener, explicit 443",
      { port: 443, statusCode: 302 },
      { ...http, listenerScheme: "https" as const },
      undefined
    ]
  ])("%s", (_, redirect, context, port) => {
    const action = redirectAction(redirect, {}, context)
    expect(action.portRedirect).toBe(port)
  })

  it("names an exact host when the Location must lose the request's port", () => {
    const exact = { listenerScheme: "http" as const, listenerPort: 80, hostname: "www.example.com" }
    expect(redirectAction({ scheme: "https", statusCode: 301 }, {}, exact).hostRedirect).toBe("www.example.com")
    expect(redirectAction({ port: 8443, statusCode: 301 }, {}, exact).hostRedirect).toBeUndefined()
    expect(
      redirectAction({ scheme: "https", statusCode: 301 }, {}, { ...exact, hostname: "*.example.com" }).hostRedirect
    ).toBe(undefined)
    expect(redirectAction({ hostname: "b.example.com", statusCode: 301 }, {}, exact).hostRedirect).toBe("b.example.com")
  })
})

describe("CORS origins", () => {
  const matches = (origin: string, candidate: string): boolean => {
    const m = originMatcher(origin).matchPattern
    // Envoy's StringMatcher safe_regex matches the whole value.
    return m.case === "exact" ? m.value === candidate : RE2JS.compile(`^(?:${m.value.regex})$`).test(candidate)
  }
  it.each([
    ["*", "https://anything.example", true],
    ["https://app.example.com", "https://app.example.com", true],
    ["https://app.example.com", "http://app.example.com", false],
    ["https://app.example.com:443", "https://app.example.com", true],
    ["http://app.example.com:8080", "http://app.example.com:8080", true],
    ["http://app.example.com:8080", "http://app.example.com", false],
    ["https://*.example.org", "https://a.example.org", true],
    ["https://*.example.org", "https://a.b.example.org", true],
    ["https://*.example.org", "https://example.org", false],
    ["https://*.example.org", "https://a.example.org.evil.com", false],
    ["https://*.example.org", "https://evil.com/.example.org", false],
    ["https://*.example.org", "https://a.example.org:8443", false]
  ])("%s allows %s: %s", (origin, candidate, expected) => {
    expect(matches(origin, candidate)).toBe(expected)
  })

  it("never answers * to credentialed requests for methods", () => {
    expect(corsPolicy({ allowOrigins: ["*"], allowMethods: ["*"], allowCredentials: true }).allowMethods).toBe(
      "GET,HEAD,POST,PUT,DELETE,CONNECT,OPTIONS,TRACE,PATCH"
    )
    expect(corsPolicy({ allowOrigins: ["*"], allowMethods: ["*"] }).allowMethods).toBe("*")
  })
})

describe("durations and percentages", () => {
  it("parses Gateway API durations", () => {
    expect(parseDurationMs("1h30m")).toBe(5_400_000)
    expect(parseDurationMs("100ms")).toBe(100)
    expect(parseDurationMs("1m1s1ms")).toBe(61_001)
    expect(parseDurationMs("0s")).toBe(0)
    expect(parseDurationMs("10")).toBeUndefined()
    expect(parseDurationMs("1d")).toBeUndefined()
    expect(durationOfMs(1500)).toEqual({ seconds: 1n, nanos: 500_000_000 })
    expect(durationOfMs(2000)).toEqual({ seconds: 2n })
  })

  it("keeps mirror fractions to a millionth", () => {
    expect(fractionalPercent(25)).toEqual({ numerator: 25, denominator: 0 })
    expect(fractionalPercent(100 / 3)).toEqual({ numerator: 333_333, denominator: 2 })
    expect(fractionalPercent(0.0001)).toEqual({ numerator: 1, denominator: 2 })
  })
})

const web = {
  name: "httproute/default/r/rule/0",
  settings: [
    {
      weight: 1,
      backend: { kind: "Service", namespace: "default", name: "web", port: 80 },
      protocol: "HTTP" as const,
      endpoints: [{ address: "10.0.0.1", port: 80, health: "Healthy" as const }]
    }
  ]
}

const routeOf = (overrides: Partial<HttpRouteIR>): HttpRouteIR => ({
  name: "httproute/default/r/rule/0/match/0/*",
  source: { kind: "HTTPRoute", namespace: "default", name: "r", rule: 0, match: 0 },
  match: { path: { type: "PathPrefix", value: "/" } },
  destination: web,
  ...overrides
})

const configOf = (...routes: ReadonlyArray<HttpRouteIR>): RouteConfigIR => ({
  name: "default/gw/http",
  virtualHosts: [{ name: "http/*", hostname: "*", routes }]
})

const context = { listenerScheme: "http" as const, listenerPort: 80 }

/** The route as Envoy receives it: checked by PGV and round-tripped. */
const envoyRoute = (route: HttpRouteIR) => {
  const rc = translateRouteConfig(configOf(route), context)
  expect(validateMessage(RouteConfigurationSchema, rc)).toEqual([])
  roundTrip(RouteConfigurationSchema, rc)
  const out = rc.virtualHosts[0]?.routes[0]
  if (out === undefined) throw new Error("no route")
  return out
}

describe("routes", () => {
  it("matches path prefixes element-wise", () => {
    expect(envoyRoute(routeOf({ match: prefix("/foo") })).match?.pathSpecifier).toEqual({
      case: "pathSeparatedPrefix",
      value: "/foo"
    })
    expect(envoyRoute(routeOf({ match: prefix("/foo//") })).match?.pathSpecifier).toEqual({
      case: "pathSeparatedPrefix",
      value: "/foo"
    })
    expect(envoyRoute(routeOf({ match: prefix("/") })).match?.pathSpecifier).toEqual({ case: "prefix", value: "/" })
    const regex = envoyRoute(routeOf({ match: prefix("/a#b") })).match?.pathSpecifier
    expect(regex?.case).toBe("safeRegex")
    const compiled = RE2JS.compile(`^(?:${regex?.case === "safeRegex" ? regex.value.regex : ""})$`)
    expect(["/a#b", "/a#b/", "/a#b/c"].map((p) => compiled.test(p))).toEqual([true, true, true])
    expect(["/a#bc", "/a#"].map((p) => compiled.test(p))).toEqual([false, false])
  })

  it("matches methods as :method and lower-cases header names", () => {
    const route = envoyRoute(
      routeOf({ match: { method: "PATCH", headers: [{ name: "X-Tenant", type: "Exact", value: "a" }] } })
    )
    expect(route.match?.headers.map((h) => h.name)).toEqual([":method", "x-tenant"])
  })

  it("uses the request timeout, or the backend one when there is a single attempt", () => {
    const timeout = (timeouts: HttpRouteIR["timeouts"], retry?: HttpRouteIR["retry"]) => {
      const action = envoyRoute(
        routeOf({ ...(timeouts === undefined ? {} : { timeouts }), ...(retry === undefined ? {} : { retry }) })
      ).action
      return action.case === "route"
        ? [action.value.timeout?.seconds, action.value.retryPolicy?.perTryTimeout?.seconds]
        : []
    }
    expect(timeout({ request: "10s" })).toEqual([10n, undefined])
    expect(timeout({ backendRequest: "3s" })).toEqual([3n, undefined])
    expect(timeout({ request: "10s", backendRequest: "3s" })).toEqual([3n, undefined])
    expect(timeout({ request: "0s", backendRequest: "3s" })).toEqual([3n, undefined])
    expect(timeout({ request: "0s" })).toEqual([0n, undefined])
    expect(timeout({ request: "10s", backendRequest: "3s" }, { attempts: 2 })).toEqual([10n, 3n])
    expect(timeout({ backendRequest: "0s" }, { attempts: 2 })).toEqual([undefined, undefined])
    expect(timeout(undefined)).toEqual([undefined, undefined])
  })

  it("retries connection errors always and the listed codes when given", () => {
    const policy = (retry: NonNullable<HttpRouteIR["retry"]>) => {
      const action = envoyRoute(routeOf({ retry })).action
      return action.case === "route" ? action.value.retryPolicy : undefined
    }
    expect(policy({ codes: [500, 503], attempts: 2, backoff: "250ms" })).toMatchObject({
      retryOn: "connect-failure,refused-stream,reset,retriable-status-codes",
      numRetries: 2,
      retriableStatusCodes: [500, 503],
      retryBackOff: { baseInterval: { seconds: 0n, nanos: 250_000_000 } }
    })
    const bare = policy({})
    expect(bare?.retryOn).toBe("connect-failure,refused-stream,reset")
    expect(bare?.numRetries).toBeUndefined()
    expect(bare?.retryBackOff).toBeUndefined()
    expect(policy({ backoff: "0s" })?.retryBackOff).toBeUndefined()
  })

  it("mirrors to the mirror's cluster, with a fraction below 100%", () => {
    const mirror = (percent?: number) => ({
      destination: { ...web, name: `${web.name}/mirror/0` },
      ...(percent === undefined ? {} : { percent })
    })
    const action = envoyRoute(routeOf({ mirrors: [mirror(), mirror(50), mirror(100)] })).action
    if (action.case !== "route") throw new Error("not forwarded")
    expect(
      action.value.requestMirrorPolicies.map((m) => [m.cluster, m.runtimeFraction?.defaultValue?.numerator])
    ).toEqual([
      [`${web.name}/mirror/0`, undefined],
      [`${web.name}/mirror/0`, 50],
      [`${web.name}/mirror/0`, undefined]
    ])
  })

  it("answers 500 when no valid backend carries weight", () => {
    const invalid = { ...web.settings[0]!, invalid: { reason: "BackendNotFound", message: "gone" } }
    for (const settings of [[], [{ ...web.settings[0]!, weight: 0 }], [invalid]]) {
      const action = envoyRoute(routeOf({ destination: { ...web, settings } })).action
      expect(action).toEqual(expect.objectContaining({ case: "directResponse" }))
      expect(action.case === "directResponse" ? action.value.status : 0).toBe(500)
    }
  })

  it("leaves pseudo-headers and host out of header mutations", () => {
    const route = envoyRoute(
      routeOf({
        requestHeaders: {
          set: [{ name: "HOST", value: "a.example.com" }],
          add: [{ name: "host", value: "b" }],
          remove: ["Host"]
        },
        responseHeaders: { set: [{ name: "host", value: "fine-on-responses" }] }
      })
    )
    expect(route.requestHeadersToAdd).toEqual([])
    expect(route.requestHeadersToRemove).toEqual([])
    expect(route.responseHeadersToAdd.map((h) => h.header?.key)).toEqual(["host"])
    expect(route.action.case === "route" ? route.action.value.hostRewriteSpecifier : undefined).toEqual({
      case: "hostRewriteLiteral",
      value: "a.example.com"
    })
    // A URLRewrite hostname wins over a Host header set.
    const both = envoyRoute(
      routeOf({
        urlRewrite: { hostname: "rewrite.example.com" },
        requestHeaders: { set: [{ name: "host", value: "x" }] }
      })
    )
    expect(both.action.case === "route" ? both.action.value.hostRewriteSpecifier.value : undefined).toBe(
      "rewrite.example.com"
    )
  })

  it("puts a route's CORS policy on that route only", () => {
    const withCors = translateRoute(routeOf({ cors: { allowOrigins: ["https://a.example.com"] } }), {
      ...context,
      hostname: "*"
    })
    const without = translateRoute(routeOf({}), { ...context, hostname: "*" })
    const rc = create(RouteConfigurationSchema, { virtualHosts: [{ name: "v", domains: ["*"], routes: [withCors] }] })
    expect(Object.keys(rc.virtualHosts[0]?.routes[0]?.typedPerFilterConfig ?? {})).toEqual(["envoy.filters.http.cors"])
    expect(without.typedPerFilterConfig).toBeUndefined()
  })
})
