/**
 * Leader election (src/providers/kubernetes/LeaderElection.ts) against a real kube-apiserver +
 * etcd (test/support/kube/EnvTest.ts), with short durations (lease 2 s, renew deadline 1.5 s,
 * retry 0.3 s): of two replicas exactly one leads; a graceful shutdown hands the lease over on the
 * other's next poll; a crashed leader's lease is taken once it expires; and a leader whose lease
 * is taken from it through the API stops its whileLeader work and writes nothing after.
 *
 * Bounds are loose on purpose (a loaded 2-core machine); the measured times are printed.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Scope, SubscriptionRef } from "effect"
import { KubeClient } from "../../src/providers/kubernetes/KubeClient.ts"
import {
  formatMicroTime,
  LeaderElection,
  type LeaderElectionOptions
} from "../../src/providers/kubernetes/LeaderElection.ts"
import { type CapturedLog, captureLogs } from "../support/adsClient.ts"
import { type EnvTest, startEnvTest } from "../support/kube/EnvTest.ts"
import { eventually } from "../support/kube/FakeApiServer.ts"

/** The first build of kube-apiserver and etcd takes minutes (`make envtest` does it ahead). */
const START_TIMEOUT_MS = 30 * 60_000
const NS = "portico-leader-election"
const SHORT: LeaderElectionOptions = {
  leaseDuration: "2 seconds",
  renewDeadline: "1500 millis",
  retryPeriod: "300 millis"
}

let env: EnvTest
beforeAll(async () => {
  // The Lease's namespace must exist: no controller-manager makes it.
  env = await startEnvTest({ installCrds: false, namespaces: [NS] })
}, START_TIMEOUT_MS)
afterAll(async () => {
  await env?.stop()
})

const logs: Array<CapturedLog> = []
const until = (check: () => boolean, what: string, timeoutMs = 15_000) =>
  Effect.promise(() => eventually(check, timeoutMs, what))
const withKube = <A, E>(body: Effect.Effect<A, E, KubeClient>) =>
  body.pipe(Effect.provide(KubeClient.layerFromKubeConfig(env.kubeConfig)))

/** A replica with its own KubeClient, in its own scope: `close` is a graceful shutdown. */
const replica = (identity: string, lease: string, options: LeaderElectionOptions = {}) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const layer = LeaderElection.layer({ ...SHORT, ...options, namespace: NS, name: lease, identity }).pipe(
      Layer.provide(KubeClient.layerFromKubeConfig(env.kubeConfig)),
      Layer.provide(captureLogs(logs))
    )
    const election = Context.get(yield* Layer.buildWithScope(layer, scope), LeaderElection)
    return {
      identity,
      election,
      leading: () => SubscriptionRef.getUnsafe(election.isLeader),
      close: Scope.close(scope, Exit.void)
    }
  })
type Replica = Effect.Success<ReturnType<typeof replica>>

const holderOf = (lease: string) =>
  withKube(
    Effect.map(
      KubeClient.use((kube) => kube.getLease(NS, lease)),
      (l) => Option.getOrUndefined(Option.map(l, (x) => x.spec))
    )
  )

/** Waits until one of the replicas leads, then checks for a while that never both do. */
const electOne = (a: Replica, b: Replica) =>
  Effect.gen(function* () {
    yield* until(() => a.leading() || b.leading(), "a leader")
    for (let i = 0; i < 30; i++) {
      assert.isFalse(a.leading() && b.leading(), "two leaders")
      yield* Effect.sleep(50)
    }
    assert.isTrue(a.leading() !== b.leading(), "exactly one leader")
    return a.leading() ? [a, b] : [b, a]
  })

