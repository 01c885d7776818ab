/**
 * A real xDS client against our control plane: `@grpc/grpc-js-xds` 1.14.1 dials
 * `xds:///<hostname>`, fetches the proxyless API listener, route configuration, clusters and
 * endpoints from our ADS server, and makes real gRPC calls to real gRPC backends on 127.0.0.1.
 * Everything on the way is ours: Gateway API objects -> translateObjects -> translateFleet ->
 * withProxyless -> SnapshotCache -> AdsServer.
 *
 * Weighted split tolerance: Gateway API's conformance weight tests accept each backend's observed
 * share within 5 percentage points of its configured share (e.g. 80/20 passes with 75..85 / 15..25
 * percent); with 500 calls and round-robin-free random picking the standard deviation of an 80%
 * share is ~1.8 points, so ±5 points is > 2.7 sigma.
 */
import { create } from "@bufbuild/protobuf"
import * as grpc from "@grpc/grpc-js"
import { Effect, Exit, Layer, ManagedRuntime, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { FleetXds } from "../../src/ir/Xds.ts"
import { translateObjects } from "../../src/reconcilers/Translate.ts"
import { AdsServer } from "../../src/xds/AdsServer.ts"
import { PROXYLESS_ROUTE_PREFIX, withProxyless } from "../../src/xds/Proxyless.ts"
import { ListenerSchema } from "../../src/xds/proto/envoy/config/listener/v3/listener_pb.ts"
import { HttpConnectionManagerSchema } from "../../src/xds/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import { pack } from "../../src/xds/Registry.ts"
import type { FleetResources } from "../../src/xds/Resources.ts"
import { SnapshotCache } from "../../src/xds/SnapshotCache.ts"
import { adsConfigSource } from "../../src/xds/translate/Ads.ts"
import { translateFleet } from "../../src/xds/translate/Fleet.ts"
import { router } from "../../src/xds/translate/filters/Router.ts"
import { captureLogs } from "../support/adsClient.ts"
import { type Backend, grpcBackends, type MethodName } from "../support/grpcBackends.ts"
import { type XdsTestClient, xdsClient } from "../support/grpcXdsClient.ts"

const HOST = "grpc.example.com"
const NS = "default"

const gatewayObjects = [
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "portico" },
    spec: { controllerName: "gateway.envoyproxy.io/gatewayclass-controller" }
  },
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gw", namespace: NS },
    spec: { gatewayClassName: "portico", listeners: [{ name: "http", protocol: "HTTP", port: 80 }] }
  }
]

