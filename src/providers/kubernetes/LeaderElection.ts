/**
 * Leader election over a coordination.k8s.io/v1 Lease.
 *
 * Every replica watches and serves xDS; only the leader writes status and applies infrastructure.
 * The Lease names its holder (`spec.holderIdentity`), when the holder last renewed it
 * (`renewTime`) and how long a renewal counts (`leaseDurationSeconds`). The rules:
 * - A candidate takes the lease when it is absent (create; 409 AlreadyExists means another won),
 *   released (no holder), already ours, or expired. Optimistic concurrency decides every race: a
 *   take-over or renewal is a PUT carrying the resourceVersion we read, so a stale one is a 409
 *   and we lost. `leaseTransitions` counts changes of holder.
 * - Expiry is judged on our own clock, never by comparing the holder's `renewTime` with ours
 *   (clocks skew): we note when we last saw the lease change (resourceVersion, else holder and
 *   renewTime) and call it expired once `leaseDurationSeconds` have passed since, with no change.
 * - The leader renews every `retryPeriod`. If it cannot renew for `renewDeadline` (shorter than
 *   `leaseDuration`, so it stops before anyone may take over) or it sees another holder, it steps
 *   down at once: `isLeader` turns false and every {@link LeaderElectionService.whileLeader}
 *   effect is interrupted. It keeps competing and may become leader again later.
 * - On scope close (graceful shutdown) the loop stops, the `whileLeader` effects are awaited, and
 *   a lease we hold is released (holder cleared) so another replica takes it on its next poll
 *   instead of waiting for expiry. `releaseOnClose: false` skips that (a crash, in tests).
 *
 * The lease is polled (get, then create or update): that is all the controller's Role grants.
 */
import { hostname } from "node:os"
import {
  Clock,
  Context,
  Duration,
  Effect,
  Fiber,
  Layer,
  Option,
  Random,
  Result,
  Schema,
  Stream,
  SubscriptionRef
} from "effect"
import { isConflict, type KubeError, type Lease } from "./KubeApi.ts"
import { KubeClient } from "./KubeClient.ts"

export interface LeaderElectionOptions {
  /** Namespace of the Lease. Default `envoy-gateway-system`. */
  readonly namespace?: string
  /** Name of the Lease. Default `portico-controller`. */
  readonly name?: string
  /** Who we are in `holderIdentity`; unique per replica. Default `<hostname>-<random hex>`. */
  readonly identity?: string
  /** How long a renewal holds off other candidates (whole seconds on the Lease, rounded up). Default 15 s. */
  readonly leaseDuration?: Duration.Input
  /** The leader steps down when it could not renew for this long. Default 10 s (< leaseDuration). */
  readonly renewDeadline?: Duration.Input
  /** Interval between attempts to acquire or renew. Default 2 s (< renewDeadline). */
  readonly retryPeriod?: Duration.Input
  /** Release a held lease when the scope closes, for immediate fail-over. Default true. */
  readonly releaseOnClose?: boolean
}

export interface LeaderElectionService {
  /** Our `holderIdentity`. */
  readonly identity: string
  /** True while we hold the lease; turns false the moment leadership is lost. */
  readonly isLeader: SubscriptionRef.SubscriptionRef<boolean>
  /**
   * Runs `effect` each time we become leader and interrupts it as soon as leadership is lost,
   * then waits to become leader again; forever. An effect that ends by itself is not restarted
   * until the next term. Fails when `effect` fails.
   */
  readonly whileLeader: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<never, E, R>
}

/** The options cannot work: durations must satisfy leaseDuration > renewDeadline > retryPeriod > 0. */
export class LeaderElectionOptionsError extends Schema.TaggedError<LeaderElectionOptionsError>()(
  "LeaderElectionOptionsError",
  { detail: Schema.String }
) {
  override get message(): string {
    return `invalid leader election options: ${this.detail}`
  }
}

/** Defaults of {@link LeaderElectionOptions}. */
export const LEADER_ELECTION_DEFAULTS = {
  namespace: "envoy-gateway-system",
  name: "portico-controller",
  leaseDuration: "15 seconds",
  renewDeadline: "10 seconds",
  retryPeriod: "2 seconds"
} as const

export class LeaderElection extends Context.Service<LeaderElection, LeaderElectionService>()(
  "portico/providers/kubernetes/LeaderElection"
) {
  /** Elects over the Lease; the election loop runs (and the lease is released) with the layer's scope. */
  static readonly layer = (
    options: LeaderElectionOptions = {}
  ): Layer.Layer<LeaderElection, LeaderElectionOptionsError, KubeClient> =>
    Layer.effect(LeaderElection, makeLeaderElection(options))
  /** Always leader (standalone mode, a single replica, tests of what leadership gates). */
  static readonly layerAlwaysLeader: Layer.Layer<LeaderElection> = Layer.effect(
    LeaderElection,
    Effect.map(SubscriptionRef.make(true), (isLeader) =>
      LeaderElection.of({
        identity: "standalone",
        isLeader,
        whileLeader: (effect) => Effect.andThen(effect, Effect.never)
      })
    )
  )
}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

