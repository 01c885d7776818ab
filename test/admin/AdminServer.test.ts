/**
 * src/admin: the admin HTTP server over real sockets (fetch, keep-alive included) against a real
 * SnapshotCache and a StatusSource fed from a SubscriptionRef; plus the pure Prometheus rendering.
 * Every server test runs with a fresh Effect metric registry, so counters start at zero.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, type Scope, SubscriptionRef } from "effect"
import { parse as parseYaml } from "yaml"
import { AdminServer } from "../../src/admin/AdminServer.ts"
import { effectFamilies, renderFamilies } from "../../src/admin/Metrics.ts"
import { initialStatusView, StatusSource, type StatusView } from "../../src/admin/StatusSource.ts"
import { SnapshotCache } from "../../src/xds/SnapshotCache.ts"
import {
  assignment,
  captureLogs,
  edsCluster,
  fleetResources,
  httpFleet,
  httpListener,
  routeConfig,
  TypeUrl,
  tlsSecret
} from "../support/adsClient.ts"

interface Env {
  readonly base: string
  readonly port: number
  readonly view: SubscriptionRef.SubscriptionRef<StatusView>
}

const serverLayer = (address: string, view: SubscriptionRef.SubscriptionRef<StatusView>) =>
  AdminServer.layer({ address }).pipe(
    Layer.provideMerge(SnapshotCache.layer),
    Layer.provide(StatusSource.fromRef(view)),
    Layer.provideMerge(captureLogs([]))
  )

/** Runs `body` against a fresh admin server on a free port of 127.0.0.1 (stopped when `body` ends). */
const withAdmin = <A, E>(body: (env: Env) => Effect.Effect<A, E, SnapshotCache | AdminServer | Scope.Scope>) =>
  Effect.gen(function* () {
    const view = yield* SubscriptionRef.make(initialStatusView)
    return yield* Effect.gen(function* () {
      const server = yield* AdminServer
      return yield* body({ base: `http://${server.address}`, port: server.port, view })
    }).pipe(Effect.scoped, Effect.provide(serverLayer("127.0.0.1:0", view)))
  }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))

interface Answer {
  readonly status: number
  readonly contentType: string
  readonly headers: Headers
  readonly body: string
}

const request = (url: string, init?: RequestInit) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(url, init)
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      headers: response.headers,
      body: await response.text()
    }
  })

const getJson = (url: string) => Effect.map(request(url), (answer) => ({ ...answer, json: JSON.parse(answer.body) }))

const node = (fleet: string, id: string) => ({ fleet, id })

/** A fleet with a TLS listener, so that it holds a Secret with an inline private key. */
const tlsFleet = (fleet: string) =>
  fleetResources(fleet, {
    listeners: [httpListener("l", "r", { secret: "cert" })],
    routes: [routeConfig("r", ["c1", "c2"])],
    clusters: [edsCluster("c1"), edsCluster("c2")],
    endpoints: [assignment("c1", 9000), assignment("c2", 9001)],
    secrets: [tlsSecret("cert")]
  })

const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|[Nn]a[Nn]|[+-]Inf)$/

/**
 * Checks Prometheus text format line by line (NaN in any case, as Prometheus' float parser takes it:
 * prom-client prints `Nan`); returns the family names declared by `# TYPE`. */
const checkExposition = (text: string): ReadonlyArray<string> => {
  assert.isTrue(text.endsWith("\n"), "ends with a newline")
  const families: Array<string> = []
  let current = ""
  for (const line of text.slice(0, -1).split("\n")) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$/.exec(line)
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    // Blank lines are allowed between families (prom-client and we print one there).
    if (help !== null || line === "") continue
    if (type !== null) {
      current = type[1] ?? ""
      assert.notInclude(families, current, `family ${current} declared twice`)
      families.push(current)
      continue
    }
    const sample = SAMPLE.exec(line)
    assert.isNotNull(sample, `not a Prometheus line: ${line}`)
    assert.isTrue(sample?.[1]?.startsWith(current), `${line} outside its family ${current}`)
  }
  return families
}

