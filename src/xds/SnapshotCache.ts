/**
 * The snapshot cache: the current, consistent {@link Snapshot} of every fleet, a change stream per
 * fleet that the ADS server follows, and what every node did with what it was sent (ACK and NACK
 * per node and resource type, kept for an admin endpoint and later a Gateway condition).
 *
 * The ADS server knows the cache only through this interface. A snapshot that fails the consistency
 * check is rejected and the fleet keeps its last good one.
 */
import { Clock, Context, Effect, Layer, Metric, Option, Result, Stream, SubscriptionRef } from "effect"
import type { TypeUrl } from "./Registry.ts"
import type { FleetResources } from "./Resources.ts"
import { checkSnapshot, InconsistentSnapshot, kindOfTypeUrl, makeSnapshot, type Snapshot } from "./Snapshot.ts"

/** An Envoy (or xDS client) as the ADS server identified it. */
export interface NodeRef {
  /** The fleet it was served: its node.cluster. */
  readonly fleet: string
  /** Its node.id. */
  readonly id: string
}

export interface NackRecord {
  readonly nonce: string
  /** The client's error_detail message. */
  readonly errorDetail: string
  /** Epoch milliseconds. */
  readonly at: number
}

/** What one node did with one resource type. */
export interface TypeStatus {
  readonly typeUrl: TypeUrl
  /** The version the node last accepted. */
  readonly ackedVersion?: string
  readonly ackedAt?: number
  /** The latest NACK, kept after later ACKs for visibility. */
  readonly lastNack?: NackRecord
  /** Whether the node's latest answer for this type was a NACK (it runs its last good version). */
  readonly rejecting: boolean
  readonly nacks: number
}

export interface NodeStatus {
  readonly fleet: string
  readonly id: string
  /** Sorted by type URL. */
  readonly types: ReadonlyArray<TypeStatus>
}

/** Counts NACKs, with `fleet` and `type` attributes. */
export const nackCounter = Metric.counter("portico_xds_nacks_total", {
  description: "xDS responses rejected (NACKed) by a proxy",
  incremental: true
})

/** Counts snapshots rejected by the consistency check, with a `fleet` attribute. */
export const rejectedSnapshotCounter = Metric.counter("portico_xds_rejected_snapshots_total", {
  description: "fleet snapshots rejected by the consistency check (the last good one stays)",
  incremental: true
})

export class SnapshotCache extends Context.Service<
  SnapshotCache,
  {
    /** Sets a fleet's snapshot; an inconsistent one (or one of another fleet) is rejected and the last good stays. */
    setSnapshot(fleet: string, snapshot: Snapshot): Effect.Effect<void, InconsistentSnapshot>
    /** Builds, checks and sets the snapshot of `resources.fleet`. */
    setResources(resources: FleetResources): Effect.Effect<Snapshot, InconsistentSnapshot>
    /** Forgets a fleet (its Gateway is gone): connected proxies keep what they have and get nothing new. */
    clearSnapshot(fleet: string): Effect.Effect<void>
    getSnapshot(fleet: string): Effect.Effect<Option.Option<Snapshot>>
    /** Fleets that have a snapshot, sorted. */
    readonly fleets: Effect.Effect<ReadonlyArray<string>>
    /** The fleet's current snapshot (none when unknown), then every change. */
    changes(fleet: string): Stream.Stream<Option.Option<Snapshot>>
    /** The last rejected snapshot of each fleet, for an admin view. */
    readonly rejections: Effect.Effect<ReadonlyMap<string, InconsistentSnapshot>>
    recordAck(node: NodeRef, typeUrl: TypeUrl, version: string): Effect.Effect<void>
    recordNack(node: NodeRef, typeUrl: TypeUrl, nonce: string, errorDetail: string): Effect.Effect<void>
    /** Every node's ACK/NACK status, sorted by fleet and node id. */
    readonly nodeStatuses: Effect.Effect<ReadonlyArray<NodeStatus>>
    /** NACKs recorded since start. */
    readonly nackCount: Effect.Effect<number>
  }
