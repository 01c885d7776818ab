/**
 * The Kubernetes provider against a real kube-apiserver + etcd (test/support/kube/EnvTest.ts):
 * the watcher and the provider see a Gateway and an HTTPRoute created (by server-side apply),
 * updated and deleted; and KubeClient's status writes, leases and TokenReview behave as the fake
 * server claims (409 on a stale resourceVersion, authenticated ServiceAccount tokens).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import { isConflict, type KubeObject } from "../../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../../src/providers/kubernetes/KubeClient.ts"
import {
  GATEWAY_API_KINDS,
  KubernetesProvider,
  type ProviderSnapshot,
  WATCHED_KINDS
} from "../../../src/providers/kubernetes/Provider.ts"
import { makeStore, type StoreUpdate } from "../../../src/providers/kubernetes/Store.ts"
import { watchKind } from "../../../src/providers/kubernetes/Watcher.ts"
import { captureLogs } from "../../support/adsClient.ts"
import { type EnvTest, startEnvTest } from "../../support/kube/EnvTest.ts"
import { eventually } from "../../support/kube/FakeApiServer.ts"

/** The first build of kube-apiserver and etcd takes minutes (`make envtest` does it ahead). */
const START_TIMEOUT_MS = 30 * 60_000
const NS = "portico-provider"
const GATEWAY_TYPE = GATEWAY_API_KINDS.find((k) => k.type.kind === "Gateway")!.type

const gateway = (listenerPort: number): KubeObject => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "gw", namespace: NS },
  spec: { gatewayClassName: "portico", listeners: [{ name: "http", port: listenerPort, protocol: "HTTP" }] }
})
const route = (hostname: string): KubeObject => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "route", namespace: NS },
  spec: {
    parentRefs: [{ name: "gw" }],
    hostnames: [hostname],
    rules: [{ backendRefs: [{ name: "echo", port: 80 }] }]
  }
})

let env: EnvTest
beforeAll(async () => {
  env = await startEnvTest({ namespaces: [NS] })
}, START_TIMEOUT_MS)
afterAll(async () => {
  await env?.stop()
})

const withKube = <A, E>(body: Effect.Effect<A, E, KubeClient>) =>
  body.pipe(Effect.provide([KubeClient.layerFromKubeConfig(env.kubeConfig), captureLogs([])]))
const until = (check: () => boolean, what: string) => Effect.promise(() => eventually(check, 20_000, what))

