/**
 * translateFleet as a whole: every IR the Gateway API translator produces (the standalone example
 * and every `test/golden/translate` input) yields resources that round-trip, pass PGV and Envoy's
 * own checks; the output is deterministic and sorted; filters appear only when used; clusters are
 * shared, not duplicated; a large fleet translates fast. Also proves the test helpers catch what
 * they claim to (a checker that never fails proves nothing).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { create, equals, toBinary } from "@bufbuild/protobuf"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { DestinationIR, FleetXds, HttpRouteIR, ListenerIR } from "../../src/ir/Xds.ts"
import { parseDocuments } from "../../src/providers/file/Documents.ts"
import { DEFAULT_CONTROLLER_NAME, translateObjects } from "../../src/reconcilers/Translate.ts"
import { ClusterSchema } from "../../src/xds/proto/envoy/config/cluster/v3/cluster_pb.ts"
import { ClusterLoadAssignmentSchema } from "../../src/xds/proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import { ListenerSchema } from "../../src/xds/proto/envoy/config/listener/v3/listener_pb.ts"
import { RouteConfigurationSchema } from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import { HttpConnectionManagerSchema } from "../../src/xds/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import { SecretSchema } from "../../src/xds/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"
import { unpack } from "../../src/xds/Registry.ts"
import type { FleetResources } from "../../src/xds/Resources.ts"
import { INVALID_BACKEND_CLUSTER } from "../../src/xds/translate/Destination.ts"
import { translateFleet } from "../../src/xds/translate/Fleet.ts"
import { validateMessage } from "../support/pgv.ts"
import { assertRoundTrip, envoyViolations } from "../support/xds.ts"

const repo = fileURLToPath(new URL("../..", import.meta.url))

/** The xDS IR fleets of a Gateway API YAML file, through the real pipeline. */
const fleetsOf = (file: string): ReadonlyArray<FleetXds> => {
  const parsed = parseDocuments(file, readFileSync(file, "utf8"))
  if (Result.isFailure(parsed)) return []
  const result = translateObjects(
    parsed.success.map((d) => d.object),
    { controllerName: DEFAULT_CONTROLLER_NAME }
  )
  return result.errors.length > 0 ? [] : result.ir.xds.fleets
}

const hcms = (resources: FleetResources) =>
  resources.listeners.flatMap((l) =>
    l.filterChains.flatMap((fc) =>
      fc.filters.flatMap((f) => {
        const hcm =
          f.configType.case === "typedConfig" ? unpack(f.configType.value, HttpConnectionManagerSchema) : undefined
        return hcm === undefined ? [] : [hcm]
      })
    )
  )

const destination = (name: string, address = "10.0.0.1"): DestinationIR => ({
  name,
  settings: [
    {
      weight: 1,
      backend: { kind: "Service", namespace: "default", name: "web", port: 80 },
      protocol: "HTTP",
      endpoints: [{ address, port: 80, health: "Healthy" }]
    }
  ]
})

const route = (name: string, overrides: Partial<HttpRouteIR> = {}): HttpRouteIR => ({
  name,
  source: { kind: "HTTPRoute", namespace: "default", name: "r", rule: 0, match: 0 },
  match: { path: { type: "PathPrefix", value: `/${name}` } },
  destination: destination(`httproute/default/${name}/rule/0`),
  ...overrides
})

const httpListener = (name: string, port: number, routes: ReadonlyArray<HttpRouteIR>): ListenerIR => ({
  name,
  address: "0.0.0.0",
  port,
  gatewayListeners: [name],
  type: "HTTP",
  routeConfig: { name, virtualHosts: [{ name: `${name}/*`, hostname: "*", routes }] }
})

const fleet = (listeners: ReadonlyArray<ListenerIR>): FleetXds => ({
  name: "envoy-default-gw-00000000",
  gateway: { namespace: "default", name: "gw" },
  listeners,
  secrets: []
})

