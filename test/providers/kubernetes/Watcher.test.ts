/**
 * src/providers/kubernetes/Watcher.ts against the fake API server, with the faults a real server
 * shows only now and then: bookmarks, watches closed mid-stream, compaction (410 Gone as an HTTP
 * status and as a watch ERROR event), 500s, and a kind whose CRD is not installed yet.
 */
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { ResourceType } from "../../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../../src/providers/kubernetes/KubeClient.ts"
import { makeStore, type StoreUpdate } from "../../../src/providers/kubernetes/Store.ts"
import { backoffDelay, type WatcherOptions, watchKind } from "../../../src/providers/kubernetes/Watcher.ts"
import { type CapturedLog, captureLogs } from "../../support/adsClient.ts"
import { eventually, FakeApiServer, GATEWAYS, HTTPROUTES, type Json } from "../../support/kube/FakeApiServer.ts"

const GATEWAY: ResourceType = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  plural: "gateways",
  namespaced: true
}
const HTTPROUTE: ResourceType = { ...GATEWAY, kind: "HTTPRoute", plural: "httproutes" }
const FAST: WatcherOptions = { backoffBase: "40 millis", backoffCap: "1 second", missingRetry: "50 millis" }

const gateway = (name: string): Json => ({ metadata: { name, namespace: "default" }, spec: { gatewayClassName: "eg" } })

let fake: FakeApiServer
let logs: Array<CapturedLog>
beforeEach(async () => {
  fake = await FakeApiServer.start([GATEWAYS])
  logs = []
})
afterEach(async () => {
  await fake.close()
})

/** Runs the watcher in the background; its updates land in the returned array. */
const startWatcher = (type: ResourceType, options: WatcherOptions = FAST) =>
  Effect.gen(function* () {
    const updates: Array<StoreUpdate> = []
    yield* watchKind(type, options).pipe(
      Stream.runForEach((update) => Effect.sync(() => updates.push(update))),
      Effect.forkChild
    )
    return updates
  })

const run = <A, E>(body: Effect.Effect<A, E, KubeClient>) =>
  body.pipe(Effect.provide([KubeClient.layerFromKubeConfig(fake.kubeConfig()), captureLogs(logs)]))

const until = (check: () => boolean, what: string) => Effect.promise(() => eventually(check, 5000, what))

const describeUpdate = (u: StoreUpdate): string => {
  switch (u._tag) {
    case "Replace":
      return `Replace[${u.objects.map((o) => o.metadata.name).join(",")}]`
    case "Missing":
      return "Missing"
    default:
      return `${u._tag} ${u.object.metadata.name}`
  }
}

const watchesOf = (plural: string) => fake.requestsOf(plural, "watch")

