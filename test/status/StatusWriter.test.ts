/**
 * src/status/StatusWriter.ts over `KubeClient.layerTest` and a small in-memory object store with
 * resourceVersion preconditions: conflict retry keeps the other controller's concurrent change,
 * 404 skips, unchanged skips without a request, the worker coalesces, waits for leadership,
 * survives failures, and the token bucket holds the rate (under the TestClock).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import { KubeApiError, type KubeObject } from "../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../src/providers/kubernetes/KubeClient.ts"
import { type DesiredStatus, StatusWriter, type StatusWriterOptions } from "../../src/status/StatusWriter.ts"
import { type CapturedLog, captureLogs } from "../support/adsClient.ts"

const OURS = "example.com/portico"
const OTHER = "example.com/other"
const ROUTE = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" }
const GATEWAY = { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway" }
const parentRef = { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "ns", name: "gw" }

const apiError = (status: number, reason: string, name: string) =>
  new KubeApiError({ verb: "test", status, reason, detail: reason, apiVersion: "v1", kind: "HTTPRoute", name })

/** Objects by name, with resourceVersion checks on status PUTs, and hooks to interfere. */
const makeFake = (objects: ReadonlyArray<KubeObject>) => {
  const store = new Map(objects.map((o) => [o.metadata.name, o] as const))
  let rv = 100
  const puts: Array<KubeObject> = []
  const gets: Array<string> = []
  const hooks = { beforePut: (_o: KubeObject): void => undefined, failPut: (_o: KubeObject): boolean => false }
  const bump = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } })
  const layer = KubeClient.layerTest({
    get: (_type, ref) =>
      Effect.suspend(() => {
        gets.push(ref.name)
        const found = store.get(ref.name)
        return found === undefined ? Effect.fail(apiError(404, "NotFound", ref.name)) : Effect.succeed(found)
      }),
    replaceStatus: (object) =>
      Effect.suspend(() => {
        hooks.beforePut(object)
        puts.push(object)
        const found = store.get(object.metadata.name)
        if (found === undefined) return Effect.fail(apiError(404, "NotFound", object.metadata.name))
        if (hooks.failPut(object)) return Effect.fail(apiError(500, "InternalError", object.metadata.name))
        if (found.metadata.resourceVersion !== object.metadata.resourceVersion)
          return Effect.fail(apiError(409, "Conflict", object.metadata.name))
        const next = bump({ ...found, status: object.status })
        store.set(object.metadata.name, next)
        return Effect.succeed(next)
      })
  })
  /** Another controller writes the status (bumps the resourceVersion). */
  const writeAsOther = (name: string, status: unknown) => {
    const found = store.get(name)
    if (found !== undefined) store.set(name, bump({ ...found, status }))
  }
  return { store, puts, gets, hooks, layer, writeAsOther }
}

const object = (type: { apiVersion: string; kind: string }, name: string, status?: unknown): KubeObject => ({
  ...type,
  metadata: { name, namespace: "ns", resourceVersion: "1", generation: 1 },
  ...(status === undefined ? {} : { status })
})
const accepted = (status: "True" | "False") => ({
  type: "Accepted",
  status,
  reason: "R",
  message: "",
  observedGeneration: 1
})
/** A route status function like the reconcilers': others' entries kept, ours after them. */
const routeCompute =
  (status: "True" | "False") =>
  (previous: unknown): unknown => {
    const parents = (previous as { parents?: Array<{ controllerName: string }> } | undefined)?.parents ?? []
    const others = parents.filter((p) => p.controllerName !== OURS)
    return { parents: [...others, { parentRef, controllerName: OURS, conditions: [accepted(status)] }] }
  }
const desired = (name: string, compute: (p: unknown) => unknown, current?: KubeObject): DesiredStatus => ({
  type: ROUTE,
  namespace: "ns",
  name,
  compute,
  ...(current === undefined ? {} : { current })
})
const theirEntry = (message: string) => ({
  parentRef,
  controllerName: OTHER,
  conditions: [{ ...accepted("True"), message, lastTransitionTime: "2020-01-01T00:00:00Z" }]
})