describe("AdminServer", () => {
  it.live("/healthz answers ok; /readyz is 503 with the reason until the view turns ready", () =>
    withAdmin(({ base, view }) =>
      Effect.gen(function* () {
        const health = yield* request(`${base}/healthz`)
        assert.strictEqual(health.status, 200)
        assert.strictEqual(health.body, "ok\n")
        assert.include(health.contentType, "text/plain")
        const notReady = yield* request(`${base}/readyz`)
        assert.strictEqual(notReady.status, 503)
        assert.include(notReady.body, "waiting for the initial sync")
        yield* SubscriptionRef.set(view, { ...initialStatusView, ready: true, generation: 1 })
        const ready = yield* request(`${base}/readyz`)
        assert.strictEqual(ready.status, 200)
        assert.strictEqual(ready.body, "ok\n")
      })
    )
  )

  it.live("/metrics: process metrics, Effect metrics with attributes, and the scrape gauges", () =>
    withAdmin(({ base, view }) =>
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c"]))
        yield* cache.recordAck(node("f", "envoy-0"), TypeUrl.Cluster, "v1")
        yield* cache.recordNack(node("f", "envoy-0"), TypeUrl.Listener, "n1", "bad listener")
        const latency = Metric.histogram("portico_test_latency_seconds", {
          description: "a test histogram",
          boundaries: [0.1, 1]
        })
        yield* Metric.update(latency, 0.5)
        yield* SubscriptionRef.set(view, {
          ready: true,
          generation: 7,
          errors: [{ source: "gw.yaml", message: "bad" }],
          objects: []
        })
        const answer = yield* request(`${base}/metrics`)
        assert.strictEqual(answer.status, 200)
        assert.include(answer.contentType, "text/plain; version=0.0.4")
        const families = checkExposition(answer.body)
        for (const family of ["process_cpu_user_seconds_total", "nodejs_heap_size_total_bytes"])
          assert.include(families, family)
        const lines = answer.body.split("\n")
        for (const line of [
          "portico_xds_fleets 1",
          'portico_xds_connected_nodes{fleet="f"} 1',
          "portico_config_errors 1",
          "portico_translation_generation 7",
          "portico_ready 1",
          "# TYPE portico_xds_nacks_total counter",
          'portico_xds_nacks_total{fleet="f",type="Listener"} 1',
          "# TYPE portico_test_latency_seconds histogram",
          'portico_test_latency_seconds_bucket{le="0.1"} 0',
          'portico_test_latency_seconds_bucket{le="1"} 1',
          'portico_test_latency_seconds_bucket{le="+Inf"} 1',
          "portico_test_latency_seconds_sum 0.5",
          "portico_test_latency_seconds_count 1"
        ])
          assert.include(lines, line)
      })
    )
  )

  it.live("/config_dump lists the fleets with their snapshot versions", () =>
    withAdmin(({ base }) =>
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(tlsFleet("f"))
        const { status, contentType, json } = yield* getJson(`${base}/config_dump`)
        assert.strictEqual(status, 200)
        assert.include(contentType, "application/json")
        assert.strictEqual(json.fleets.length, 1)
        assert.strictEqual(json.fleets[0].name, "f")
        assert.match(json.fleets[0].version, /^[0-9a-f]{64}$/)
        assert.deepStrictEqual(json.fleets[0].resources, {
          Cluster: 2,
          ClusterLoadAssignment: 2,
          Secret: 1,
          Listener: 1,
          RouteConfiguration: 1
        })
      })
    )
  )

  it.live("/config_dump?fleet= shows resources (keys redacted), node statuses and the last rejection", () =>
    withAdmin(({ base }) =>
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(tlsFleet("f"))
        yield* cache.recordAck(node("f", "envoy-0"), TypeUrl.Cluster, "v1")
        yield* cache.recordNack(node("f", "envoy-0"), TypeUrl.Listener, "n7", "invalid listener: port taken")
        yield* Effect.ignore(cache.setResources({ ...tlsFleet("f"), routes: [] }))
        const answer = yield* getJson(`${base}/config_dump?fleet=f`)
        assert.strictEqual(answer.status, 200)
        assert.notInclude(answer.body, "BEGIN PRIVATE KEY")
        assert.include(answer.body, "BEGIN CERTIFICATE")
        assert.include(answer.body, '\n  "kind": "XdsConfig"')
        const dump = answer.json
        assert.strictEqual(dump.fleet, "f")
        assert.deepStrictEqual(
          dump.listeners.map((l: { name: string }) => l.name),
          ["l"]
        )
        assert.deepStrictEqual(
          dump.clusters.map((c: { name: string }) => c.name),
          ["c1", "c2"]
        )
        assert.strictEqual(dump.listeners[0]["@type"], TypeUrl.Listener)
        assert.match(dump.secrets[0].tlsCertificate.privateKey.inlineString, /^\[redacted: \d+ bytes/)
        assert.strictEqual(dump.nodes.length, 1)
        const types = dump.nodes[0].types
        assert.strictEqual(dump.nodes[0].id, "envoy-0")
        const listener = types.find((t: { type: string }) => t.type === "Listener")
        assert.isTrue(listener.rejecting)
        assert.strictEqual(listener.lastNack.errorDetail, "invalid listener: port taken")
        assert.strictEqual(types.find((t: { type: string }) => t.type === "Cluster").ackedVersion, "v1")
        assert.include(dump.lastRejection.message, 'RouteConfiguration "r"')

        const yaml = yield* request(`${base}/config_dump?fleet=f&format=yaml`)
        assert.include(yaml.contentType, "application/yaml")
        assert.notInclude(yaml.body, "BEGIN PRIVATE KEY")
        assert.strictEqual(parseYaml(yaml.body).listeners[0].name, "l")

        const unknown = yield* getJson(`${base}/config_dump?fleet=nope`)
        assert.strictEqual(unknown.status, 404)
        assert.deepStrictEqual(unknown.json.fleets, ["f"])
      })
    )
  )

  it.live("/status filters objects by kind, namespace and name, and redacts Secret data", () =>
    withAdmin(({ base, view }) =>
      Effect.gen(function* () {
        const object = (kind: string, namespace: string, name: string) => ({
          apiVersion: "gateway.networking.k8s.io/v1",
          kind,
          metadata: { namespace, name },
          status: { parents: [] }
        })
        yield* SubscriptionRef.set(view, {
          ready: true,
          generation: 3,
          errors: [{ source: "routes.yaml", message: "spec.rules[0]: invalid" }],
          objects: [
            object("Gateway", "default", "gw"),
            object("HTTPRoute", "default", "x"),
            object("HTTPRoute", "other", "x"),
            {
              apiVersion: "v1",
              kind: "Secret",
              metadata: { namespace: "default", name: "s" },
              data: { "tls.key": "S0VZ" }
            }
          ]
        })
        const all = (yield* getJson(`${base}/status`)).json
        assert.strictEqual(all.generation, 3)
        assert.isTrue(all.ready)
        assert.deepStrictEqual(all.errors, [{ source: "routes.yaml", message: "spec.rules[0]: invalid" }])
        assert.strictEqual(all.objects.length, 4)
        assert.notInclude(JSON.stringify(all), "S0VZ")
        const names = (query: string) =>
          Effect.map(getJson(`${base}/status?${query}`), ({ json }) =>
            json.objects.map((o: { kind: string; metadata: { namespace: string; name: string } }) =>
              [o.kind, o.metadata.namespace, o.metadata.name].join("/")
            )
          )
        assert.deepStrictEqual(yield* names("kind=HTTPRoute"), ["HTTPRoute/default/x", "HTTPRoute/other/x"])
        assert.deepStrictEqual(yield* names("kind=HTTPRoute&namespace=default&name=x"), ["HTTPRoute/default/x"])
        assert.deepStrictEqual(yield* names("namespace=nowhere"), [])
      })
    )
  )

  it.live("/xds/nodes lists every node's ACK/NACK status", () =>
    withAdmin(({ base }) =>
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.recordAck(node("f", "b"), TypeUrl.Cluster, "v1")
        yield* cache.recordNack(node("f", "a"), TypeUrl.RouteConfiguration, "n1", "no")
        const { status, json } = yield* getJson(`${base}/xds/nodes`)
        assert.strictEqual(status, 200)
        assert.deepStrictEqual(
          json.nodes.map((n: { id: string }) => n.id),
          ["a", "b"]
        )
        assert.strictEqual(json.nodes[0].types[0].lastNack.errorDetail, "no")
      })
    )
  )

  it.live("answers 405 to other methods and 404 with the endpoint list to unknown paths", () =>
    withAdmin(({ base }) =>
      Effect.gen(function* () {
        const post = yield* request(`${base}/status`, { method: "POST", body: "{}" })
        assert.strictEqual(post.status, 405)
        assert.strictEqual(post.headers.get("allow"), "GET")
        assert.include(post.contentType, "application/json")
        const missing = yield* getJson(`${base}/nope`)
        assert.strictEqual(missing.status, 404)
        assert.include(
          missing.json.endpoints.map((e: { path: string }) => e.path),
          "/config_dump"
        )
        const badFormat = yield* request(`${base}/status?format=xml`)
        assert.strictEqual(badFormat.status, 400)
      })
    )
  )

  it.live("a second server on the same port fails with AdminServerError; a bad address too", () =>
    withAdmin(({ port, view }) =>
      Effect.gen(function* () {
        const address = `127.0.0.1:${port}`
        const error = yield* Effect.flip(Effect.scoped(Layer.build(serverLayer(address, view))))
        assert.strictEqual(error._tag, "AdminServerError")
        assert.include(error.message, address)
        assert.include(error.message, "already in use")
        const bad = yield* Effect.flip(Effect.scoped(Layer.build(serverLayer("localhost", view))))
        assert.include(bad.message, "expected host:port")
      })
    )
  )

  it.live("closing the scope frees the port at once, keep-alive connections included", () =>
    Effect.gen(function* () {
      const view = yield* SubscriptionRef.make(initialStatusView)
      const port = yield* Effect.gen(function* () {
        const server = yield* AdminServer
        // fetch keeps the connection alive: the close must not wait for it.
        assert.strictEqual((yield* request(`http://${server.address}/healthz`)).status, 200)
        return server.port
      }).pipe(Effect.scoped, Effect.provide(serverLayer("127.0.0.1:0", view)))
      const again = yield* Effect.gen(function* () {
        const server = yield* AdminServer
        assert.strictEqual(server.port, port)
        return yield* request(`http://${server.address}/healthz`)
      }).pipe(Effect.scoped, Effect.provide(serverLayer(`127.0.0.1:${port}`, view)))
      assert.strictEqual(again.status, 200)
    }).pipe(Effect.timeout("5 seconds"))
  )
})