>()("portico/xds/SnapshotCache") {
  static readonly layer = Layer.effect(
    SnapshotCache,
    Effect.sync(() => {
      const fleetRefs = new Map<string, SubscriptionRef.SubscriptionRef<Option.Option<Snapshot>>>()
      const rejected = new Map<string, InconsistentSnapshot>()
      const statuses = new Map<string, Map<TypeUrl, TypeStatus>>()
      let nackTotal = 0

      const refOf = (fleet: string) =>
        Effect.suspend(() => {
          const existing = fleetRefs.get(fleet)
          if (existing !== undefined) return Effect.succeed(existing)
          return SubscriptionRef.make<Option.Option<Snapshot>>(Option.none()).pipe(
            Effect.map((created) => {
              // Another fiber may have raced us between the check and here: keep the first.
              const winner = fleetRefs.get(fleet) ?? created
              fleetRefs.set(fleet, winner)
              return winner
            })
          )
        })

      const reject = Effect.fnUntraced(function* (fleet: string, error: InconsistentSnapshot) {
        rejected.set(fleet, error)
        yield* Metric.update(Metric.withAttributes(rejectedSnapshotCounter, { fleet }), 1)
        yield* Effect.logWarning("rejected an inconsistent snapshot; the fleet keeps its last good one").pipe(
          Effect.annotateLogs({ fleet, problems: error.message })
        )
        return yield* error
      })

      const setSnapshot = Effect.fn("SnapshotCache.setSnapshot")(function* (fleet: string, snapshot: Snapshot) {
        const checked =
          snapshot.fleet === fleet
            ? checkSnapshot(snapshot)
            : Result.fail(
                new InconsistentSnapshot({
                  fleet,
                  problems: [{ _tag: "FleetMismatch", expected: fleet, actual: snapshot.fleet }]
                })
              )
        if (Result.isFailure(checked)) return yield* reject(fleet, checked.failure)
        rejected.delete(fleet)
        const ref = yield* refOf(fleet)
        yield* SubscriptionRef.set(ref, Option.some(snapshot))
      })

      const setResources = Effect.fn("SnapshotCache.setResources")(function* (resources: FleetResources) {
        const built = makeSnapshot(resources)
        if (Result.isFailure(built)) return yield* reject(resources.fleet, built.failure)
        yield* setSnapshot(resources.fleet, built.success)
        return built.success
      })

      const clearSnapshot = Effect.fn("SnapshotCache.clearSnapshot")(function* (fleet: string) {
        const ref = fleetRefs.get(fleet)
        if (ref !== undefined) yield* SubscriptionRef.set(ref, Option.none())
        rejected.delete(fleet)
      })

      const getSnapshot = (fleet: string) =>
        Effect.suspend(() => {
          const ref = fleetRefs.get(fleet)
          return ref === undefined ? Effect.succeedNone : SubscriptionRef.get(ref)
        })

      const fleets = Effect.sync(() =>
        [...fleetRefs].filter(([, ref]) => Option.isSome(SubscriptionRef.getUnsafe(ref))).map(([fleet]) => fleet)
      ).pipe(Effect.map((names) => names.sort()))

      const changes = (fleet: string) => Stream.unwrap(Effect.map(refOf(fleet), SubscriptionRef.changes))

      const update = (node: NodeRef, typeUrl: TypeUrl, f: (previous: TypeStatus) => TypeStatus) => {
        const key = `${node.fleet}\u0000${node.id}`
        let types = statuses.get(key)
        if (types === undefined) {
          types = new Map()
          statuses.set(key, types)
        }
        types.set(typeUrl, f(types.get(typeUrl) ?? { typeUrl, rejecting: false, nacks: 0 }))
      }

      const recordAck = Effect.fn("SnapshotCache.recordAck")(function* (
        node: NodeRef,
        typeUrl: TypeUrl,
        version: string
      ) {
        const at = yield* Clock.currentTimeMillis
        update(node, typeUrl, (previous) => ({ ...previous, ackedVersion: version, ackedAt: at, rejecting: false }))
      })

      const recordNack = Effect.fn("SnapshotCache.recordNack")(function* (
        node: NodeRef,
        typeUrl: TypeUrl,
        nonce: string,
        errorDetail: string
      ) {
        const at = yield* Clock.currentTimeMillis
        nackTotal += 1
        update(node, typeUrl, (previous) => ({
          ...previous,
          lastNack: { nonce, errorDetail, at },
          rejecting: true,
          nacks: previous.nacks + 1
        }))
        yield* Metric.update(Metric.withAttributes(nackCounter, { fleet: node.fleet, type: kindOfTypeUrl[typeUrl] }), 1)
      })

      const nodeStatuses = Effect.sync(() =>
        [...statuses]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([key, types]): NodeStatus => {
            const [fleet = "", id = ""] = key.split("\u0000")
            return { fleet, id, types: [...types.values()].sort((a, b) => (a.typeUrl < b.typeUrl ? -1 : 1)) }
          })
      )

      return SnapshotCache.of({
        setSnapshot,
        setResources,
        clearSnapshot,
        getSnapshot,
        fleets,
        changes,
        rejections: Effect.sync(() => new Map(rejected)),
        recordAck,
        recordNack,
        nodeStatuses,
        nackCount: Effect.sync(() => nackTotal)
      })
    })
  )
}
