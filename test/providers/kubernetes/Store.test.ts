/**
 * src/providers/kubernetes/Store.ts: readiness, relists that replace a kind's contents, idempotent
 * updates, and what is trimmed on ingest.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import type { KubeObject } from "../../../src/providers/kubernetes/KubeApi.ts"
import { makeStore, Store, trimObject } from "../../../src/providers/kubernetes/Store.ts"

const GW = "Gateway.gateway.networking.k8s.io"
const SVC = "Service"

const object = (kind: string, name: string, resourceVersion: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: kind === SVC ? "v1" : "gateway.networking.k8s.io/v1",
  kind: kind === SVC ? "Service" : "Gateway",
  metadata: { name, namespace: "default", resourceVersion },
  ...extra
})

const names = (objects: ReadonlyArray<KubeObject>) => objects.map((o) => o.metadata.name).sort()

describe("Store", () => {
  it.effect("is ready only once every kind is listed or known missing", () =>
    Effect.gen(function* () {
      const store = yield* Store
      const waiter = yield* Effect.forkChild(store.awaitReady)
      assert.isFalse(yield* store.isReady)
      assert.isTrue(yield* store.apply({ _tag: "Upsert", kind: GW, object: object(GW, "early", "1") }))
      assert.isFalse(yield* store.isReady, "a watch event is not a list")
      assert.isTrue(yield* store.apply({ _tag: "Replace", kind: GW, objects: [], resourceVersion: "5" }))
      assert.isFalse(yield* store.isReady)
      assert.isTrue(yield* store.apply({ _tag: "Missing", kind: "HTTPRoute.gateway.networking.k8s.io" }))
      assert.isFalse(yield* store.isReady)
      // Becoming known counts as a change even when the list is empty.
      assert.isTrue(yield* store.apply({ _tag: "Replace", kind: SVC, objects: [], resourceVersion: "7" }))
      assert.isTrue(yield* store.isReady)
      yield* Fiber.join(waiter)
      assert.deepStrictEqual(yield* store.missing, ["HTTPRoute.gateway.networking.k8s.io"])
      assert.strictEqual(Option.getOrUndefined(yield* store.listedVersion(SVC)), "7")
    }).pipe(Effect.provide(Store.layer([GW, "HTTPRoute.gateway.networking.k8s.io", SVC])))
  )

  it.effect("a relist replaces the kind's contents; an identical relist is no change", () =>
    Effect.gen(function* () {
      const store = yield* makeStore([GW])
      yield* store.apply({
        _tag: "Replace",
        kind: GW,
        objects: [object(GW, "a", "1"), object(GW, "b", "2")],
        resourceVersion: "2"
      })
      const relist = { _tag: "Replace", kind: GW, objects: [object(GW, "b", "2"), object(GW, "c", "3")] } as const
      assert.isTrue(yield* store.apply({ ...relist, resourceVersion: "3" }))
      assert.deepStrictEqual(names(yield* store.list(GW)), ["b", "c"])
      assert.isFalse(yield* store.apply({ ...relist, resourceVersion: "4" }))
      assert.isTrue(Option.isNone(yield* store.get(GW, "default/a")))
      assert.strictEqual(Option.getOrUndefined(yield* store.get(GW, "default/c"))?.metadata.resourceVersion, "3")
    })
  )

  it.effect("upserts and deletes are idempotent", () =>
    Effect.gen(function* () {
      const store = yield* makeStore([GW])
      assert.isTrue(yield* store.apply({ _tag: "Upsert", kind: GW, object: object(GW, "a", "1") }))
      assert.isFalse(yield* store.apply({ _tag: "Upsert", kind: GW, object: object(GW, "a", "1") }))
      assert.isTrue(yield* store.apply({ _tag: "Upsert", kind: GW, object: object(GW, "a", "2") }))
      assert.isTrue(yield* store.apply({ _tag: "Delete", kind: GW, object: object(GW, "a", "3") }))
      assert.isFalse(yield* store.apply({ _tag: "Delete", kind: GW, object: object(GW, "a", "3") }))
      assert.deepStrictEqual(yield* store.list(GW), [])
    })
  )

  it.effect("a kind that goes missing is emptied; served again, it is back", () =>
    Effect.gen(function* () {
      const store = yield* makeStore([GW])
      yield* store.apply({ _tag: "Replace", kind: GW, objects: [object(GW, "a", "1")], resourceVersion: "1" })
      assert.isTrue(yield* store.apply({ _tag: "Missing", kind: GW }))
      assert.deepStrictEqual(yield* store.list(GW), [])
      assert.isFalse(yield* store.apply({ _tag: "Missing", kind: GW }))
      assert.isTrue(yield* store.apply({ _tag: "Replace", kind: GW, objects: [], resourceVersion: "9" }))
      assert.deepStrictEqual(yield* store.missing, [])
    })
  )

  it.effect("drops managedFields and the last-applied annotation on ingest", () =>
    Effect.gen(function* () {
      const store = yield* makeStore([SVC])
      const raw: KubeObject = {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
          name: "s",
          namespace: "default",
          resourceVersion: "1",
          managedFields: [{ manager: "kubectl" }],
          annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}", keep: "me" }
        },
        spec: { ports: [] }
      }
      yield* store.apply({ _tag: "Upsert", kind: SVC, object: raw })
      const stored = Option.getOrThrow(yield* store.get(SVC, "default/s"))
      assert.deepStrictEqual(stored.metadata, {
        name: "s",
        namespace: "default",
        resourceVersion: "1",
        annotations: { keep: "me" }
      })
      assert.deepStrictEqual(stored.spec, { ports: [] })
      const plain = object(SVC, "p", "1")
      assert.strictEqual(trimObject(plain), plain, "nothing to trim: the same object")
      const onlyLastApplied = trimObject(
        object(SVC, "q", "1", {
          metadata: {
            name: "q",
            annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" }
          }
        })
      )
      assert.deepStrictEqual(onlyLastApplied.metadata, { name: "q" })
    })
  )
})
