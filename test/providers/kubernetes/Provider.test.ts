/**
 * src/providers/kubernetes/Provider.ts: readiness before the first snapshot, coalescing of bursts,
 * EDS-only batches, invalid objects reported alongside the snapshot, and what is kept (and never
 * logged) of Secrets. Against the fake API server; the coalescer alone under the TestClock.
 */
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { Effect, Layer, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { KubeClient } from "../../../src/providers/kubernetes/KubeClient.ts"
import {
  CORE_KINDS,
  coalesce,
  GATEWAY_API_KINDS,
  KubernetesProvider,
  type ProviderOptions,
  type ProviderSnapshot
} from "../../../src/providers/kubernetes/Provider.ts"
import { type CapturedLog, captureLogs } from "../../support/adsClient.ts"
import {
  ENDPOINTSLICES,
  eventually,
  FakeApiServer,
  GATEWAYS,
  type Json,
  SECRETS,
  SERVICES
} from "../../support/kube/FakeApiServer.ts"

const byKind = (kind: string) => [...GATEWAY_API_KINDS, ...CORE_KINDS].filter((k) => k.type.kind === kind)
const KINDS = ["Gateway", "HTTPRoute", "Service", "Secret", "EndpointSlice"].flatMap(byKind)
const OPTIONS: ProviderOptions = {
  kinds: KINDS,
  backoffBase: "40 millis",
  missingRetry: "200 millis",
  quiet: 100,
  maxDelay: 1000
}
const ALL_KINDS = [
  "EndpointSlice.discovery.k8s.io",
  "Gateway.gateway.networking.k8s.io",
  "HTTPRoute.gateway.networking.k8s.io",
  "Secret",
  "Service"
]

const service = (name: string): Json => ({ metadata: { name, namespace: "default" }, spec: { ports: [{ port: 80 }] } })
const slice = (name: string, ip: string): Json => ({
  metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": "svc" } },
  addressType: "IPv4",
  endpoints: [{ addresses: [ip] }]
})

let fake: FakeApiServer
let logs: Array<CapturedLog>
beforeEach(async () => {
  fake = await FakeApiServer.start([GATEWAYS, SERVICES, SECRETS, ENDPOINTSLICES])
  logs = []
})
afterEach(async () => {
  await fake.close()
})

/** Runs the provider's snapshot stream in the background, collecting snapshots. */
const withProvider = <A, E>(body: (snapshots: Array<ProviderSnapshot>) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const provider = yield* KubernetesProvider
    const snapshots: Array<ProviderSnapshot> = []
    yield* provider.snapshots.pipe(
      Stream.runForEach((s) => Effect.sync(() => snapshots.push(s))),
      Effect.forkChild
    )
    return yield* body(snapshots)
  }).pipe(
    Effect.provide(
      KubernetesProvider.layer(OPTIONS).pipe(
        Layer.provide(KubeClient.layerFromKubeConfig(fake.kubeConfig())),
        Layer.provideMerge(captureLogs(logs))
      )
    )
  )

const until = (check: () => boolean, what: string, timeoutMs = 5000) =>
  Effect.promise(() => eventually(check, timeoutMs, what))
const last = (snapshots: ReadonlyArray<ProviderSnapshot>) => snapshots[snapshots.length - 1]!

