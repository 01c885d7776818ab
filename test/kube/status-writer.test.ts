/**
 * StatusWriter against a real kube-apiserver + etcd (test/support/kube/EnvTest.ts), with the
 * statuses the real reconcilers compute (`translateObjects` over what the API server lists):
 * observedGeneration and lastTransitionTime written, no write when nothing changed, another
 * controller's `parents` entry kept byte-for-byte even across a 409, transition times kept and
 * moved as they should, and the time to write 1,000 route statuses (printed, median of 3).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import type { KubeObject } from "../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../src/providers/kubernetes/KubeClient.ts"
import { DEFAULT_CONTROLLER_NAME, translateObjects } from "../../src/reconcilers/Translate.ts"
import { type DesiredStatus, desiredStatuses, StatusWriter } from "../../src/status/StatusWriter.ts"
import { captureLogs } from "../support/adsClient.ts"
import { type EnvTest, startEnvTest } from "../support/kube/EnvTest.ts"

/** The first build of kube-apiserver and etcd takes minutes (`make envtest` does it ahead). */
const START_TIMEOUT_MS = 30 * 60_000
const NS = "status-writer"
const BULK_NS = "status-writer-bulk"
const ATTACH_NS = "status-writer-attach"
const BULK = 1000
const OTHER = "example.com/other"
const V1 = "gateway.networking.k8s.io/v1"
const TYPES = {
  class: { apiVersion: V1, kind: "GatewayClass" },
  gateway: { apiVersion: V1, kind: "Gateway" },
  route: { apiVersion: V1, kind: "HTTPRoute" }
}
const millis = (d: Duration.Duration): number => Math.round(Duration.toMillis(d))
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/

const gatewayClass: KubeObject = {
  ...TYPES.class,
  metadata: { name: "portico" },
  spec: { controllerName: DEFAULT_CONTROLLER_NAME }
}
const gateway = (namespace: string): KubeObject => ({
  ...TYPES.gateway,
  metadata: { name: "gw", namespace },
  spec: { gatewayClassName: "portico", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] }
})
const route = (
  namespace: string,
  name: string,
  rule: object = { backendRefs: [{ name: "echo", port: 80 }] }
): KubeObject => ({
  ...TYPES.route,
  metadata: { name, namespace },
  spec: { parentRefs: [{ name: "gw" }], hostnames: [`${name}.example.com`], rules: [rule] }
})

interface Condition {
  type: string
  status: string
  message: string
  observedGeneration: number
  lastTransitionTime: string
}
interface Parent {
  parentRef: { name: string }
  controllerName: string
  conditions: Array<Condition>
}
const parentsOf = (o: KubeObject): Array<Parent> => (o.status as { parents?: Array<Parent> } | undefined)?.parents ?? []
const ours = (o: KubeObject) => parentsOf(o).find((p) => p.controllerName === DEFAULT_CONTROLLER_NAME)
const condition = (o: KubeObject, type: string) => ours(o)?.conditions.find((c) => c.type === type)

let env: EnvTest
beforeAll(async () => {
  env = await startEnvTest({ namespaces: [NS, BULK_NS, ATTACH_NS] })
}, START_TIMEOUT_MS)
afterAll(async () => {
  await env?.stop()
})

/** Counts status PUTs per kind on the way to the real client; `beforePut` may interfere first. */
const counting = { puts: new Map<string, number>(), beforePut: (_o: KubeObject) => Effect.void as Effect.Effect<void> }
const countingKube = Layer.effect(
  KubeClient,
  Effect.gen(function* () {
    const real = yield* KubeClient
    return KubeClient.of({
      ...real,
      replaceStatus: (object) =>
        counting
          .beforePut(object)
          .pipe(
            Effect.andThen(
              Effect.sync(() => counting.puts.set(object.kind, (counting.puts.get(object.kind) ?? 0) + 1))
            ),
            Effect.andThen(real.replaceStatus(object))
          )
    })
  })
)
const withWriter = <A, E>(body: Effect.Effect<A, E, StatusWriter | KubeClient>) =>
  Effect.suspend(() =>
    body.pipe(
      Effect.provide(
        StatusWriter.layer({ controllerName: DEFAULT_CONTROLLER_NAME }).pipe(
          Layer.provideMerge(countingKube),
          Layer.provide(KubeClient.layerFromKubeConfig(env.kubeConfig)),
          Layer.provideMerge(captureLogs([]))
        )
      )
    )
  )