let logs: Array<CapturedLog> = []
const run = <A, E>(
  fake: ReturnType<typeof makeFake>,
  body: Effect.Effect<A, E, StatusWriter>,
  options: Partial<StatusWriterOptions> = {}
) =>
  Effect.suspend(() => {
    logs = []
    return body.pipe(
      Effect.provide(
        StatusWriter.layer({ controllerName: OURS, conflictBackoffMillis: 1, ...options }).pipe(
          Layer.provide(fake.layer),
          Layer.provideMerge(captureLogs(logs))
        )
      )
    )
  })
const warnings = () => logs.filter((l) => l.level === "Warn").map((l) => l.message)

describe("StatusWriter.write", () => {
  it.live("on a 409 re-reads and recomputes: the other controller's concurrent change is kept", () => {
    const fake = makeFake([object(ROUTE, "r", { parents: [theirEntry("before")] })])
    let interfered = false
    fake.hooks.beforePut = () => {
      if (interfered) return
      interfered = true
      fake.writeAsOther("r", { parents: [theirEntry("changed concurrently")] })
    }
    return run(
      fake,
      Effect.gen(function* () {
        const writer = yield* StatusWriter
        const report = yield* writer.write([desired("r", routeCompute("True"))])
        assert.include(report, { written: 1, conflicts: 1, failed: 0 })
        assert.strictEqual(fake.puts.length, 2)
        const stored = fake.store.get("r")?.status as { parents: Array<unknown> }
        assert.deepStrictEqual(stored.parents[0], theirEntry("changed concurrently"))
        assert.strictEqual(stored.parents.length, 2)
        assert.deepStrictEqual(fake.gets, ["r", "r"])
      })
    )
  })

  it.live("gives up after the configured conflict retries and reports the failure", () => {
    const fake = makeFake([object(ROUTE, "r")])
    fake.hooks.beforePut = () => fake.writeAsOther("r", { parents: [theirEntry(String(Math.random()))] })
    return run(
      fake,
      Effect.gen(function* () {
        const report = yield* (yield* StatusWriter).write([desired("r", routeCompute("True"))])
        assert.include(report, { written: 0, conflicts: 3, failed: 1 })
        assert.match(report.failures[0]?.error ?? "", /conflicting after 2 retries/)
      }),
      { maxConflictRetries: 2 }
    )
  })

  it.live("a deleted object (404) is skipped; an unchanged one makes no request", () => {
    const fake = makeFake([object(ROUTE, "r")])
    return run(
      fake,
      Effect.gen(function* () {
        const writer = yield* StatusWriter
        const first = yield* writer.write([desired("gone", routeCompute("True")), desired("r", routeCompute("True"))])
        assert.include(first, { written: 1, missing: 1, skipped: 0 })
        const current = fake.store.get("r")
        const second = yield* writer.write([desired("r", routeCompute("True"), current)])
        assert.include(second, { written: 0, skipped: 1 })
        assert.strictEqual(fake.puts.length, 1)
        assert.deepStrictEqual(fake.gets, ["gone", "r"])
      })
    )
  })

  it.live("a stale `current` after our own write is swapped for what we wrote: no 409, no request", () => {
    const fake = makeFake([object(ROUTE, "r")])
    const stale = fake.store.get("r")
    return run(
      fake,
      Effect.gen(function* () {
        const writer = yield* StatusWriter
        assert.include(yield* writer.write([desired("r", routeCompute("True"), stale)]), { written: 1 })
        assert.include(yield* writer.write([desired("r", routeCompute("True"), stale)]), { skipped: 1, conflicts: 0 })
        assert.strictEqual(fake.puts.length, 1)
        assert.strictEqual(fake.gets.length, 0)
      })
    )
  })

  it.live("a failing write is reported, logged, and does not stop the others", () => {
    const fake = makeFake([object(ROUTE, "a"), object(ROUTE, "b")])
    fake.hooks.failPut = (o) => o.metadata.name === "a"
    return run(
      fake,
      Effect.gen(function* () {
        const report = yield* (yield* StatusWriter).write([
          desired("a", routeCompute("True")),
          desired("b", routeCompute("True")),
          desired("b", () => {
            throw new Error("compute bug")
          })
        ])
        assert.include(report, { written: 0, failed: 2 })
        const failures = [...report.failures].sort((x, y) => x.key.localeCompare(y.key))
        assert.match(failures[0]?.error ?? "", /500/)
        assert.match(failures[1]?.error ?? "", /compute bug/)
        assert.strictEqual(warnings().length, 2)
      })
    )
  })
})

