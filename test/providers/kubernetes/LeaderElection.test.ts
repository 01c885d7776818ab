/**
 * src/providers/kubernetes/LeaderElection.ts under the TestClock, against an in-memory Lease
 * (KubeClient.layerTest) with optimistic concurrency like the API server's: acquiring an absent
 * lease, leaving a live one alone, taking over an expired one, losing races (409), stepping down
 * when renewals fail or hang for renewDeadline or another holder shows up, whileLeader's terms,
 * and releasing the lease on close so another replica takes over on its next poll.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Scope, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import { KubeApiError, KubeTransportError, type Lease } from "../../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../../src/providers/kubernetes/KubeClient.ts"
import {
  formatMicroTime,
  LeaderElection,
  type LeaderElectionOptions,
  LeaderElectionOptionsError
} from "../../../src/providers/kubernetes/LeaderElection.ts"
import { type CapturedLog, captureLogs } from "../../support/adsClient.ts"

const NS = "envoy-gateway-system"
const NAME = "portico-controller"
const TARGET = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: NS, name: NAME }

/** One Lease in memory: resourceVersions, 409 on a stale one or on a second create, scripted faults. */
class FakeLeases {
  lease: Lease | undefined
  private rv = 0
  /** "fail": every call fails (transport error); "hang": never answers; "die": a defect. */
  fault: "none" | "fail" | "hang" | "die" = "none"
  /** Runs once before the next write (a rival writing first makes ours stale). */
  beforeWrite: (() => void) | undefined
  readonly writes: Array<string> = []

  /** Stores a lease as another writer would (new resourceVersion). */
  put(spec: Lease["spec"]): Lease {
    this.lease = { metadata: { namespace: NS, name: NAME, resourceVersion: String(++this.rv) }, spec }
    return this.lease
  }

  private guard<A>(verb: string, body: () => Effect.Effect<A, KubeApiError>) {
    if (this.fault === "hang") return Effect.never
    if (this.fault === "die") return Effect.die(new Error("bug"))
    if (this.fault === "fail")
      return Effect.fail(new KubeTransportError({ verb, detail: "connection refused", ...TARGET }))
    return Effect.suspend(body)
  }
  private conflict(verb: string, reason: string) {
    return Effect.fail(new KubeApiError({ verb, status: 409, reason, detail: "injected", ...TARGET }))
  }
  private write(verb: string, lease: Lease, check: () => boolean, reason: string) {
    return this.guard(verb, () => {
      const rival = this.beforeWrite
      this.beforeWrite = undefined
      rival?.()
      if (!check()) return this.conflict(verb, reason)
      this.writes.push(`${verb} ${lease.spec.holderIdentity ?? "(none)"}`)
      return Effect.succeed(this.put(lease.spec))
    })
  }

  layer(): Layer.Layer<KubeClient> {
    return KubeClient.layerTest({
      getLease: () => this.guard("get", () => Effect.succeed(Option.fromNullishOr(this.lease))),
      createLease: (lease) => this.write("create", lease, () => this.lease === undefined, "AlreadyExists"),
      replaceLease: (lease) =>
        this.write(
          "replace",
          lease,
          () => this.lease?.metadata.resourceVersion === lease.metadata.resourceVersion,
          "Conflict"
        )
    })
  }
}

const FAST: LeaderElectionOptions = {
  leaseDuration: "15 seconds",
  renewDeadline: "10 seconds",
  retryPeriod: "2 seconds"
}

const settle = Effect.repeat(Effect.yieldNow, { times: 20 })
/** Moves the TestClock in 100 ms steps, letting the election loops run at each. */
const advance = (millis: number) =>
  Effect.gen(function* () {
    for (let t = 0; t < millis; t += 100) {
      yield* TestClock.adjust(Math.min(100, millis - t))
      yield* settle
    }
  })

/** One replica in its own scope (closing it is a graceful shutdown). */
const replica = (fake: FakeLeases, identity: string, logs: Array<CapturedLog>, options = FAST) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const layer = LeaderElection.layer({ ...options, identity }).pipe(
      Layer.provide(fake.layer()),
      Layer.provide(captureLogs(logs))
    )
    const context = yield* Layer.buildWithScope(layer, scope)
    yield* settle
    const election = Context.get(context, LeaderElection)
    return { election, close: Scope.close(scope, Exit.void) }
  })

const leading = (r: { readonly election: LeaderElection["Service"] }) => SubscriptionRef.get(r.election.isLeader)