describe("leader election against kube-apiserver", () => {
  it.live(
    "exactly one of two replicas leads; a graceful shutdown releases the lease and the other leads at once",
    () =>
      Effect.gen(function* () {
        const a = yield* replica("replica-a", "graceful")
        const b = yield* replica("replica-b", "graceful")
        const [leader, follower] = yield* electOne(a, b)
        if (leader === undefined || follower === undefined) return assert.fail("no leader")
        assert.strictEqual((yield* holderOf("graceful"))?.holderIdentity, leader.identity)
        const closing = Date.now()
        yield* leader.close
        const released = Date.now() - closing
        yield* until(() => follower.leading(), "the follower to lead", 10_000)
        const failover = Date.now() - closing
        console.log(`graceful hand-over: released in ${released} ms, new leader after ${failover} ms`)
        // Waiting for expiry would take about leaseDuration (2 s); a release is seen on the next poll (0.3 s).
        assert.isBelow(failover, 1_500)
        const spec = yield* holderOf("graceful")
        assert.strictEqual(spec?.holderIdentity, follower.identity)
        assert.strictEqual(spec?.leaseTransitions, 1)
        yield* follower.close
        assert.isUndefined((yield* holderOf("graceful"))?.holderIdentity, "released on close")
      }),
    60_000
  )

  it.live(
    "a crashed leader's lease is taken over once it expires",
    () =>
      Effect.gen(function* () {
        const a = yield* replica("crash-a", "crash", { releaseOnClose: false })
        const b = yield* replica("crash-b", "crash", { releaseOnClose: false })
        const [leader, follower] = yield* electOne(a, b)
        if (leader === undefined || follower === undefined) return assert.fail("no leader")
        const crashed = Date.now()
        yield* leader.close // no release: as if the process died
        assert.strictEqual((yield* holderOf("crash"))?.holderIdentity, leader.identity)
        yield* until(() => follower.leading(), "the follower to take over", 15_000)
        const failover = Date.now() - crashed
        console.log(`crash fail-over: new leader after ${failover} ms (leaseDuration 2000 ms)`)
        // Not before the lease expired (2 s after the follower last saw it renewed, at most 0.36 s before the crash).
        assert.isAtLeast(failover, 1_300)
        assert.isBelow(failover, 6_000)
        assert.strictEqual((yield* holderOf("crash"))?.holderIdentity, follower.identity)
        yield* follower.close
      }),
    60_000
  )

  it.live(
    "a leader whose lease is taken through the API stops its whileLeader work and writes nothing after",
    () =>
      Effect.gen(function* () {
        const a = yield* replica("forced-a", "forced")
        yield* until(() => a.leading(), "a to lead")
        let ticks = 0
        let ticksWhenStopped: number | undefined
        let ticksWhileFollower = 0
        const work = Effect.forever(
          Effect.andThen(
            Effect.sleep(20),
            Effect.sync(() => {
              ticks++ // a "write"
              if (!a.leading()) ticksWhileFollower++
            })
          )
        ).pipe(Effect.onInterrupt(() => Effect.sync(() => (ticksWhenStopped = ticks))))
        yield* Effect.forkChild(a.election.whileLeader(work))
        yield* until(() => ticks >= 10, "the work to run")

        // Another party takes the lease, e.g. an operator or a replica with a different view.
        const took = yield* withKube(
          Effect.gen(function* () {
            const kube = yield* KubeClient
            const lease = Option.getOrThrow(yield* kube.getLease(NS, "forced"))
            const now = formatMicroTime(Date.now())
            const { managedFields: _, ...metadata } = lease.metadata
            yield* kube.replaceLease({
              metadata,
              spec: { holderIdentity: "intruder", leaseDurationSeconds: 60, acquireTime: now, renewTime: now }
            })
            return Date.now()
          })
        )
        yield* until(() => !a.leading(), "a to step down", 10_000)
        const detected = Date.now() - took
        yield* until(() => ticksWhenStopped !== undefined, "the work to be interrupted", 1_000)
        const stopped = Date.now() - took
        console.log(`forced take-over: a stepped down after ${detected} ms, its work stopped after ${stopped} ms`)
        assert.isBelow(detected, 1_500, "within renewDeadline")
        yield* Effect.sleep(1_000)
        assert.strictEqual(ticks, ticksWhenStopped, "no write after the work was interrupted")
        assert.strictEqual(ticksWhileFollower, 0, "no write while not leader")
        assert.isFalse(a.leading(), "the intruder's live lease is left alone")
        assert.isTrue(logs.some((l) => l.message === "lost leadership: the lease is held by intruder"))
        yield* a.close
        assert.strictEqual((yield* holderOf("forced"))?.holderIdentity, "intruder", "not ours to release")
      }),
    60_000
  )
})
