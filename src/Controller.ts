/**
 * The control plane in a cluster (`portico serve --provider kubernetes`): every replica watches
 * and serves xDS; the elected leader also applies the fleets' infrastructure and writes statuses.
 *
 *   KubernetesProvider (list+watch, coalesced) -> Pipeline (reconcile, translate, SnapshotCache)
 *     -> ADS server (every replica)
 *     -> leader only: InfraApplier (server-side apply, prune, Service addresses)
 *                     -> StatusWriter (Gateway addresses/Programmed folded in from the Services)
 *
 * A replica that becomes leader re-runs the latest snapshot at once, so infrastructure and
 * statuses catch up without waiting for a change. A fleet's Service getting its load balancer
 * address is itself a watched change (Services are watched), which re-runs the loop. Every
 * RESYNC_INTERVAL the leader re-applies all fleet objects (drift repair).
 */
import { type Duration, Effect, Option, Ref, Schedule, Stream, SubscriptionRef } from "effect"
import { InfraApplier } from "./charts/InfraApplier.ts"
import { type Applied, Pipeline } from "./Pipeline.ts"
import type { KubeObject } from "./providers/kubernetes/KubeApi.ts"
import { LeaderElection } from "./providers/kubernetes/LeaderElection.ts"
import { KubernetesProvider, type ProviderSnapshot } from "./providers/kubernetes/Provider.ts"
import { objectKey } from "./reconcilers/Translate.ts"
import { withAssignedAddresses } from "./status/GatewayAddresses.ts"
import { desiredStatuses, StatusWriter } from "./status/StatusWriter.ts"

/** Gateways' uids by `namespace/name` (owner references of their fleets). */
const gatewayUids = (objects: ReadonlyArray<KubeObject>): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  for (const o of objects) {
    const uid = (o.metadata as { uid?: unknown }).uid
    if (o.kind === "Gateway" && typeof uid === "string")
      out.set(`${o.metadata.namespace ?? ""}/${o.metadata.name}`, uid)
  }
  return out
}

type Event =
  | { readonly _tag: "Snapshot"; readonly snapshot: ProviderSnapshot }
  | { readonly _tag: "Leader" }
  | { readonly _tag: "Resync" }

/**
 * How often the leader re-applies every fleet object even when nothing changed, repairing edits
 * made on the server behind our back (the applier otherwise skips objects it already applied).
 */
export const RESYNC_INTERVAL = "10 minutes"

/** The leader's part for one snapshot: infrastructure, then statuses with the fleets' addresses. */
const lead = (snapshot: ProviderSnapshot, applied: Applied) =>
  Effect.gen(function* () {
    const infra = yield* InfraApplier
    const writer = yield* StatusWriter
    const uids = gatewayUids(snapshot.objects)
    const fleets = applied.infra.fleets.flatMap((fleet) => {
      const uid = uids.get(`${fleet.gateway.namespace}/${fleet.gateway.name}`)
      return uid === undefined ? [] : [{ infra: fleet, gatewayUid: uid }]
    })
    const report = yield* infra.apply(fleets)
    if (report.applied.length > 0 || report.pruned.length > 0) {
      yield* Effect.logInfo(
        `infrastructure: applied ${report.applied.length}, pruned ${report.pruned.length}, unchanged ${report.unchanged}`
      )
    }
    // Gateways: the reconcilers' status, with what the fleet's Service says about addresses.
    const statuses = new Map(applied.statuses)
    for (const fleet of applied.infra.fleets) {
      const gateway = `${fleet.gateway.namespace}/${fleet.gateway.name}`
      const key = objectKey("Gateway", fleet.gateway.namespace, fleet.gateway.name)
      const compute = applied.statuses.get(key)
      const addresses = report.addresses.get(gateway)
      if (compute !== undefined && addresses !== undefined) {
        statuses.set(key, (previous) => withAssignedAddresses(compute(previous), addresses))
      }
    }
    yield* writer.submit(desiredStatuses(statuses, snapshot.objects))
  })

export interface ControllerOptions {
  /** Default RESYNC_INTERVAL. */
  readonly resyncInterval?: Duration.Input
}

/** Runs until interrupted. */
export const runController = (options: ControllerOptions = {}) =>
  Effect.gen(function* () {
    const provider = yield* KubernetesProvider
    const pipeline = yield* Pipeline
    const election = yield* LeaderElection
    const latest = yield* Ref.make(Option.none<{ readonly snapshot: ProviderSnapshot; readonly applied: Applied }>())

    const becameLeader = SubscriptionRef.changes(election.isLeader).pipe(
      Stream.changes,
      Stream.filter((leader) => leader),
      Stream.map((): Event => ({ _tag: "Leader" }))
    )
    const snapshots = provider.snapshots.pipe(Stream.map((snapshot): Event => ({ _tag: "Snapshot", snapshot })))
    const resyncs = Stream.fromSchedule(Schedule.spaced(options.resyncInterval ?? RESYNC_INTERVAL)).pipe(
      Stream.map((): Event => ({ _tag: "Resync" }))
    )
    const infra = yield* InfraApplier

    yield* Stream.mergeAll([snapshots, becameLeader, resyncs], { concurrency: "unbounded" }).pipe(
      Stream.runForEach((event) =>
        Effect.gen(function* () {
          if (event._tag === "Snapshot") {
            const snapshot = event.snapshot
            const applied = yield* pipeline.apply({ objects: snapshot.objects })
            yield* Ref.set(latest, Option.some({ snapshot, applied }))
            for (const error of applied.view.errors) yield* Effect.logWarning(error.message)
            const view = applied.view
            yield* Effect.logInfo(
              `generation ${view.generation}: ${view.objects.length} Gateway API object(s), ${view.fleets.length} fleet(s); ${
                view.changedFleets.length === 0 ? "no fleet changed" : `updated ${view.changedFleets.join(", ")}`
              }${snapshot.missingKinds.length === 0 ? "" : `; not installed: ${snapshot.missingKinds.join(", ")}`}`
            )
          }
          if (!(yield* SubscriptionRef.get(election.isLeader))) return
          if (event._tag === "Resync") yield* infra.resync
          const current = yield* Ref.get(latest)
          if (Option.isSome(current)) yield* lead(current.value.snapshot, current.value.applied)
        })
      )
    )
  })