describe("KubernetesProvider", () => {
  it.live("emits nothing until every kind's initial list is done or its CRD known missing", () =>
    withProvider((snapshots) =>
      Effect.gen(function* () {
        fake.failNext("services", "list", 500, 3)
        yield* until(() => fake.requestsOf("services", "list").length === 4, "the services list")
        assert.strictEqual(snapshots.length, 0, "no snapshot before Services are listed")
        yield* until(() => snapshots.length === 1, "the first snapshot")
        const first = snapshots[0]!
        assert.strictEqual(first.generation, 1)
        assert.deepStrictEqual([...first.changedKinds].sort(), ALL_KINDS)
        assert.isFalse(first.endpointsOnly)
        assert.deepStrictEqual(first.missingKinds, ["HTTPRoute.gateway.networking.k8s.io"])
      })
    )
  )

  it.live("batches a burst of 100 changes into a few snapshots", () =>
    withProvider((snapshots) =>
      Effect.gen(function* () {
        yield* until(() => snapshots.length === 1, "the first snapshot")
        for (let i = 0; i < 100; i++) fake.put("services", service(`s${i}`))
        yield* until(() => last(snapshots).snapshot.services.size === 100, "all 100 services")
        yield* Effect.sleep("300 millis")
        assert.isAtMost(snapshots.length - 1, 3)
        assert.deepStrictEqual([...last(snapshots).changedKinds], ["Service"])
      })
    )
  )

  it.live("closes a batch after at most maxDelay under a steady trickle of changes", () =>
    withProvider((snapshots) =>
      Effect.gen(function* () {
        yield* until(() => snapshots.length === 1, "the first snapshot")
        for (let i = 0; i < 60; i++) {
          fake.put("services", service(`s${i}`))
          yield* Effect.sleep("25 millis")
        }
        yield* until(() => last(snapshots).snapshot.services.size === 60, "all 60 services")
        const batches = snapshots.length - 1
        assert.isAtLeast(batches, 2, "a snapshot within maxDelay, not only after the trickle")
        assert.isAtMost(batches, 6)
      })
    )
  )

  it.live("flags batches of EndpointSlice changes alone as EDS-only", () =>
    withProvider((snapshots) =>
      Effect.gen(function* () {
        yield* until(() => snapshots.length === 1, "the first snapshot")
        fake.put("endpointslices", slice("svc-1", "10.0.0.1"))
        yield* until(() => snapshots.length === 2, "the EndpointSlice snapshot")
        const eds = snapshots[1]!
        assert.isTrue(eds.endpointsOnly)
        assert.deepStrictEqual([...eds.changedKinds], ["EndpointSlice.discovery.k8s.io"])
        assert.strictEqual(eds.snapshot.endpointSlices.get("default/svc")?.[0]?.endpoints[0]?.addresses[0], "10.0.0.1")
        fake.put("services", service("svc"))
        fake.put("endpointslices", slice("svc-1", "10.0.0.2"))
        yield* until(() => snapshots.length === 3, "the mixed snapshot")
        assert.isFalse(snapshots[2]!.endpointsOnly)
        assert.deepStrictEqual([...snapshots[2]!.changedKinds].sort(), ["EndpointSlice.discovery.k8s.io", "Service"])
      })
    )
  )

  it.live("reports invalid objects alongside the snapshot instead of dropping them silently", () =>
    withProvider((snapshots) =>
      Effect.gen(function* () {
        fake.put("gateways", { metadata: { name: "bad", namespace: "infra" }, spec: { gatewayClassName: "eg" } })
        fake.put("gateways", {
          metadata: { name: "good", namespace: "infra" },
          spec: { gatewayClassName: "eg", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] }
        })
        yield* until(() => snapshots.length === 1, "the first snapshot")
        const { snapshot, errors, objects } = snapshots[0]!
        assert.deepStrictEqual(
          snapshot.gateways.map((g) => g.metadata.name),
          ["good"]
        )
        const error = errors.find((e) => e.name === "bad")
        assert.strictEqual(error?.kind, "Gateway")
        assert.strictEqual(error?.namespace, "infra")
        assert.strictEqual(error?.path, "spec.listeners")
        assert.strictEqual(objects[error?.index ?? -1]?.metadata.name, "bad")
        assert.isTrue(logs.some((l) => l.level === "Warn" && l.message.startsWith("invalid Gateway left out")))
      })
    )
  )

  it.live("keeps data only of TLS and Opaque Secrets, and never logs secret contents", () =>
    withProvider((snapshots) =>
      Effect.gen(function* () {
        const pem = Buffer.from("-----BEGIN CERTIFICATE-----").toString("base64")
        fake.put("secrets", {
          metadata: { name: "tls", namespace: "default" },
          type: "kubernetes.io/tls",
          data: { "tls.crt": pem, "tls.key": pem }
        })
        fake.put("secrets", {
          metadata: { name: "token", namespace: "default" },
          type: "kubernetes.io/service-account-token",
          data: { token: Buffer.from("TOKEN-VALUE").toString("base64") }
        })
        fake.put("secrets", {
          metadata: { name: "broken", namespace: "default" },
          type: "Opaque",
          data: { password: "SUPERSECRET!!" }
        })
        yield* until(() => snapshots.length === 1, "the first snapshot")
        const { snapshot, errors, objects } = snapshots[0]!
        assert.strictEqual(snapshot.secrets.get("default/tls")?.data?.["tls.crt"], pem)
        assert.isDefined(snapshot.secrets.get("default/token"))
        assert.isUndefined(snapshot.secrets.get("default/token")?.data)
        assert.isUndefined(objects.find((o) => o.metadata.name === "token")?.data)
        assert.isUndefined(snapshot.secrets.get("default/broken"))
        const broken = errors.find((e) => e.name === "broken")
        assert.strictEqual(broken?.path, "data.password")
        assert.notInclude(broken?.message ?? "", "SUPERSECRET")
        const logged = JSON.stringify(logs)
        assert.include(logged, "invalid Secret left out")
        assert.notInclude(logged, "SUPERSECRET")
        assert.notInclude(logged, pem)
      })
    )
  )
})

const settle = Effect.repeat(Effect.yieldNow, { times: 10 })

describe("coalesce", () => {
  it.effect("closes a batch after `quiet` without changes, or `maxDelay` after its first", () =>
    Effect.gen(function* () {
      const changes = yield* Queue.unbounded<string>()
      const batches: Array<ReadonlyArray<string>> = []
      yield* coalesce(Stream.fromQueue(changes), { quiet: 100, maxDelay: 1000 }).pipe(
        Stream.runForEach((batch) => Effect.sync(() => batches.push([...batch].sort()))),
        Effect.forkChild
      )
      const advance = (millis: number) => Effect.andThen(TestClock.adjust(millis), settle)
      yield* settle
      yield* Queue.offerAll(changes, ["b", "a", "b"])
      yield* advance(99)
      assert.deepStrictEqual(batches, [])
      yield* advance(1)
      assert.deepStrictEqual(batches, [["a", "b"]])
      // A change every 50 ms never leaves 100 ms of quiet: batches close at maxDelay.
      for (let i = 0; i < 30; i++) {
        yield* Queue.offer(changes, i % 3 === 0 ? "x" : "y")
        yield* advance(50)
      }
      assert.deepStrictEqual(batches, [
        ["a", "b"],
        ["x", "y"]
      ])
      yield* advance(1000)
      assert.deepStrictEqual(batches, [
        ["a", "b"],
        ["x", "y"],
        ["x", "y"]
      ])
    })
  )
})