describe("translateFleet on the Gateway API translator's IR", () => {
  const inputs = [
    join(repo, "examples/standalone"),
    ...readdirSync(join(repo, "test/golden/translate"))
      .filter((f) => f.endsWith(".in.yaml"))
      .sort()
      .map((f) => join(repo, "test/golden/translate", f))
  ]

  it.each(inputs.map((path) => [path.slice(repo.length)]))("%s", (relative) => {
    const path = join(repo, relative)
    const files = relative.endsWith(".yaml")
      ? [path]
      : readdirSync(path)
          .sort()
          .map((f) => join(path, f))
    const fleets = files.length === 1 ? fleetsOf(files[0] ?? "") : fleetsFromDirectory(files)
    for (const f of fleets) {
      const resources = translateFleet(f)
      assertRoundTrip(resources)
      // Same IR, same messages, same bytes.
      const again = translateFleet(f)
      for (const [schema, a, b] of [
        [ListenerSchema, resources.listeners, again.listeners],
        [RouteConfigurationSchema, resources.routes, again.routes],
        [ClusterSchema, resources.clusters, again.clusters],
        [ClusterLoadAssignmentSchema, resources.endpoints, again.endpoints],
        [SecretSchema, resources.secrets, again.secrets]
      ] as const) {
        expect(b.length).toBe(a.length)
        a.forEach((message, i) => {
          // biome-ignore lint/suspicious/noExplicitAny: one schema per tuple, checked by the loop above
          expect(equals(schema as any, message, b[i] as any)).toBe(true)
          // biome-ignore lint/suspicious/noExplicitAny: as above
          expect(toBinary(schema as any, message)).toEqual(toBinary(schema as any, b[i] as any))
        })
      }
    }
  })
})

/** Documents of several files translated together, as `portico translate -f DIR` does. */
function fleetsFromDirectory(files: ReadonlyArray<string>): ReadonlyArray<FleetXds> {
  const objects = files.flatMap((file) => {
    const parsed = parseDocuments(file, readFileSync(file, "utf8"))
    return Result.isFailure(parsed) ? [] : parsed.success.map((d) => d.object)
  })
  return translateObjects(objects, { controllerName: DEFAULT_CONTROLLER_NAME }).ir.xds.fleets
}

describe("translateFleet", () => {
  it("binds ports below 1024 at +10000 and names listeners after the IR", () => {
    const out = translateFleet(
      fleet([httpListener("default/gw/http", 80, []), httpListener("default/gw/alt", 8080, [])])
    )
    assertRoundTrip(out)
    expect(
      out.listeners.map((l) => [
        l.name,
        l.address?.address.case === "socketAddress" ? l.address.address.value.portSpecifier.value : undefined
      ])
    ).toEqual([
      ["default/gw/alt", 8080],
      ["default/gw/http", 10080]
    ])
  })

  it("adds the CORS filter and the websocket upgrade only where a route needs them, router last", () => {
    const plain = httpListener("default/gw/plain", 80, [route("a")])
    const rich = httpListener("default/gw/rich", 8080, [
      route("b", { cors: { allowOrigins: ["https://a.example.com"] } }),
      route("c", { websocket: true })
    ])
    const out = translateFleet(fleet([plain, rich]))
    assertRoundTrip(out)
    const byRoute = new Map(
      hcms(out).map((h) => [h.routeSpecifier.case === "rds" ? h.routeSpecifier.value.routeConfigName : "", h])
    )
    expect(byRoute.get("default/gw/plain")?.httpFilters.map((f) => f.name)).toEqual(["envoy.filters.http.router"])
    expect(byRoute.get("default/gw/plain")?.upgradeConfigs).toEqual([])
    expect(byRoute.get("default/gw/rich")?.httpFilters.map((f) => f.name)).toEqual([
      "envoy.filters.http.cors",
      "envoy.filters.http.router"
    ])
    expect(byRoute.get("default/gw/rich")?.upgradeConfigs.map((u) => [u.upgradeType, u.enabled])).toEqual([
      ["websocket", false]
    ])
  })

  it("emits a cluster once however many routes and listeners use it, and never the invalid one", () => {
    const shared = destination("httproute/default/shared/rule/0")
    const invalid: DestinationIR = {
      name: "httproute/default/half/rule/0",
      settings: [
        ...destination("x").settings,
        {
          ...(destination("x").settings[0] as DestinationIR["settings"][number]),
          invalid: { reason: "BackendNotFound", message: "gone" }
        }
      ]
    }
    const out = translateFleet(
      fleet([
        httpListener("default/gw/a", 80, [route("a", { destination: shared }), route("b", { destination: shared })]),
        httpListener("default/gw/b", 81, [route("c", { destination: shared }), route("d", { destination: invalid })])
      ])
    )
    assertRoundTrip(out)
    expect(out.clusters.map((c) => c.name)).toEqual([
      "httproute/default/half/rule/0/backend/0",
      "httproute/default/shared/rule/0"
    ])
    expect(out.clusters.map((c) => c.name)).not.toContain(INVALID_BACKEND_CLUSTER)
    expect(out.endpoints.map((e) => e.clusterName)).toEqual(out.clusters.map((c) => c.name))
  })

  it("translates 10,000 routes well within the control plane's budget", () => {
    const routes = Array.from({ length: 10_000 }, (_, i) =>
      route(`r${i}`, {
        destination: destination(`httproute/default/r${i}/rule/0`, `10.0.${Math.floor(i / 250)}.${i % 250}`),
        requestHeaders: { set: [{ name: "x-route", value: String(i) }] }
      })
    )
    const ir = fleet([httpListener("default/gw/http", 80, routes)])
    translateFleet(ir) // warm up
    const start = performance.now()
    const out = translateFleet(ir)
    const elapsed = performance.now() - start
    expect(out.clusters.length).toBe(10_000)
    expect(out.routes[0]?.virtualHosts[0]?.routes.length).toBe(10_000)
    expect(elapsed, `${Math.round(elapsed)} ms`).toBeLessThan(2_000)
  })
})