describe("StatusWriter worker", () => {
  it.live(
    "coalesces: a Gateway submitted 200 times while routes attach is written a few times, last value wins",
    () => {
      const fake = makeFake([object(GATEWAY, "gw")])
      let gatewayWrites = 0
      fake.hooks.beforePut = (o) => {
        if (o.kind === "Gateway") gatewayWrites++
      }
      const gateway = (attached: number): DesiredStatus => ({
        type: GATEWAY,
        namespace: "ns",
        name: "gw",
        compute: () => ({ conditions: [accepted("True")], listeners: [{ name: "http", attachedRoutes: attached }] })
      })
      return run(
        fake,
        Effect.gen(function* () {
          const writer = yield* StatusWriter
          for (let i = 1; i <= 200; i++) {
            yield* writer.submit([gateway(i)])
            if (i % 20 === 0) yield* Effect.sleep(5)
          }
          yield* writer.flush
          const status = fake.store.get("gw")?.status as { listeners: Array<{ attachedRoutes: number }> }
          assert.strictEqual(status.listeners[0]?.attachedRoutes, 200)
          assert.isAtMost(gatewayWrites, 12)
          assert.include(yield* writer.totals, { written: gatewayWrites, failed: 0 })
        }),
        { batchWindowMillis: 10 }
      )
    }
  )

  it.live("writes nothing while not leader, drops nothing, and writes the latest on becoming leader", () => {
    const fake = makeFake([object(ROUTE, "r")])
    return Effect.gen(function* () {
      const leader = yield* SubscriptionRef.make(false)
      yield* run(
        fake,
        Effect.gen(function* () {
          const writer = yield* StatusWriter
          yield* writer.submit([desired("r", routeCompute("False"))])
          yield* writer.submit([desired("r", routeCompute("True"))])
          yield* Effect.sleep(50)
          assert.strictEqual(fake.puts.length, 0)
          yield* SubscriptionRef.set(leader, true)
          yield* writer.flush
          assert.strictEqual(fake.puts.length, 1)
          const status = fake.store.get("r")?.status as { parents: Array<{ conditions: Array<{ status: string }> }> }
          assert.strictEqual(status.parents[0]?.conditions[0]?.status, "True")
        }),
        { leader, batchWindowMillis: 1 }
      )
    })
  })

  it.live("a failed object is retried later (re-read), without blocking the worker", () => {
    const fake = makeFake([object(ROUTE, "a"), object(ROUTE, "b")])
    let failures = 1
    fake.hooks.failPut = (o) => o.metadata.name === "a" && failures-- > 0
    return run(
      fake,
      Effect.gen(function* () {
        const writer = yield* StatusWriter
        yield* writer.submit([desired("a", routeCompute("True")), desired("b", routeCompute("True"))])
        yield* writer.flush
        assert.include(yield* writer.totals, { written: 1, failed: 1 })
        yield* Effect.sleep(100)
        yield* writer.flush
        assert.include(yield* writer.totals, { written: 2, failed: 1 })
        assert.strictEqual(warnings().length, 1)
      }),
      { batchWindowMillis: 1, failureBackoffMillis: 20 }
    )
  })
})

describe("StatusWriter rate limit", () => {
  it.effect("holds writes to the token bucket: burst first, then the sustained rate", () => {
    const names = ["a", "b", "c", "d", "e", "f"]
    const fake = makeFake(names.map((n) => object(ROUTE, n)))
    return run(
      fake,
      Effect.gen(function* () {
        const writer = yield* StatusWriter
        const fiber = yield* writer.write(names.map((n) => desired(n, routeCompute("True")))).pipe(Effect.forkChild)
        yield* TestClock.adjust(1)
        assert.strictEqual(fake.puts.length, 2) // the burst
        yield* TestClock.adjust(100)
        assert.strictEqual(fake.puts.length, 3) // 10 per second: one more each 100 ms
        yield* TestClock.adjust(300)
        assert.strictEqual(fake.puts.length, 6)
        assert.include(yield* Fiber.join(fiber), { written: 6 })
      }),
      { writesPerSecond: 10, burst: 2, concurrency: 6 }
    )
  })
})