describe("Kubernetes provider against kube-apiserver", () => {
  it.live("the watcher sees a Gateway applied, re-applied and deleted", () =>
    withKube(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const updates: Array<StoreUpdate> = []
        yield* watchKind(GATEWAY_TYPE).pipe(
          Stream.runForEach((u) => Effect.sync(() => updates.push(u))),
          Effect.forkChild
        )
        yield* until(() => updates.length === 1, "the initial list")
        assert.strictEqual(updates[0]?._tag, "Replace")
        yield* kube.serverSideApply(gateway(80))
        yield* kube.serverSideApply(gateway(8080))
        yield* kube.delete(GATEWAY_TYPE, { namespace: NS, name: "gw" })
        yield* until(() => updates.length === 4, "three watch events")
        assert.deepStrictEqual(
          updates.map((u) => u._tag),
          ["Replace", "Upsert", "Upsert", "Delete"]
        )
        const modified = updates[2]
        const spec =
          modified?._tag === "Upsert" ? (modified.object.spec as { listeners: Array<{ port: number }> }) : null
        assert.strictEqual(spec?.listeners[0]?.port, 8080)
        // The server tracks our field manager; the store drops managedFields on ingest.
        assert.isDefined(modified?._tag === "Upsert" ? modified.object.metadata.managedFields : undefined)
        const store = yield* makeStore(["Gateway.gateway.networking.k8s.io"])
        for (const update of updates.slice(0, 3)) yield* store.apply(update)
        const stored = Option.getOrThrow(yield* store.get("Gateway.gateway.networking.k8s.io", `${NS}/gw`))
        assert.isUndefined(stored.metadata.managedFields)
      })
    )
  )

  it.live(
    "watches the server keeps closing (1 s timeout) resume from their resourceVersion: no event lost, no relist",
    () =>
      withKube(
        Effect.gen(function* () {
          const kube = yield* KubeClient
          const named = (name: string): KubeObject => ({ ...gateway(80), metadata: { name, namespace: NS } })
          const updates: Array<StoreUpdate> = []
          yield* watchKind(GATEWAY_TYPE, { watchTimeoutSeconds: 1 }).pipe(
            Stream.runForEach((u) => Effect.sync(() => updates.push(u))),
            Effect.forkChild
          )
          yield* until(() => updates.length >= 1, "the initial list")
          // Changes spread over ~4 s: the server ends the watch several times meanwhile.
          for (let i = 0; i < 8; i += 1) {
            yield* kube.serverSideApply(named(`closing-${i}`))
            if (i % 2 === 1) yield* kube.delete(GATEWAY_TYPE, { namespace: NS, name: `closing-${i - 1}` })
            yield* Effect.sleep("500 millis")
          }
          const names = Effect.gen(function* () {
            const fresh = yield* makeStore(["Gateway.gateway.networking.k8s.io"])
            for (const update of updates) yield* fresh.apply(update)
            const all = yield* fresh.list("Gateway.gateway.networking.k8s.io")
            return all
              .map((o) => o.metadata.name)
              .filter((n) => n.startsWith("closing-"))
              .sort()
          })
          const expected = ["closing-1", "closing-3", "closing-5", "closing-7"]
          let seen: ReadonlyArray<string> = []
          for (let i = 0; i < 100 && seen.join() !== expected.join(); i += 1) {
            yield* Effect.sleep("100 millis")
            seen = yield* names
          }
          assert.deepStrictEqual(seen, expected)
          // Resumed, never relisted: one Replace (the initial list), every change as its own event.
          assert.strictEqual(updates.filter((u) => u._tag === "Replace").length, 1)
          assert.strictEqual(updates.filter((u) => u._tag === "Delete").length, 4)
          for (const name of expected) yield* kube.delete(GATEWAY_TYPE, { namespace: NS, name })
        })
      )
  )

  it.live("the provider's snapshots follow a Gateway and an HTTPRoute through create, update and delete", () =>
    withKube(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const provider = yield* KubernetesProvider
        const snapshots: Array<ProviderSnapshot> = []
        yield* provider.snapshots.pipe(
          Stream.runForEach((s) => Effect.sync(() => snapshots.push(s))),
          Effect.forkChild
        )
        const latest = () => snapshots[snapshots.length - 1]
        yield* until(() => snapshots.length >= 1, "the first snapshot")
        assert.deepStrictEqual(latest()?.missingKinds, [])
        assert.isTrue(latest()?.snapshot.namespaces.has(NS))

        yield* kube.serverSideApply(gateway(80))
        yield* kube.serverSideApply(route("a.example.com"))
        yield* until(() => latest()?.snapshot.httpRoutes.length === 1, "the route")
        const created = latest()!
        assert.deepStrictEqual(
          created.snapshot.gateways.map((g) => `${g.metadata.namespace}/${g.metadata.name}`),
          [`${NS}/gw`]
        )
        assert.deepStrictEqual(created.snapshot.httpRoutes[0]?.spec.hostnames, ["a.example.com"])
        assert.deepStrictEqual(created.errors, [])

        yield* kube.serverSideApply(route("b.example.com"))
        yield* until(() => latest()?.snapshot.httpRoutes[0]?.spec.hostnames?.[0] === "b.example.com", "the update")
        assert.deepStrictEqual([...latest()!.changedKinds], ["HTTPRoute.gateway.networking.k8s.io"])

        yield* kube.delete(
          { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" },
          { namespace: NS, name: "route" }
        )
        yield* kube.delete(GATEWAY_TYPE, { namespace: NS, name: "gw" })
        yield* until(
          () => latest()?.snapshot.httpRoutes.length === 0 && latest()?.snapshot.gateways.length === 0,
          "the deletions"
        )
      }).pipe(Effect.provide(KubernetesProvider.layer({ kinds: WATCHED_KINDS })))
    )
  )

  it.live("status writes carry the resourceVersion: a stale replace or patch is a 409 Conflict", () =>
    withKube(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const applied = yield* kube.serverSideApply({ ...gateway(80), metadata: { name: "status-gw", namespace: NS } })
        const status = { conditions: [] }
        const written = yield* kube.replaceStatus({ ...applied, status })
        assert.notStrictEqual(written.metadata.resourceVersion, applied.metadata.resourceVersion)
        const stale = yield* Effect.flip(kube.replaceStatus({ ...applied, status }))
        assert.isTrue(isConflict(stale))
        const ref = { namespace: NS, name: "status-gw" }
        const staleRv = applied.metadata.resourceVersion ?? ""
        const conflict = yield* Effect.flip(
          kube.patchStatus(GATEWAY_TYPE, ref, { status }, { resourceVersion: staleRv })
        )
        assert.isTrue(isConflict(conflict))
        yield* kube.patchStatus(
          GATEWAY_TYPE,
          ref,
          { status },
          { resourceVersion: written.metadata.resourceVersion ?? "" }
        )
      })
    )
  )

  it.live("leases and TokenReview", () =>
    withKube(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        assert.isTrue(Option.isNone(yield* kube.getLease(NS, "leader")))
        const lease = yield* kube.createLease({
          metadata: { name: "leader", namespace: NS },
          spec: { holderIdentity: "a", leaseDurationSeconds: 15 }
        })
        yield* kube.replaceLease({ ...lease, spec: { ...lease.spec, holderIdentity: "b" } })
        const stale = yield* Effect.flip(kube.replaceLease({ ...lease, spec: { holderIdentity: "c" } }))
        assert.isTrue(isConflict(stale))
        assert.strictEqual(Option.getOrUndefined(yield* kube.getLease(NS, "leader"))?.spec.holderIdentity, "b")
        const token = yield* Effect.promise(() => env.serviceAccountToken(NS, "envoy"))
        const review = yield* kube.createTokenReview(token)
        assert.isTrue(review.authenticated)
        assert.strictEqual(review.user?.username, `system:serviceaccount:${NS}:envoy`)
        assert.isFalse((yield* kube.createTokenReview("not-a-token")).authenticated)
      })
    )
  )
})