const service = (backend: Backend) => [
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: backend.name, namespace: NS },
    spec: { clusterIP: "10.96.0.10", ports: [{ name: "grpc", port: 9000, targetPort: backend.port }] }
  },
  {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${backend.name}-x1`, namespace: NS, labels: { "kubernetes.io/service-name": backend.name } },
    addressType: "IPv4",
    ports: [{ name: "grpc", port: backend.port, protocol: "TCP" }],
    endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
  }
]

const ref = (name: string, weight?: number) => ({ name, port: 9000, ...(weight === undefined ? {} : { weight }) })

const grpcRoute = (name: string, rules: ReadonlyArray<unknown>) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GRPCRoute",
  metadata: { name, namespace: NS },
  spec: { parentRefs: [{ name: "gw" }], hostnames: [HOST], rules }
})

/** The routing under test; `pingTo` is where `test.Other/Ping` goes (the live-update knob). */
const routeRules = (pingTo: ReadonlyArray<{ readonly name: string; readonly weight?: number }>) => [
  // a: exact method -> alpha; b: header x-pick: beta on the same method -> beta (more specific first).
  {
    matches: [{ method: { service: "test.Echo", method: "Hello" }, headers: [{ name: "x-pick", value: "beta" }] }],
    backendRefs: [ref("beta")]
  },
  { matches: [{ method: { service: "test.Echo", method: "Hello" } }], backendRefs: [ref("alpha")] },
  { matches: [{ method: { service: "test.Echo", method: "Bye" } }], backendRefs: [ref("beta")] },
  // c / d: weighted, and the one a live update changes.
  {
    matches: [{ method: { service: "test.Other", method: "Ping" } }],
    backendRefs: pingTo.map((b) => ref(b.name, b.weight))
  }
]

interface Env {
  readonly backends: ReadonlyArray<Backend>
  readonly fleet: FleetXds
}

const runtime = ManagedRuntime.make(
  AdsServer.layer({ address: "127.0.0.1:0", ackTimeout: "2 seconds" }).pipe(
    Layer.provideMerge(SnapshotCache.layer),
    Layer.provideMerge(captureLogs([]))
  )
)
const scope = Effect.runSync(Scope.make())
let env: Env
let client: XdsTestClient
let adsAddress = ""

const translate = (backends: ReadonlyArray<Backend>, pingTo: Parameters<typeof routeRules>[0]): FleetXds => {
  const result = translateObjects([
    ...gatewayObjects,
    ...backends.flatMap(service),
    grpcRoute("echo", routeRules(pingTo))
  ])
  expect(result.errors).toEqual([])
  const fleet = result.ir.xds.fleets[0]
  if (fleet === undefined) throw new Error("no fleet")
  return fleet
}

const resourcesOf = (fleet: FleetXds): FleetResources => withProxyless(translateFleet(fleet), fleet)

const publish = (resources: FleetResources) =>
  runtime.runPromise(
    Effect.gen(function* () {
      const cache = yield* SnapshotCache
      yield* cache.setResources(resources)
    })
  )

const nackCount = () => runtime.runPromise(Effect.flatMap(SnapshotCache, (cache) => cache.nackCount))
const nodeStatuses = () => runtime.runPromise(Effect.flatMap(SnapshotCache, (cache) => cache.nodeStatuses))

const tally = async (n: number, method: MethodName, metadata?: Record<string, string>) => {
  const counts: Record<string, number> = {}
  for (let i = 0; i < n; i += 1) {
    const reply = await client.call(method, metadata)
    counts[reply.backend] = (counts[reply.backend] ?? 0) + 1
  }
  return counts
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Calls until `predicate` holds for a reply (the client applied a new config), or fails after `ms`. */
const until = async (method: MethodName, predicate: (backend: string) => boolean, ms = 8000) => {
  const deadline = Date.now() + ms
  for (;;) {
    const reply = await client.call(method)
    if (predicate(reply.backend)) return
    if (Date.now() > deadline) throw new Error(`still ${reply.backend} after ${ms} ms`)
    await sleep(20)
  }
}

beforeAll(async () => {
  adsAddress = await runtime.runPromise(Effect.map(AdsServer, (server) => server.address))
  const backends = await Effect.runPromise(Scope.provide(grpcBackends(["alpha", "beta", "gamma"]), scope))
  const fleet = translate(backends, [
    { name: "alpha", weight: 80 },
    { name: "beta", weight: 20 }
  ])
  env = { backends, fleet }
  await publish(resourcesOf(fleet))
  client = await Effect.runPromise(Scope.provide(xdsClient(adsAddress, fleet.name, HOST), scope))
}, 20_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await runtime.dispose()
})

describe("proxyless gRPC with @grpc/grpc-js-xds", () => {
  it("serves an API listener per authority whose route configuration holds the GRPCRoute routes", () => {
    const resources = resourcesOf(env.fleet)
    const names = resources.listeners.map((l) => l.name)
    expect(names).toContain(HOST)
    expect(names).toContain(`${HOST}:80`)
    const rc = resources.routes.find((r) => r.name === `${PROXYLESS_ROUTE_PREFIX}${HOST}`)
    expect(rc?.virtualHosts.map((vh) => vh.domains)).toEqual([[HOST]])
    expect(rc?.virtualHosts[0]?.routes.length).toBe(4)
  })

  it("a: exact method matching reaches the right backend", async () => {
    expect(await tally(10, "hello")).toEqual({ alpha: 10 })
    expect(await tally(10, "bye")).toEqual({ beta: 10 })
  })

  it("b: a request header selects the backend", async () => {
    expect(await tally(10, "hello", { "x-pick": "beta" })).toEqual({ beta: 10 })
    expect(await tally(10, "hello", { "x-pick": "gamma" })).toEqual({ alpha: 10 })
  })

  it("c: an 80/20 split over 500 calls lands within ±5 percentage points", async () => {
    const counts = await tally(500, "ping")
    expect((counts.alpha ?? 0) + (counts.beta ?? 0)).toBe(500)
    const alpha = (counts.alpha ?? 0) / 5
    const beta = (counts.beta ?? 0) / 5
    expect(Math.abs(alpha - 80)).toBeLessThanOrEqual(5)
    expect(Math.abs(beta - 20)).toBeLessThanOrEqual(5)
  })

  it("d: changing the route while calls stream causes zero failed calls and moves traffic", async () => {
    let failures = 0
    let running = true
    const seen: Array<string> = []
    const loop = (async () => {
      while (running) {
        try {
          seen.push((await client.call("ping")).backend)
        } catch {
          failures += 1
        }
      }
    })()
    await sleep(300)
    await publish(resourcesOf(translate(env.backends, [{ name: "gamma" }])))
    await until("ping", (backend) => backend === "gamma")
    await sleep(300)
    running = false
    await loop
    expect(failures).toBe(0)
    expect(seen.slice(-20).every((b) => b === "gamma")).toBe(true)
    expect(seen.some((b) => b === "alpha")).toBe(true)
  })

  it("e: a NACKed update leaves the client serving its previous config; the next good one applies", async () => {
    const before = await nackCount()
    // Still decodable, but grpc-js-xds rejects an API listener whose router filter is not last (here twice).
    const good = resourcesOf(translate(env.backends, [{ name: "beta" }]))
    const bad: FleetResources = {
      ...good,
      listeners: good.listeners.map((listener) =>
        listener.name === HOST
          ? create(ListenerSchema, {
              name: HOST,
              apiListener: {
                apiListener: pack(
                  HttpConnectionManagerSchema,
                  create(HttpConnectionManagerSchema, {
                    statPrefix: HOST,
                    routeSpecifier: {
                      case: "rds",
                      value: { configSource: adsConfigSource(), routeConfigName: `${PROXYLESS_ROUTE_PREFIX}${HOST}` }
                    },
                    httpFilters: [router.filter(), router.filter()]
                  })
                )
              }
            })
          : listener
      )
    }
    // Keep ping on gamma in the bad snapshot's routes too, so only the listener differs from now.
    const current = resourcesOf(translate(env.backends, [{ name: "gamma" }]))
    await publish({ ...bad, routes: current.routes, clusters: current.clusters, endpoints: current.endpoints })
    const deadline = Date.now() + 5000
    while ((await nackCount()) === before && Date.now() < deadline) await sleep(50)
    expect(await nackCount()).toBeGreaterThan(before)
    const statuses = await nodeStatuses()
    const mine = statuses.find((s) => s.fleet === env.fleet.name)
    expect(mine?.types.some((t) => t.nacks > 0 && t.lastNack !== undefined)).toBe(true)
    // Still serving, with the previous config.
    expect(await tally(20, "ping")).toEqual({ gamma: 20 })
    expect(await tally(5, "hello")).toEqual({ alpha: 5 })
    // A good update (the listener back, the route changed) is applied.
    await publish(good)
    await until("ping", (backend) => backend === "beta")
    expect(await tally(20, "ping")).toEqual({ beta: 20 })
  })

  it("f: a method whose only backend is missing fails UNAVAILABLE; the other methods keep working", async () => {
    const rules = routeRules([{ name: "beta" }]).map((rule, i) =>
      i === 2 ? { ...rule, backendRefs: [ref("missing")] } : rule
    )
    const result = translateObjects([...gatewayObjects, ...env.backends.flatMap(service), grpcRoute("echo", rules)])
    const fleet = result.ir.xds.fleets[0]
    if (fleet === undefined) throw new Error("no fleet")
    await publish(resourcesOf(fleet))
    const failure = async () => {
      try {
        await client.call("bye")
        return undefined
      } catch (error) {
        return (error as { code?: number }).code
      }
    }
    const deadline = Date.now() + 8000
    let code = await failure()
    while (code === undefined && Date.now() < deadline) {
      await sleep(50)
      code = await failure()
    }
    expect(code).toBe(grpc.status.UNAVAILABLE)
    expect(await tally(10, "hello")).toEqual({ alpha: 10 })
    expect(await tally(10, "ping")).toEqual({ beta: 10 })
    // Fixing the backend recovers the method.
    await publish(resourcesOf(translate(env.backends, [{ name: "beta" }])))
    const fixedBy = Date.now() + 8000
    while ((await failure()) !== undefined && Date.now() < fixedBy) await sleep(50)
    expect(await tally(10, "bye")).toEqual({ beta: 10 })
  })
})