/** What the provider would hand over: the objects as listed now, with the reconcilers' statuses. */
const snapshot = (namespace: string) =>
  Effect.gen(function* () {
    const kube = yield* KubeClient
    const classes = yield* kube.list(TYPES.class)
    const gateways = yield* kube.list(TYPES.gateway, { namespace })
    const routes = yield* kube.list(TYPES.route, { namespace })
    const objects = [...classes.items, ...gateways.items, ...routes.items]
    const { statuses } = translateObjects(objects, { controllerName: DEFAULT_CONTROLLER_NAME })
    return desiredStatuses(statuses, objects)
  })
const get = (type: { apiVersion: string; kind: string }, namespace: string, name: string) =>
  Effect.gen(function* () {
    return yield* (yield* KubeClient).get(type, { namespace, name })
  })
const apply = (objects: ReadonlyArray<KubeObject>) =>
  Effect.gen(function* () {
    const kube = yield* KubeClient
    yield* Effect.forEach(objects, (o) => kube.serverSideApply(o), { concurrency: 16, discard: true })
  })

describe("StatusWriter against kube-apiserver", () => {
  it.live("writes Gateway and HTTPRoute statuses with observedGeneration and lastTransitionTime; then nothing", () =>
    withWriter(
      Effect.gen(function* () {
        yield* apply([gatewayClass, gateway(NS), route(NS, "basic")])
        const writer = yield* StatusWriter
        const first = yield* writer.write(yield* snapshot(NS))
        assert.include(first, { written: 3, failed: 0, conflicts: 0 })

        const gw = yield* get(TYPES.gateway, NS, "gw")
        const gwStatus = gw.status as {
          conditions: Array<Condition>
          listeners: Array<{ conditions: Array<Condition> }>
        }
        const all = [...gwStatus.conditions, ...gwStatus.listeners.flatMap((l) => l.conditions)]
        assert.isAbove(all.length, 2)
        for (const c of all) {
          assert.strictEqual(c.observedGeneration, gw.metadata.generation)
          assert.match(c.lastTransitionTime, RFC3339)
        }
        const r = yield* get(TYPES.route, NS, "basic")
        assert.strictEqual(condition(r, "Accepted")?.status, "True")
        for (const c of ours(r)?.conditions ?? []) {
          assert.strictEqual(c.observedGeneration, r.metadata.generation)
          assert.match(c.lastTransitionTime, RFC3339)
        }

        // The same desired state again, from listed objects and from GETs: no write.
        const before = [gw.metadata.resourceVersion, r.metadata.resourceVersion]
        const again = yield* snapshot(NS)
        assert.include(yield* writer.write(again), { written: 0, skipped: 3 })
        const withoutCurrent = again.map(({ current: _, ...d }): DesiredStatus => d)
        assert.include(yield* writer.write(withoutCurrent), { written: 0, skipped: 3 })
        const after = [
          (yield* get(TYPES.gateway, NS, "gw")).metadata.resourceVersion,
          (yield* get(TYPES.route, NS, "basic")).metadata.resourceVersion
        ]
        assert.deepStrictEqual(after, before)
      })
    )
  )

  it.live("keeps another controller's parents entry byte-for-byte, also when it changes between our GET and PUT", () =>
    withWriter(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const writer = yield* StatusWriter
        yield* apply([route(NS, "shared")])
        const theirs = (message: string) => ({
          parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: NS, name: "gw" },
          controllerName: OTHER,
          conditions: [
            {
              type: "Accepted",
              status: "False",
              reason: "NotOurs",
              message,
              lastTransitionTime: "2021-02-03T04:05:06Z"
            }
          ]
        })
        /** The other controller replaces its own entry in place (or appends it); returns it as stored. */
        const otherWrites = (message: string) =>
          Effect.gen(function* () {
            const current = yield* kube.get(TYPES.route, { namespace: NS, name: "shared" })
            const parents: Array<unknown> = parentsOf(current)
            const i = parentsOf(current).findIndex((p) => p.controllerName === OTHER)
            const next =
              i === -1 ? [...parents, theirs(message)] : parents.map((p, j) => (j === i ? theirs(message) : p))
            const written = yield* kube.replaceStatus({ ...current, status: { parents: next } })
            return JSON.stringify(parentsOf(written).find((p) => p.controllerName === OTHER))
          })
        const stored = yield* otherWrites("first")

        // The route, and the Gateway (its listener now has one more attached route).
        assert.include(yield* writer.write(yield* snapshot(NS)), { written: 2, failed: 0 })
        const afterOurs = yield* get(TYPES.route, NS, "shared")
        assert.strictEqual(parentsOf(afterOurs).length, 2)
        assert.strictEqual(JSON.stringify(parentsOf(afterOurs)[0]), stored)
        assert.strictEqual(condition(afterOurs, "Accepted")?.status, "True")

        // A spec change (new generation) to write; the other controller writes in between: 409, retry.
        yield* apply([
          { ...route(NS, "shared"), spec: { ...(route(NS, "shared").spec as object), hostnames: ["x.example.com"] } }
        ])
        let concurrent: string | undefined
        counting.beforePut = (o) =>
          o.metadata.name !== "shared" || concurrent !== undefined
            ? Effect.void
            : Effect.gen(function* () {
                concurrent = "pending"
                concurrent = yield* Effect.orDie(otherWrites("changed concurrently"))
              })
        const report = yield* writer
          .write(yield* snapshot(NS))
          .pipe(Effect.ensuring(Effect.sync(() => (counting.beforePut = () => Effect.void))))
        assert.include(report, { written: 1, conflicts: 1, failed: 0 })
        const final = yield* get(TYPES.route, NS, "shared")
        assert.strictEqual(parentsOf(final).length, 2)
        assert.strictEqual(JSON.stringify(parentsOf(final)[0]), concurrent)
        assert.include(concurrent ?? "", "changed concurrently")
        assert.strictEqual(condition(final, "Accepted")?.observedGeneration, final.metadata.generation)
      })
    )
  )

  it.live("keeps lastTransitionTime while a condition's status holds, moves it when the status changes", () =>
    withWriter(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const writer = yield* StatusWriter
        const OLD = "2020-01-01T00:00:00Z"
        const started = new Date(Math.floor(Date.now() / 1000) * 1000)
        yield* apply([route(NS, "ltt", {})]) // no backendRefs: Accepted True, ResolvedRefs True
        yield* writer.write(yield* snapshot(NS))
        const written = yield* get(TYPES.route, NS, "ltt")
        assert.strictEqual(condition(written, "ResolvedRefs")?.status, "True")
        // As if written long ago.
        const aged = parentsOf(written).map((p) => ({
          ...p,
          conditions: p.conditions.map((c) => ({ ...c, lastTransitionTime: OLD }))
        }))
        const old = yield* kube.replaceStatus({ ...written, status: { parents: aged } })

        assert.include(yield* writer.write(yield* snapshot(NS)), { written: 0 })
        const unchanged = yield* get(TYPES.route, NS, "ltt")
        assert.strictEqual(unchanged.metadata.resourceVersion, old.metadata.resourceVersion)

        // A new generation: Accepted stays True (time kept), ResolvedRefs turns False (time moves).
        yield* apply([route(NS, "ltt")])
        assert.include(yield* writer.write(yield* snapshot(NS)), { written: 1 })
        const changed = yield* get(TYPES.route, NS, "ltt")
        const accepted = condition(changed, "Accepted")
        const resolved = condition(changed, "ResolvedRefs")
        assert.strictEqual(accepted?.status, "True")
        assert.strictEqual(accepted?.lastTransitionTime, OLD)
        assert.strictEqual(accepted?.observedGeneration, changed.metadata.generation)
        assert.strictEqual(resolved?.status, "False")
        assert.match(resolved?.lastTransitionTime ?? "", RFC3339)
        assert.isAtLeast(Date.parse(resolved?.lastTransitionTime ?? ""), started.getTime())
      })
    )
  )

  it.live(
    `writes ${BULK} new route statuses (one-shot, median of 3), and converges attaching routes with few Gateway writes`,
    () =>
      withWriter(
        Effect.gen(function* () {
          const writer = yield* StatusWriter
          const names = Array.from({ length: BULK }, (_, i) => `r${String(i).padStart(4, "0")}`)
          const [created] = yield* Effect.timed(
            apply([gatewayClass, gateway(BULK_NS), ...names.map((n) => route(BULK_NS, n))])
          )
          /** Round k > 1 changes every route's messages, so each round writes all of them again. */
          const round = (k: number) =>
            Effect.gen(function* () {
              const desired = (yield* snapshot(BULK_NS)).map((d) =>
                d.type.kind !== "HTTPRoute" || k === 1 ? d : { ...d, compute: (p: unknown) => retag(d.compute(p), k) }
              )
              const [took, report] = yield* Effect.timed(writer.write(desired))
              return { ms: millis(took), report }
            })
          const rounds = [yield* round(1), yield* round(2), yield* round(3)]
          for (const r of rounds) assert.include(r.report, { failed: 0, conflicts: 0 })
          assert.isAtLeast(rounds[0]?.report.written ?? 0, BULK)
          for (const r of rounds.slice(1)) assert.strictEqual(r.report.written, BULK)
          const noop = yield* round(3) // the same desired state again: nothing to write
          assert.strictEqual(noop.report.written, 0)
          const sorted = rounds.map((r) => r.ms).sort((a, b) => a - b)
          console.log(
            `[status-writer] created ${BULK} routes in ${millis(created)} ms; wrote their statuses in ` +
              `${rounds.map((r) => `${r.ms} ms`).join(", ")} (median ${sorted[1]} ms); unchanged pass ${noop.ms} ms`
          )
          // Generous: other test suites share this 2-core machine (load averages of 8-10 seen).
          assert.isBelow(sorted[1] ?? Infinity, 30_000)

          // Routes attach in 10 chunks; after each, the "pipeline" submits what it sees.
          counting.puts.clear()
          yield* apply([gateway(ATTACH_NS)])
          const late = Array.from({ length: BULK }, (_, i) => route(ATTACH_NS, `late${i}`))
          let submits = 0
          for (let chunk = 0; chunk < 10; chunk++) {
            yield* apply(late.slice(chunk * 100, chunk * 100 + 100))
            if (chunk < 9) {
              yield* writer.submit(yield* snapshot(ATTACH_NS))
              submits++
            }
          }
          const [snapshotTook, last] = yield* Effect.timed(snapshot(ATTACH_NS))
          const [flushTook] = yield* Effect.timed(Effect.andThen(writer.submit(last), writer.flush))
          const converged = millis(snapshotTook) + millis(flushTook)
          const gw = yield* get(TYPES.gateway, ATTACH_NS, "gw")
          const listeners = (gw.status as { listeners: Array<{ attachedRoutes: number }> }).listeners
          assert.strictEqual(listeners[0]?.attachedRoutes, BULK)
          const gatewayWrites = counting.puts.get("Gateway") ?? 0
          console.log(
            `[status-writer] ${BULK} routes attached in 10 chunks: converged ${converged} ms after the last was ` +
              `created (list + translate ${millis(snapshotTook)} ms, submit + flush ${millis(flushTook)} ms); Gateway status writes: ${gatewayWrites} for ${submits + 1} submits; ` +
              `route writes: ${counting.puts.get("HTTPRoute") ?? 0}`
          )
          assert.isAtMost(gatewayWrites, submits + 1)
          assert.isBelow(converged, 10_000)
        })
      ),
    120_000
  )
})

/** The status with " (round k)" appended to our route conditions' messages. */
const retag = (status: unknown, k: number): unknown => {
  const s = status as { parents: Array<Parent> } | undefined
  if (s === undefined) return s
  return {
    ...s,
    parents: s.parents.map((p) =>
      p.controllerName !== DEFAULT_CONTROLLER_NAME
        ? p
        : { ...p, conditions: p.conditions.map((c) => ({ ...c, message: `${c.message} (round ${k})` })) }
    )
  }
}
