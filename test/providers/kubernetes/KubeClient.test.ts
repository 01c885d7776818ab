/**
 * src/providers/kubernetes/KubeClient.ts against the fake API server: paths, paging, watch event
 * parsing, server-side apply parameters, optimistic concurrency (409 as a tagged error), leases,
 * TokenReview, discovery, and configuration errors.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Result, Stream } from "effect"
import { isConflict, type KubeObject, type ResourceType } from "../../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../../src/providers/kubernetes/KubeClient.ts"
import { eventually, FakeApiServer, GATEWAYS, LEASES, SERVICES, verbOf } from "../../support/kube/FakeApiServer.ts"

const GATEWAY: ResourceType = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  plural: "gateways",
  namespaced: true
}
const SERVICE: ResourceType = { apiVersion: "v1", kind: "Service", plural: "services", namespaced: true }

const gateway = (name: string, namespace = "default") => ({
  metadata: { name, namespace },
  spec: { gatewayClassName: "eg", listeners: [] }
})

let fake: FakeApiServer
beforeEach(async () => {
  fake = await FakeApiServer.start([GATEWAYS, SERVICES, LEASES])
})
afterEach(async () => {
  await fake.close()
})

const withClient = <A, E>(body: Effect.Effect<A, E, KubeClient>) =>
  body.pipe(Effect.provide(KubeClient.layerFromKubeConfig(fake.kubeConfig())))

const listServices = Effect.gen(function* () {
  const kube = yield* KubeClient
  return yield* kube.list(SERVICE)
})

describe("KubeClient", () => {
  it.live("lists every page, fills apiVersion/kind of core items and returns the list's resourceVersion", () =>
    withClient(
      Effect.gen(function* () {
        for (let i = 0; i < 5; i++) fake.put("services", { metadata: { name: `s${i}`, namespace: "ns" }, spec: {} })
        const kube = yield* KubeClient
        const listed = yield* kube.list(SERVICE, { limit: 2 })
        assert.deepStrictEqual(
          listed.items.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace}/${o.metadata.name}`),
          ["v1/Service/ns/s0", "v1/Service/ns/s1", "v1/Service/ns/s2", "v1/Service/ns/s3", "v1/Service/ns/s4"]
        )
        assert.strictEqual(listed.resourceVersion, fake.resourceVersion)
        const lists = fake.requestsOf("services", "list")
        assert.strictEqual(lists.length, 3)
        assert.strictEqual(lists[0]?.path, "/api/v1/services")
        assert.strictEqual(lists[1]?.query.get("continue"), `2:${fake.resourceVersion}`)
      })
    )
  )

  it.live("gets an object; a missing one is a KubeApiError 404 naming kind, namespace and name", () =>
    withClient(
      Effect.gen(function* () {
        fake.put("gateways", gateway("gw", "infra"))
        const kube = yield* KubeClient
        const got = yield* kube.get(GATEWAY, { namespace: "infra", name: "gw" })
        assert.strictEqual(got.metadata.name, "gw")
        const missing = yield* Effect.flip(kube.get(GATEWAY, { namespace: "infra", name: "nope" }))
        assert.strictEqual(missing._tag, "KubeApiError")
        if (missing._tag !== "KubeApiError") return
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(missing.reason, "NotFound")
        assert.strictEqual(missing.kind, "Gateway")
        assert.strictEqual(missing.namespace, "infra")
        assert.strictEqual(missing.name, "nope")
        assert.include(missing.message, "get Gateway infra/nope: 404 NotFound")
      })
    )
  )

  it.live("watches: parses ADDED/MODIFIED/DELETED/BOOKMARK from a chunked stream, asks for bookmarks", () =>
    withClient(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const from = fake.resourceVersion
        const fiber = yield* kube
          .watch(GATEWAY, { resourceVersion: from })
          .pipe(Stream.take(4), Stream.runCollect, Effect.forkChild)
        yield* Effect.promise(() => eventually(() => fake.openWatches("gateways") === 1))
        fake.put("gateways", gateway("a"))
        fake.put("gateways", { ...gateway("a"), spec: { gatewayClassName: "other", listeners: [] } })
        fake.remove("gateways", "default", "a")
        const bookmark = fake.bookmark("gateways")
        const events = [...(yield* Fiber.join(fiber))]
        assert.deepStrictEqual(
          events.map((e) => e.type),
          ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
        )
        const last = events[3]
        assert.strictEqual(last?.type === "BOOKMARK" ? last.resourceVersion : undefined, bookmark)
        const request = fake.requestsOf("gateways", "watch")[0]
        assert.strictEqual(request?.query.get("resourceVersion"), from)
        assert.strictEqual(request?.query.get("allowWatchBookmarks"), "true")
      })
    )
  )

  it.live("a refused watch fails with the server's status (410 Expired)", () =>
    withClient(
      Effect.gen(function* () {
        fake.put("gateways", gateway("a"))
        fake.compact()
        const kube = yield* KubeClient
        const error = yield* Effect.flip(Stream.runDrain(kube.watch(GATEWAY, { resourceVersion: "1" })))
        assert.strictEqual(
          error._tag === "KubeApiError" ? `${error.status} ${error.reason}` : error._tag,
          "410 Expired"
        )
      })
    )
  )

  it.live("server-side apply: PATCH apply-patch+yaml, fieldManager portico, force; kind resolved by discovery", () =>
    withClient(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const applied = yield* kube.serverSideApply({
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "Gateway",
          metadata: { name: "gw", namespace: "infra" },
          spec: { gatewayClassName: "eg", listeners: [] }
        })
        assert.strictEqual(applied.metadata.namespace, "infra")
        const patch = fake.requests.find((r) => verbOf(r) === "apply")
        assert.strictEqual(patch?.path, "/apis/gateway.networking.k8s.io/v1/namespaces/infra/gateways/gw")
        assert.strictEqual(patch?.contentType, "application/apply-patch+yaml")
        assert.strictEqual(patch?.query.get("fieldManager"), "portico")
        assert.strictEqual(patch?.query.get("force"), "true")
        assert.isTrue(fake.requests.some((r) => r.path === "/apis/gateway.networking.k8s.io/v1"))
      })
    )
  )

  it.live("replaceStatus and patchStatus carry the resourceVersion: a stale one is a 409 Conflict", () =>
    withClient(
      Effect.gen(function* () {
        const stored = fake.put("gateways", gateway("gw")) as unknown as KubeObject
        const kube = yield* KubeClient
        const replaced = yield* kube.replaceStatus({ ...stored, status: { conditions: [{ type: "Accepted" }] } })
        assert.deepStrictEqual(replaced.status, { conditions: [{ type: "Accepted" }] })
        assert.isTrue(fake.requests.some((r) => r.method === "PUT" && r.path.endsWith("/gateways/gw/status")))
        const stale = yield* Effect.flip(kube.replaceStatus({ ...stored, status: {} }))
        assert.isTrue(isConflict(stale))
        const rv = replaced.metadata.resourceVersion ?? ""
        const patched = yield* kube.patchStatus(
          GATEWAY,
          { namespace: "default", name: "gw" },
          { status: { x: 1 } },
          {
            resourceVersion: rv
          }
        )
        assert.deepStrictEqual(patched.status, { conditions: [{ type: "Accepted" }], x: 1 })
        const patch = fake.requests.find((r) => r.method === "PATCH")
        assert.strictEqual(patch?.contentType, "application/merge-patch+json")
        assert.deepStrictEqual(JSON.parse(patch?.body ?? ""), { status: { x: 1 }, metadata: { resourceVersion: rv } })
        const conflict = yield* Effect.flip(
          kube.patchStatus(GATEWAY, { namespace: "default", name: "gw" }, { status: {} }, { resourceVersion: rv })
        )
        assert.isTrue(isConflict(conflict))
        assert.strictEqual(conflict._tag === "KubeApiError" ? conflict.reason : "", "Conflict")
      })
    )
  )

  it.live("deletes with DeleteOptions; deleting a missing object is a 404", () =>
    withClient(
      Effect.gen(function* () {
        fake.put("gateways", gateway("gw"))
        const kube = yield* KubeClient
        yield* kube.delete(GATEWAY, { namespace: "default", name: "gw" }, { propagationPolicy: "Background" })
        assert.isUndefined(fake.get("gateways", "default", "gw"))
        const body = JSON.parse(fake.requests.find((r) => r.method === "DELETE")?.body ?? "{}")
        assert.strictEqual(body.propagationPolicy, "Background")
        const again = yield* Effect.flip(kube.delete(GATEWAY, { namespace: "default", name: "gw" }))
        assert.strictEqual(again._tag === "KubeApiError" ? again.status : 0, 404)
      })
    )
  )

  it.live("leases: get (none when absent), create, replace; a stale replace is a 409", () =>
    withClient(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        assert.isTrue(Option.isNone(yield* kube.getLease("portico", "leader")))
        const created = yield* kube.createLease({
          metadata: { name: "leader", namespace: "portico" },
          spec: { holderIdentity: "a", leaseDurationSeconds: 15 }
        })
        assert.strictEqual(created.spec.holderIdentity, "a")
        const again = yield* Effect.flip(kube.createLease(created))
        assert.strictEqual(again._tag === "KubeApiError" ? again.reason : "", "AlreadyExists")
        const got = yield* kube.getLease("portico", "leader")
        assert.strictEqual(Option.getOrUndefined(got)?.spec.leaseDurationSeconds, 15)
        const renewed = yield* kube.replaceLease({ ...created, spec: { ...created.spec, holderIdentity: "b" } })
        assert.strictEqual(renewed.spec.holderIdentity, "b")
        const stale = yield* Effect.result(kube.replaceLease({ ...created, spec: { holderIdentity: "c" } }))
        assert.isTrue(Result.isFailure(stale) && isConflict(stale.failure))
      })
    )
  )

  it.live("creates TokenReviews and reads their status", () =>
    withClient(
      Effect.gen(function* () {
        fake.tokenReview = (token, audiences) =>
          token === "good"
            ? { authenticated: true, user: { username: "system:serviceaccount:infra:envoy", groups: ["g"] }, audiences }
            : { authenticated: false, error: "invalid token" }
        const kube = yield* KubeClient
        const good = yield* kube.createTokenReview("good", ["portico"])
        assert.isTrue(good.authenticated)
        assert.strictEqual(good.user?.username, "system:serviceaccount:infra:envoy")
        assert.deepStrictEqual(good.audiences, ["portico"])
        const bad = yield* kube.createTokenReview("bad")
        assert.isFalse(bad.authenticated)
        assert.strictEqual(bad.error, "invalid token")
      })
    )
  )

  it.live("a connection failure is a KubeTransportError", () =>
    Effect.gen(function* () {
      const kc = fake.kubeConfig()
      yield* Effect.promise(() => fake.close())
      const error = yield* Effect.flip(listServices.pipe(Effect.provide(KubeClient.layerFromKubeConfig(kc))))
      assert.strictEqual(error._tag, "KubeTransportError")
      fake = yield* Effect.promise(() => FakeApiServer.start())
    })
  )

  it.live("loads an explicit kubeconfig file; a missing one is a KubeConfigError", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "portico-kubeconfig-"))
      const file = join(dir, "config")
      writeFileSync(file, fake.kubeConfig().exportConfig())
      const listed = yield* listServices.pipe(Effect.provide(KubeClient.layerFromFile(file)))
      assert.deepStrictEqual(listed.items, [])
      const missing = yield* Effect.flip(Layer.build(KubeClient.layerFromFile(join(dir, "absent"))).pipe(Effect.scoped))
      assert.strictEqual(missing._tag, "KubeConfigError")
      assert.include(missing.message, join(dir, "absent"))
    })
  )

  it.effect("layerTest serves the given operations; any other dies", () =>
    Effect.gen(function* () {
      const kube = yield* KubeClient
      const listed = yield* kube.list(SERVICE)
      assert.strictEqual(listed.resourceVersion, "7")
      const exit = yield* Effect.exit(kube.get(SERVICE, { name: "x" }))
      assert.isTrue(exit._tag === "Failure")
    }).pipe(Effect.provide(KubeClient.layerTest({ list: () => Effect.succeed({ items: [], resourceVersion: "7" }) })))
  )

  it.live("discovery of a kind the server does not serve is a 404", () =>
    withClient(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const error = yield* Effect.flip(kube.get({ apiVersion: "v1", kind: "Nope" }, { name: "x" }))
        assert.strictEqual(error._tag === "KubeApiError" ? `${error.verb} ${error.status}` : error._tag, "discover 404")
      })
    )
  )
})
