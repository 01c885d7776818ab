/**
 * The standalone loop end to end: a folder of Gateway API YAML -> `portico serve`'s file provider
 * -> pipeline -> snapshot cache -> ADS server -> a real delta ADS client (the protocol Envoy's
 * bootstrap from `portico bootstrap` speaks). Writing a file reaches the client; a broken file
 * leaves the client on the last good configuration; fixing it recovers without a restart.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { afterEach, describe, expect } from "vitest"
import { AdminServer } from "../../src/admin/AdminServer.ts"
import { runStandalone, standaloneLayer } from "../../src/cli/ServeCommand.ts"
import { Pipeline } from "../../src/Pipeline.ts"
import { fleetNameOf } from "../../src/reconcilers/Gateway.ts"
import { AdsServer } from "../../src/xds/AdsServer.ts"
import { RouteConfigurationSchema } from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import type { DeltaDiscoveryResponse } from "../../src/xds/proto/envoy/service/discovery/v3/discovery_pb.ts"
import { unpack } from "../../src/xds/Registry.ts"
import { captureLogs, type DeltaClient, deltaAck, deltaClient, TypeUrl } from "../support/adsClient.ts"

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: eg
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: eg
  namespace: default
spec:
  gatewayClassName: eg
  listeners:
    - name: http
      protocol: HTTP
      port: 8888
`
const BACKEND = `apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: default
spec:
  ports:
    - port: 3000
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-local
  namespace: default
  labels:
    kubernetes.io/service-name: backend
addressType: IPv4
ports:
  - port: 3000
endpoints:
  - addresses: ["127.0.0.1"]
    conditions:
      ready: true
`
const route = (hostname: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: backend
  namespace: default
spec:
  parentRefs:
    - name: eg
  hostnames:
    - ${hostname}
  rules:
    - backendRefs:
        - name: backend
          port: 3000
`

const ROUTE_CONFIG = "default/eg/http"
const dirs: Array<string> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** Domains of the route configuration in a delta RDS response, or undefined when it has none. */
const domainsIn = (response: DeltaDiscoveryResponse): ReadonlyArray<string> | undefined => {
  if (response.typeUrl !== TypeUrl.RouteConfiguration) return undefined
  const resource = response.resources.find((r) => r.name === ROUTE_CONFIG)?.resource
  if (resource === undefined) return undefined
  const config = unpack(resource, RouteConfigurationSchema)
  return config?.virtualHosts.flatMap((vh) => vh.domains)
}

/** Reads (and ACKs) responses until one carries the route configuration with `domain`. */
const untilDomain = (client: DeltaClient, domain: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 50; i += 1) {
      const response = yield* client.next(5000)
      yield* client.send(deltaAck(response))
      if (domainsIn(response)?.includes(domain) === true) return response
    }
    return yield* Effect.fail(new Error(`no route configuration with ${domain}`))
  })

describe("portico serve (standalone)", () => {
  it.live(
    "files reach a real ADS client; a broken file keeps the last good config; fixing it recovers",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "portico-serve-"))
        dirs.push(dir)
        writeFileSync(join(dir, "gateway.yaml"), GATEWAY)
        writeFileSync(join(dir, "backend.yaml"), BACKEND)
        writeFileSync(join(dir, "route.yaml"), route("www.example.com"))
        const options = {
          path: dir,
          xdsAddress: "127.0.0.1:0",
          adminAddress: "127.0.0.1:0",
          controllerName: "gateway.envoyproxy.io/gatewayclass-controller",
          watch: { debounce: "50 millis", rescan: "500 millis" }
        } as const
        yield* Effect.gen(function* () {
          const fiber = yield* Effect.forkScoped(runStandalone(options))
          const pipeline = yield* Pipeline
          const ads = yield* AdsServer
          const client = yield* deltaClient(ads.address, { id: "envoy-1", cluster: fleetNameOf("default", "eg") })
          yield* client.send({ typeUrl: TypeUrl.Cluster })
          yield* client.send({ typeUrl: TypeUrl.Listener })
          yield* client.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNamesSubscribe: [ROUTE_CONFIG] })
          yield* untilDomain(client, "www.example.com")
          // The admin server shows the same state: ready, the fleet, the route's status.
          const admin = yield* AdminServer
          const ready = yield* Effect.promise(() => fetch(`http://${admin.address}/readyz`))
          expect(ready.status).toBe(200)
          const status = (yield* Effect.promise(() =>
            fetch(`http://${admin.address}/status?kind=HTTPRoute`).then((r) => r.json())
          )) as { objects: ReadonlyArray<{ metadata: { name: string } }> }
          expect(status.objects.map((o) => o.metadata.name)).toEqual(["backend"])
          const dump = yield* Effect.promise(() => fetch(`http://${admin.address}/config_dump`).then((r) => r.text()))
          expect(dump).toContain(fleetNameOf("default", "eg"))

          // A new hostname in the file reaches the client.
          writeFileSync(join(dir, "route.yaml"), route("www2.example.com"))
          yield* untilDomain(client, "www2.example.com")

          // A broken file: the client hears nothing new, the error names the file and place.
          writeFileSync(join(dir, "route.yaml"), `${route("www3.example.com")}  oops: [\n`)
          let errors: ReadonlyArray<{ readonly source: string; readonly message: string }> = []
          for (let i = 0; i < 100 && errors.length === 0; i += 1) {
            yield* Effect.sleep("50 millis")
            errors = (yield* pipeline.view).errors
          }
          expect(errors.map((e) => e.source)).toEqual([join(dir, "route.yaml")])
          expect(errors[0]?.message).toMatch(/line \d+, column \d+/)
          expect(errors[0]?.message).toContain("serving its last good version")
          yield* client.silence(700)
          const statuses = (yield* pipeline.view).objects.filter((o) => o.kind === "HTTPRoute")
          expect(statuses.map((o) => (o.spec as { hostnames?: ReadonlyArray<string> }).hostnames)).toEqual([
            ["www2.example.com"]
          ])

          // An invalid object (schema): its last valid version keeps serving.
          writeFileSync(join(dir, "route.yaml"), route("www3.example.com").replace("port: 3000", "port: 0"))
          errors = []
          for (let i = 0; i < 100 && !errors.some((e) => e.message.includes("backendRefs")); i += 1) {
            yield* Effect.sleep("50 millis")
            errors = (yield* pipeline.view).errors
          }
          expect(errors.map((e) => e.message)).toEqual([
            "HTTPRoute default/backend: spec.rules[0].backendRefs[0].port: expected a value between 1 and 65535, got 0; serving its last valid version"
          ])
          expect(errors[0]?.source).toBe(`${join(dir, "route.yaml")}: document 1`)
          yield* client.silence(700)

          // Fixed: applied without a restart.
          writeFileSync(join(dir, "route.yaml"), route("www3.example.com"))
          yield* untilDomain(client, "www3.example.com")
          expect((yield* pipeline.view).errors).toEqual([])
          yield* Fiber.interrupt(fiber)
        }).pipe(Effect.scoped, Effect.provide(standaloneLayer(options)))
      }).pipe(Effect.provide(Layer.merge(NodeServices.layer, captureLogs([])))),
    30_000
  )
})
