/**
 * src/xds/SnapshotCache.ts: setting snapshots (inconsistent ones rejected, the last good kept), the
 * per-fleet change stream, and the ACK/NACK record.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric, Option, Result, Stream } from "effect"
import { TypeUrl } from "../../src/xds/Registry.ts"
import { makeSnapshot, snapshotOf } from "../../src/xds/Snapshot.ts"
import { nackCounter, SnapshotCache } from "../../src/xds/SnapshotCache.ts"
import { captureLogs, httpFleet } from "../support/adsClient.ts"

const quiet = captureLogs([])

describe("SnapshotCache", () => {
  it.effect("sets and gets a fleet's snapshot; unknown fleets have none", () =>
    Effect.gen(function* () {
      const cache = yield* SnapshotCache
      const snapshot = yield* cache.setResources(httpFleet("f", ["c"]))
      assert.strictEqual(Option.getOrUndefined(yield* cache.getSnapshot("f")), snapshot)
      assert.isTrue(Option.isNone(yield* cache.getSnapshot("other")))
      assert.deepStrictEqual(yield* cache.fleets, ["f"])
    }).pipe(Effect.provide([SnapshotCache.layer, quiet]))
  )

  it.effect("rejects an inconsistent snapshot and keeps the last good one", () =>
    Effect.gen(function* () {
      const cache = yield* SnapshotCache
      const good = yield* cache.setResources(httpFleet("f", ["c"]))
      const bad = yield* Effect.result(cache.setResources({ ...httpFleet("f", ["c", "d"]), endpoints: [] }))
      assert.isTrue(Result.isFailure(bad))
      if (Result.isFailure(bad)) {
        assert.strictEqual(bad.failure._tag, "InconsistentSnapshot")
        assert.include(bad.failure.message, 'ClusterLoadAssignment "c" referenced by Cluster "c" does not exist')
      }
      const viaSet = yield* Effect.result(cache.setSnapshot("f", snapshotOf({ ...httpFleet("f", ["c"]), routes: [] })))
      assert.isTrue(Result.isFailure(viaSet))
      assert.strictEqual(Option.getOrUndefined(yield* cache.getSnapshot("f")), good)
      const rejections = yield* cache.rejections
      assert.include(rejections.get("f")?.message ?? "", 'RouteConfiguration "r"')
      // A good snapshot clears the rejection.
      yield* cache.setResources(httpFleet("f", ["d"]))
      assert.isFalse((yield* cache.rejections).has("f"))
    }).pipe(Effect.provide([SnapshotCache.layer, quiet]))
  )

  it.effect("rejects a snapshot set under another fleet's name", () =>
    Effect.gen(function* () {
      const cache = yield* SnapshotCache
      const snapshot = Result.getOrThrow(makeSnapshot(httpFleet("a", ["c"])))
      const result = yield* Effect.result(cache.setSnapshot("b", snapshot))
      assert.isTrue(Result.isFailure(result))
      assert.isTrue(Option.isNone(yield* cache.getSnapshot("b")))
    }).pipe(Effect.provide([SnapshotCache.layer, quiet]))
  )

  it.effect("streams a fleet's current snapshot, then every change, then a clear", () =>
    Effect.gen(function* () {
      const cache = yield* SnapshotCache
      const first = yield* cache.setResources(httpFleet("f", ["c"]))
      const seen = yield* cache.changes("f").pipe(Stream.take(3), Stream.runCollect, Effect.forkChild)
      yield* Effect.yieldNow
      const second = yield* cache.setResources(httpFleet("f", ["d"]))
      yield* cache.setResources(httpFleet("other", ["x"]))
      yield* cache.clearSnapshot("f")
      const values = yield* Fiber.join(seen)
      assert.deepStrictEqual(Array.from(values).map(Option.getOrUndefined), [first, second, undefined])
    }).pipe(Effect.provide([SnapshotCache.layer, quiet]))
  )

  it.effect("a fleet without a snapshot streams none first, then its first snapshot", () =>
    Effect.gen(function* () {
      const cache = yield* SnapshotCache
      const seen = yield* cache.changes("late").pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* Effect.yieldNow
      const snapshot = yield* cache.setResources(httpFleet("late", ["c"]))
      const values = Array.from(yield* Fiber.join(seen))
      assert.isTrue(Option.isNone(values[0]!))
      assert.strictEqual(Option.getOrUndefined(values[1]!), snapshot)
    }).pipe(Effect.provide([SnapshotCache.layer, quiet]))
  )

  it.effect("records ACKs and NACKs per node and type, and counts NACKs", () =>
    Effect.gen(function* () {
      const cache = yield* SnapshotCache
      const node = { fleet: "f", id: "envoy-1" }
      const counter = Metric.withAttributes(nackCounter, { fleet: "f", type: "Cluster" })
      const before = (yield* Metric.value(counter)).count
      yield* cache.recordAck(node, TypeUrl.Cluster, "v1")
      yield* cache.recordNack(node, TypeUrl.Cluster, "7", "cluster x: bad lb policy")
      yield* cache.recordAck({ fleet: "f", id: "envoy-0" }, TypeUrl.Listener, "v9")
      const statuses = yield* cache.nodeStatuses
      assert.deepStrictEqual(
        statuses.map((s) => s.id),
        ["envoy-0", "envoy-1"]
      )
      const cds = statuses[1]?.types.find((t) => t.typeUrl === TypeUrl.Cluster)
      assert.strictEqual(cds?.ackedVersion, "v1")
      assert.strictEqual(cds?.rejecting, true)
      assert.strictEqual(cds?.lastNack?.errorDetail, "cluster x: bad lb policy")
      assert.strictEqual(cds?.lastNack?.nonce, "7")
      assert.strictEqual(yield* cache.nackCount, 1)
      assert.strictEqual((yield* Metric.value(counter)).count, before + 1)
      // A later ACK clears `rejecting` but keeps the last NACK visible.
      yield* cache.recordAck(node, TypeUrl.Cluster, "v2")
      const after = (yield* cache.nodeStatuses)[1]?.types.find((t) => t.typeUrl === TypeUrl.Cluster)
      assert.strictEqual(after?.rejecting, false)
      assert.strictEqual(after?.ackedVersion, "v2")
      assert.strictEqual(after?.lastNack?.nonce, "7")
      assert.strictEqual(after?.nacks, 1)
    }).pipe(Effect.provide([SnapshotCache.layer, quiet]))
  )
})