/** What one attempt to acquire or renew found. `at`: when the attempt started (local clock). */
type Attempt =
  | { readonly _tag: "Held"; readonly at: number }
  | { readonly _tag: "HeldByOther"; readonly holder: string }
  | { readonly _tag: "Conflict" }
  | { readonly _tag: "Failed"; readonly detail: string }

/** When the lease last changed, as we saw it. */
interface Observed {
  readonly key: string
  readonly at: number
}

/** RFC 3339 with microseconds, as `MicroTime` fields (renewTime, acquireTime) are written. */
export const formatMicroTime = (millis: number): string => new Date(millis).toISOString().replace(/Z$/, "000Z")

const describe = (error: KubeError): string => error.message

export const makeLeaderElection = Effect.fnUntraced(function* (options: LeaderElectionOptions = {}) {
  const kube = yield* KubeClient
  const namespace = options.namespace ?? LEADER_ELECTION_DEFAULTS.namespace
  const name = options.name ?? LEADER_ELECTION_DEFAULTS.name
  const leaseDuration = Duration.toMillis(options.leaseDuration ?? LEADER_ELECTION_DEFAULTS.leaseDuration)
  const renewDeadline = Duration.toMillis(options.renewDeadline ?? LEADER_ELECTION_DEFAULTS.renewDeadline)
  const retryPeriod = Duration.toMillis(options.retryPeriod ?? LEADER_ELECTION_DEFAULTS.retryPeriod)
  if (!(retryPeriod > 0 && renewDeadline > retryPeriod && leaseDuration > renewDeadline))
    return yield* new LeaderElectionOptionsError({
      detail: `need leaseDuration (${leaseDuration} ms) > renewDeadline (${renewDeadline} ms) > retryPeriod (${retryPeriod} ms) > 0`
    })
  const identity =
    options.identity ??
    `${hostname()}-${Math.floor((yield* Random.next) * 0x1_0000_0000)
      .toString(16)
      .padStart(8, "0")}`
  const leaseSeconds = Math.max(1, Math.ceil(leaseDuration / 1000))

  const isLeader = yield* SubscriptionRef.make(false)
  /** How many whileLeader effects run now (awaited on shutdown before the lease is released). */
  const running = yield* SubscriptionRef.make(0)
  let observed: Observed | undefined
  /** The lease named us at our last look. */
  let holding = false

  const observe = (lease: Lease, now: number) => {
    const key = lease.metadata.resourceVersion ?? `${lease.spec.holderIdentity}|${lease.spec.renewTime}`
    if (observed?.key !== key) observed = { key, at: now }
  }
  const expired = (lease: Lease, now: number): boolean =>
    observed !== undefined && now >= observed.at + (lease.spec.leaseDurationSeconds ?? leaseDuration / 1000) * 1000

  /** One get, then create or update (take over / renew); never fails. */
  const attempt: Effect.Effect<Attempt> = Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const stamp = formatMicroTime(start)
    const got = yield* Effect.result(kube.getLease(namespace, name))
    if (Result.isFailure(got)) return { _tag: "Failed", detail: describe(got.failure) }
    const write: Effect.Effect<Lease, KubeError> = Option.match(got.success, {
      onNone: () =>
        kube.createLease({
          metadata: { namespace, name },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: leaseSeconds,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: 0
          }
        }),
      onSome: (lease) => {
        observe(lease, start)
        const holder = lease.spec.holderIdentity ?? ""
        const ours = holder === identity
        // Another's live lease: nothing to write (reported as HeldByOther below).
        if (holder !== "" && !ours && !expired(lease, start)) return Effect.succeed(lease)
        const { managedFields: _, ...metadata } = lease.metadata
        const transitions = lease.spec.leaseTransitions ?? 0
        return kube.replaceLease({
          metadata,
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: leaseSeconds,
            acquireTime: ours ? (lease.spec.acquireTime ?? stamp) : stamp,
            renewTime: stamp,
            leaseTransitions: ours ? transitions : transitions + 1
          }
        })
      }
    })
    const written = yield* Effect.result(write)
    if (Result.isFailure(written))
      return isConflict(written.failure) ? { _tag: "Conflict" } : { _tag: "Failed", detail: describe(written.failure) }
    const lease = written.success
    const holder = lease.spec.holderIdentity ?? ""
    if (holder !== identity) {
      holding = false
      return { _tag: "HeldByOther", holder }
    }
    observe(lease, start)
    holding = true
    return { _tag: "Held", at: start }
  })

  /** Until we hold the lease: an attempt every retryPeriod (up to +20% jitter, to spread replicas). */
  const acquire = Effect.gen(function* () {
    let leader = ""
    let failure = ""
    while (true) {
      const result = yield* attempt
      switch (result._tag) {
        case "Held":
          return result.at
        case "HeldByOther":
          if (result.holder !== leader) yield* Effect.logInfo(`leader is ${result.holder}`)
          leader = result.holder
          failure = ""
          break
        case "Failed":
          if (result.detail !== failure) yield* Effect.logWarning(`cannot acquire the lease: ${result.detail}`)
          failure = result.detail
          break
        case "Conflict":
          yield* Effect.logDebug("lost a race for the lease")
      }
      yield* Effect.sleep(retryPeriod * (1 + 0.2 * (yield* Random.next)))
    }
  })

  /** While leader: renew every retryPeriod; returns why leadership ended. */
  const renew = Effect.fnUntraced(function* (renewedAt: number) {
    let lastRenew = renewedAt
    let retryAtOnce = false
    let lastFailure = "no answer"
    while (true) {
      const deadline = lastRenew + renewDeadline
      const immediate: boolean = retryAtOnce
      if (!immediate)
        yield* Effect.sleep(Math.max(0, Math.min(retryPeriod, deadline - (yield* Clock.currentTimeMillis))))
      retryAtOnce = false
      const remaining = deadline - (yield* Clock.currentTimeMillis)
      if (remaining <= 0) return `could not renew for ${renewDeadline} ms (${lastFailure})`
      const result = yield* attempt.pipe(
        Effect.timeoutOrElse({
          duration: remaining,
          orElse: () => Effect.succeed<Attempt>({ _tag: "Failed", detail: "renewal timed out" })
        })
      )
      switch (result._tag) {
        case "Held":
          lastRenew = result.at
          break
        case "HeldByOther":
          return `the lease is held by ${result.holder}`
        case "Conflict":
          // Someone else wrote the lease: look again now rather than after retryPeriod (once).
          lastFailure = "conflict"
          retryAtOnce = !immediate
          break
        case "Failed":
          lastFailure = result.detail
          yield* Effect.logWarning(`cannot renew the lease: ${result.detail}`)
      }
    }
  })

  const loop = Effect.gen(function* () {
    while (true) {
      const acquiredAt = yield* acquire
      yield* SubscriptionRef.set(isLeader, true)
      yield* Effect.logInfo("became leader")
      const reason = yield* renew(acquiredAt)
      yield* SubscriptionRef.set(isLeader, false)
      yield* Effect.logWarning(`lost leadership: ${reason}`)
      yield* Effect.sleep(retryPeriod)
    }
  })
  /** A defect must not leave isLeader true with nobody renewing: step down, log, start over. */
  const supervised = Effect.forever(
    loop.pipe(
      Effect.onExit(() => SubscriptionRef.set(isLeader, false)),
      Effect.catchDefect((defect) =>
        Effect.andThen(Effect.logError(`leader election failed, starting over: ${defect}`), Effect.sleep(retryPeriod))
      )
    )
  ).pipe(Effect.annotateLogs({ lease: `${namespace}/${name}`, identity }))

  /** Clears the holder of a lease we hold, so the next candidate need not wait for expiry. */
  const release = Effect.gen(function* () {
    const lease = Option.getOrUndefined(yield* kube.getLease(namespace, name))
    if (lease === undefined || lease.spec.holderIdentity !== identity) return
    const now = formatMicroTime(yield* Clock.currentTimeMillis)
    const { managedFields: _, ...metadata } = lease.metadata
    const { holderIdentity: _holder, ...spec } = lease.spec
    yield* kube.replaceLease({ metadata, spec: { ...spec, leaseDurationSeconds: 1, renewTime: now } })
    yield* Effect.logInfo("released the lease")
  }).pipe(
    Effect.timeoutOrElse({
      duration: renewDeadline,
      orElse: () => Effect.fail("timed out")
    }),
    Effect.catch((error) =>
      Effect.logWarning(`could not release the lease: ${typeof error === "string" ? error : describe(error)}`)
    ),
    Effect.annotateLogs({ lease: `${namespace}/${name}`, identity })
  )

  const fiber = yield* Effect.forkScoped(supervised)
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      yield* Fiber.interrupt(fiber)
      yield* SubscriptionRef.set(isLeader, false)
      // Stop writing before anyone else may start: wait for the whileLeader effects to end.
      yield* SubscriptionRef.changes(running).pipe(
        Stream.filter((n) => n === 0),
        Stream.take(1),
        Stream.runDrain,
        Effect.timeoutOrElse({ duration: renewDeadline, orElse: () => Effect.void })
      )
      if (holding && options.releaseOnClose !== false) yield* release
    })
  )

  const awaitValue = (wanted: boolean) =>
    SubscriptionRef.changes(isLeader).pipe(
      Stream.filter((value) => value === wanted),
      Stream.take(1),
      Stream.runDrain
    )
  const whileLeader = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<never, E, R> =>
    Effect.forever(
      Effect.andThen(
        awaitValue(true),
        Effect.acquireUseRelease(
          SubscriptionRef.update(running, (n) => n + 1),
          () => Effect.raceFirst(Effect.andThen(effect, Effect.never), awaitValue(false)),
          () => SubscriptionRef.update(running, (n) => n - 1)
        )
      )
    )

  return LeaderElection.of({ identity, isLeader, whileLeader })
})