describe("the test helpers catch what they check", () => {
  it("PGV: required fields, lengths, patterns, nested Any", () => {
    const rc = create(RouteConfigurationSchema, {
      name: "rc",
      virtualHosts: [
        {
          name: "",
          domains: [],
          routes: [
            {
              match: { pathSpecifier: { case: "pathSeparatedPrefix", value: "/trailing/" } },
              action: {
                case: "route",
                value: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [] } } }
              }
            },
            {}
          ]
        }
      ]
    })
    expect(validateMessage(RouteConfigurationSchema, rc)).toEqual([
      'RouteConfiguration.virtual_hosts[0].name: "" must have at least 1 characters',
      "RouteConfiguration.virtual_hosts[0].domains: at least 1 items required",
      'RouteConfiguration.virtual_hosts[0].routes[0].match.path_separated_prefix: "/trailing/" must match ^[^?#]+[^?#/]$',
      "RouteConfiguration.virtual_hosts[0].routes[0].route.weighted_clusters.clusters: at least 1 items required",
      "RouteConfiguration.virtual_hosts[0].routes[1].action: one of it is required",
      "RouteConfiguration.virtual_hosts[0].routes[1].match: required"
    ])
  })

  it("Envoy's checks: duplicate domains, unknown clusters, bad regexes, host mutations", () => {
    const good = translateFleet(fleet([httpListener("default/gw/http", 80, [route("a")])]))
    const rc = create(RouteConfigurationSchema, {
      name: "default/gw/http",
      virtualHosts: [
        {
          name: "v1",
          domains: ["a.example.com"],
          routes: [
            {
              name: "r",
              match: { pathSpecifier: { case: "safeRegex", value: { regex: "(unclosed" } } },
              action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: "nowhere" } } },
              requestHeadersToAdd: [{ header: { key: "Host", value: "x" } }]
            }
          ]
        },
        { name: "v2", domains: ["A.example.com"] }
      ]
    })
    const violations = envoyViolations({ ...good, routes: [rc] })
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^RouteConfiguration default\/gw\/http: regex \(unclosed is not RE2/),
        "RouteConfiguration default/gw/http: unknown cluster nowhere",
        "route configuration default/gw/http: domain a.example.com in two virtual hosts",
        "route configuration default/gw/http: r may not modify host"
      ])
    )
    expect(violations.length).toBe(4)
  })
})