describe("LeaderElection", () => {
  it.effect("creates an absent lease and leads; renews it every retryPeriod", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      const logs: Array<CapturedLog> = []
      const a = yield* replica(fake, "a", logs)
      assert.isTrue(yield* leading(a))
      assert.strictEqual(fake.lease?.spec.holderIdentity, "a")
      assert.strictEqual(fake.lease?.spec.leaseDurationSeconds, 15)
      assert.strictEqual(fake.lease?.spec.leaseTransitions, 0)
      assert.strictEqual(fake.lease?.spec.renewTime, "1970-01-01T00:00:00.000000Z")
      yield* advance(4_000)
      assert.deepStrictEqual(fake.writes, ["create a", "replace a", "replace a"])
      assert.strictEqual(fake.lease?.spec.renewTime, formatMicroTime(4_000))
      assert.strictEqual(fake.lease?.spec.acquireTime, formatMicroTime(0))
      assert.isTrue(logs.some((l) => l.message === "became leader" && l.annotations.identity === "a"))
      yield* a.close
    })
  )

  it.effect("leaves a lease that its holder keeps renewing alone", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      fake.put({ holderIdentity: "b", leaseDurationSeconds: 15, renewTime: formatMicroTime(0) })
      const logs: Array<CapturedLog> = []
      const a = yield* replica(fake, "a", logs)
      for (let i = 0; i < 10; i++) {
        yield* advance(5_000)
        fake.put({ ...fake.lease!.spec, renewTime: formatMicroTime(i) }) // b renews
      }
      assert.isFalse(yield* leading(a))
      assert.deepStrictEqual(fake.writes, [])
      assert.strictEqual(logs.filter((l) => l.message === "leader is b").length, 1)
      yield* a.close
      assert.strictEqual(fake.lease?.spec.holderIdentity, "b")
    })
  )

  it.effect("takes over a lease unchanged for leaseDuration (by its own clock), counting the transition", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      // renewTime far in the future (a skewed clock) does not matter: only observed change counts.
      fake.put({ holderIdentity: "b", leaseDurationSeconds: 15, renewTime: formatMicroTime(1e12), leaseTransitions: 3 })
      const a = yield* replica(fake, "a", [])
      yield* advance(14_000)
      assert.isFalse(yield* leading(a))
      yield* advance(4_000) // polls come every 2 to 2.4 s (jitter)
      assert.isTrue(yield* leading(a))
      assert.strictEqual(fake.lease?.spec.holderIdentity, "a")
      assert.strictEqual(fake.lease?.spec.leaseTransitions, 4)
      const acquired = Date.parse(fake.lease?.spec.acquireTime ?? "")
      assert.isTrue(acquired >= 15_000 && acquired <= 17_500, `acquired at ${acquired}`)
      yield* a.close
    })
  )

  it.effect("loses a take-over race to a rival's write (409) and follows the rival", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      fake.put({ holderIdentity: "b", leaseDurationSeconds: 15 })
      const logs: Array<CapturedLog> = []
      const a = yield* replica(fake, "a", logs)
      fake.beforeWrite = () => fake.put({ holderIdentity: "c", leaseDurationSeconds: 15 })
      yield* advance(22_000)
      assert.isFalse(yield* leading(a))
      assert.deepStrictEqual(fake.writes, [])
      assert.strictEqual(fake.lease?.spec.holderIdentity, "c")
      assert.isTrue(logs.some((l) => l.message === "leader is c"))
      yield* a.close
    })
  )

  it.effect("loses a create race (409 AlreadyExists)", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      fake.beforeWrite = () => fake.put({ holderIdentity: "c", leaseDurationSeconds: 15 })
      const a = yield* replica(fake, "a", [])
      assert.isFalse(yield* leading(a))
      assert.strictEqual(fake.lease?.spec.holderIdentity, "c")
      yield* a.close
    })
  )

  it.effect("steps down when renewals fail for renewDeadline, and whileLeader's effect stops at once", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      const logs: Array<CapturedLog> = []
      const a = yield* replica(fake, "a", logs)
      const ticks: Array<boolean> = []
      const work = Effect.forever(
        Effect.andThen(
          Effect.sleep(100),
          Effect.flatMap(leading(a), (l) => Effect.sync(() => ticks.push(l)))
        )
      )
      yield* Effect.forkChild(a.election.whileLeader(work))
      yield* advance(2_000) // renewed at 2 s
      fake.fault = "fail"
      yield* advance(9_900)
      assert.isTrue(yield* leading(a), "still inside renewDeadline")
      yield* advance(200)
      assert.isFalse(yield* leading(a), "stepped down at renewDeadline")
      const count = ticks.length
      yield* advance(3_000)
      assert.strictEqual(ticks.length, count, "no work after losing the lease")
      assert.isTrue(ticks.every(Boolean), "no work while not leader")
      assert.isTrue(logs.some((l) => l.message.startsWith("lost leadership: could not renew for 10000 ms")))
      // The API comes back and the lease still names us: a new term, and the work runs again.
      fake.fault = "none"
      yield* advance(2_500)
      assert.isTrue(yield* leading(a))
      yield* advance(1_000)
      assert.isTrue(ticks.length > count)
      yield* a.close
    })
  )

  it.effect("steps down by renewDeadline even when the API server never answers", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      const a = yield* replica(fake, "a", [])
      fake.fault = "hang"
      yield* advance(9_900)
      assert.isTrue(yield* leading(a))
      yield* advance(200)
      assert.isFalse(yield* leading(a))
      fake.fault = "none"
      yield* a.close
    })
  )

  it.effect("steps down within retryPeriod when another holder takes the lease", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      const logs: Array<CapturedLog> = []
      const a = yield* replica(fake, "a", logs)
      let runs = 0
      let interrupted = 0
      yield* Effect.forkChild(
        a.election.whileLeader(
          Effect.sync(() => runs++).pipe(
            Effect.andThen(Effect.never),
            Effect.onInterrupt(() => Effect.sync(() => interrupted++))
          )
        )
      )
      yield* settle
      assert.strictEqual(runs, 1)
      yield* advance(500)
      fake.put({ ...fake.lease!.spec, holderIdentity: "z" })
      yield* advance(2_000)
      assert.isFalse(yield* leading(a))
      assert.strictEqual(interrupted, 1)
      assert.isTrue(logs.some((l) => l.message === "lost leadership: the lease is held by z"))
      yield* a.close
    })
  )

  it.effect("releases the lease on close, after whileLeader's effect ended; the next replica leads at once", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      const a = yield* replica(fake, "a", [])
      const b = yield* replica(fake, "b", [])
      const events: Array<string> = []
      yield* Effect.forkChild(
        a.election.whileLeader(
          Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => events.push(`stopped; ${fake.writes.length}`))))
        )
      )
      yield* advance(3_000)
      assert.isTrue(yield* leading(a))
      assert.isFalse(yield* leading(b))
      const writes = fake.writes.length
      yield* a.close
      assert.deepStrictEqual(events, [`stopped; ${writes}`], "the work ended before the release")
      assert.strictEqual(fake.writes.at(-1), "replace (none)")
      assert.isUndefined(fake.lease?.spec.holderIdentity)
      yield* advance(3_000) // b's next poll (2 to 2.4 s), well before 15 s
      assert.isTrue(yield* leading(b))
      assert.strictEqual(fake.lease?.spec.holderIdentity, "b")
      assert.strictEqual(fake.lease?.spec.leaseTransitions, 1)
      yield* b.close
    })
  )

  it.effect("with releaseOnClose false, a closed leader's lease stays until it expires", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      const a = yield* replica(fake, "a", [], { ...FAST, releaseOnClose: false })
      const b = yield* replica(fake, "b", [])
      yield* a.close
      assert.strictEqual(fake.lease?.spec.holderIdentity, "a")
      yield* advance(14_000)
      assert.isFalse(yield* leading(b))
      yield* advance(4_000)
      assert.isTrue(yield* leading(b))
      yield* b.close
    })
  )

  it.effect("a defect in the loop steps down and starts over", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      const logs: Array<CapturedLog> = []
      const a = yield* replica(fake, "a", logs)
      fake.fault = "die"
      yield* advance(2_000)
      assert.isFalse(yield* leading(a))
      assert.isTrue(logs.some((l) => l.level === "Error" && l.message.includes("starting over")))
      fake.fault = "none"
      yield* advance(4_000)
      assert.isTrue(yield* leading(a))
      yield* a.close
    })
  )

  it.effect("whileLeader fails with its effect's failure", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      const a = yield* replica(fake, "a", [])
      const error = yield* Effect.flip(a.election.whileLeader(Effect.fail("boom" as const)))
      assert.strictEqual(error, "boom")
      yield* a.close
    })
  )

  it.effect("refuses durations that cannot work", () =>
    Effect.gen(function* () {
      const fake = new FakeLeases()
      const layer = LeaderElection.layer({ leaseDuration: "5 seconds", renewDeadline: "10 seconds" }).pipe(
        Layer.provide(fake.layer())
      )
      const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
      assert.instanceOf(error, LeaderElectionOptionsError)
    })
  )

  it.effect("layerAlwaysLeader runs whileLeader's effect at once", () =>
    Effect.gen(function* () {
      const election = yield* LeaderElection
      assert.isTrue(yield* SubscriptionRef.get(election.isLeader))
      let ran = false
      yield* Effect.forkChild(election.whileLeader(Effect.sync(() => (ran = true))))
      yield* settle
      assert.isTrue(ran)
    }).pipe(Effect.provide(LeaderElection.layerAlwaysLeader))
  )
})