describe("Metrics rendering", () => {
  it("renders Effect snapshots with sorted, escaped labels, one type per family", () => {
    const text = renderFamilies(
      effectFamilies([
        {
          id: "jobs.done",
          type: "Counter",
          description: "jobs\ndone",
          attributes: { z: "1", a: 'quo"te\\' },
          state: { count: 3, incremental: true }
        },
        { id: "jobs.done", type: "Gauge", description: undefined, attributes: undefined, state: { value: 1 } },
        {
          id: "queue",
          type: "Counter",
          description: undefined,
          attributes: undefined,
          state: { count: 2n, incremental: false }
        },
        {
          id: "codes",
          type: "Frequency",
          description: "codes",
          attributes: undefined,
          state: { occurrences: new Map([["200", 4]]) }
        },
        {
          id: "latency",
          type: "Summary",
          description: "latency",
          attributes: undefined,
          state: {
            quantiles: [
              [0.5, 2],
              [0.99, undefined]
            ],
            count: 2,
            min: 1,
            max: 3,
            sum: 4
          }
        }
      ])
    )
    checkExposition(text)
    const lines = text.split("\n")
    for (const line of [
      "# HELP jobs_done jobs\\ndone",
      "# TYPE jobs_done counter",
      'jobs_done{a="quo\\"te\\\\",z="1"} 3',
      "# TYPE queue gauge",
      "queue 2",
      'codes{key="200"} 4',
      'latency{quantile="0.5"} 2',
      'latency{quantile="0.99"} NaN',
      "latency_count 2"
    ])
      assert.include(lines, line)
    assert.notInclude(lines, "jobs_done 1")
  })
})