describe("watchKind", () => {
  it.live("lists, watches from the list's resourceVersion with bookmarks; a bookmark advances it", () =>
    run(
      Effect.gen(function* () {
        fake.put("gateways", gateway("a"))
        const listed = fake.resourceVersion
        const updates = yield* startWatcher(GATEWAY)
        yield* until(() => fake.openWatches("gateways") === 1, "the first watch")
        assert.deepStrictEqual(updates.map(describeUpdate), ["Replace[a]"])
        const first = watchesOf("gateways")[0]
        assert.strictEqual(first?.query.get("resourceVersion"), listed)
        assert.strictEqual(first?.query.get("allowWatchBookmarks"), "true")
        const bookmark = fake.bookmark("gateways")
        yield* Effect.sleep("50 millis")
        fake.closeWatches("gateways")
        yield* until(() => watchesOf("gateways").length === 2, "the second watch")
        assert.strictEqual(watchesOf("gateways")[1]?.query.get("resourceVersion"), bookmark)
        assert.strictEqual(fake.requestsOf("gateways", "list").length, 1)
      })
    )
  )

  it.live("a watch closed by the server resumes from the last resourceVersion without losing events", () =>
    run(
      Effect.gen(function* () {
        const updates = yield* startWatcher(GATEWAY)
        yield* until(() => fake.openWatches("gateways") === 1, "the first watch")
        const a = fake.put("gateways", gateway("a"))
        yield* until(() => updates.length === 2, "a")
        fake.closeWatches("gateways")
        // Changes while no watch is open are replayed by the next one.
        fake.put("gateways", gateway("b"))
        fake.remove("gateways", "default", "a")
        yield* until(() => updates.length === 4, "b and the deletion of a")
        assert.deepStrictEqual(updates.map(describeUpdate), ["Replace[]", "Upsert a", "Upsert b", "Delete a"])
        assert.strictEqual(watchesOf("gateways")[1]?.query.get("resourceVersion"), (a.metadata as Json).resourceVersion)
        assert.strictEqual(fake.requestsOf("gateways", "list").length, 1)
      })
    )
  )

  for (const goneAs of ["status", "event"] as const) {
    it.live(
      `410 Gone (${goneAs === "status" ? "HTTP 410" : "a watch ERROR event"}) relists; deletions in the gap apply`,
      () =>
        run(
          Effect.gen(function* () {
            fake.goneAs = goneAs
            fake.put("gateways", gateway("a"))
            fake.put("gateways", gateway("b"))
            const store = yield* makeStore(["Gateway.gateway.networking.k8s.io"])
            const updates = yield* startWatcher(GATEWAY)
            yield* until(() => fake.openWatches("gateways") === 1, "the first watch")
            for (const u of updates) yield* store.apply(u)
            fake.closeWatches("gateways")
            fake.remove("gateways", "default", "a")
            fake.put("gateways", gateway("c"))
            fake.compact()
            yield* until(() => fake.requestsOf("gateways", "list").length === 2, "the relist")
            yield* until(() => updates.length === 2, "the second Replace")
            assert.deepStrictEqual(updates.map(describeUpdate), ["Replace[a,b]", "Replace[b,c]"])
            yield* store.apply(updates[1]!)
            const names = (yield* store.list("Gateway.gateway.networking.k8s.io")).map((o) => o.metadata.name)
            assert.deepStrictEqual(names.sort(), ["b", "c"])
            assert.isTrue(logs.some((l) => l.message.includes("too old; relisting")))
          })
        )
    )
  }

  it.live("a 500 on list backs off exponentially (with jitter) and retries", () =>
    run(
      Effect.gen(function* () {
        fake.failNext("gateways", "list", 500, 3)
        const updates = yield* startWatcher(GATEWAY)
        yield* until(() => updates.length === 1, "the list")
        const at = fake.requestsOf("gateways", "list").map((r) => r.at)
        assert.strictEqual(at.length, 4)
        const gaps = at.slice(1).map((t, i) => t - at[i]!)
        // Delays are drawn from [20, 40], [40, 80] and [80, 160] ms.
        assert.isAtLeast(gaps[0]!, 15)
        assert.isAtLeast(gaps[1]!, 35)
        assert.isAtLeast(gaps[2]!, 75)
        assert.isTrue(logs.filter((l) => l.message.startsWith("list failed")).length === 3)
      })
    )
  )

  it.live("a 500 on watch retries the watch from the same resourceVersion, without a relist", () =>
    run(
      Effect.gen(function* () {
        fake.failNext("gateways", "watch", 500, 2)
        yield* startWatcher(GATEWAY)
        yield* until(() => fake.openWatches("gateways") === 1, "a watch")
        const watches = watchesOf("gateways")
        assert.strictEqual(watches.length, 3)
        assert.deepStrictEqual(new Set(watches.map((w) => w.query.get("resourceVersion"))).size, 1)
        assert.strictEqual(fake.requestsOf("gateways", "list").length, 1)
      })
    )
  )

  it.live("a kind whose CRD is missing (404) is reported Missing, logged once, and picked up when served", () =>
    run(
      Effect.gen(function* () {
        const updates = yield* startWatcher(HTTPROUTE)
        yield* until(() => fake.requestsOf("httproutes", "list").length >= 4, "a few list attempts")
        assert.deepStrictEqual(updates.map(describeUpdate), ["Missing"])
        assert.strictEqual(logs.filter((l) => l.message.includes("does not serve this kind")).length, 1)
        fake.serve(HTTPROUTES)
        fake.put("httproutes", { metadata: { name: "r", namespace: "default" }, spec: {} })
        yield* until(() => updates.length === 2, "the kind's first list")
        assert.deepStrictEqual(updates.map(describeUpdate), ["Missing", "Replace[r]"])
      })
    )
  )

  it("backoffDelay doubles from the base up to the cap, jittered into [d/2, d]", () => {
    assert.strictEqual(backoffDelay(1, "100 millis", "30 seconds", 0), 50)
    assert.strictEqual(backoffDelay(1, "100 millis", "30 seconds", 1), 100)
    assert.strictEqual(backoffDelay(3, "100 millis", "30 seconds", 1), 400)
    assert.strictEqual(backoffDelay(12, "100 millis", "30 seconds", 1), 30_000)
    assert.strictEqual(backoffDelay(50, "100 millis", "30 seconds", 0), 15_000)
  })
})
