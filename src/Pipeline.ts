/**
 * The pipeline of a running control plane: provider batches in, xDS snapshots and statuses out.
 *
 *   objects -> translateObjects (reconcilers: statuses + IR) -> per fleet: translateFleet +
 *   proxyless API listeners -> SnapshotCache (checked for consistency, last good kept)
 *
 * Incremental where it pays: a fleet whose IR did not change is neither re-translated nor set
 * again, so its proxies see nothing; fleets that vanished are cleared (their proxies keep what
 * they hold and get nothing new). Each applied batch bumps `generation` and publishes a view
 * (statuses per object, input errors, fleets) for the admin server and tests.
 */
import { Context, Effect, Layer, Option, type Stream, SubscriptionRef } from "effect"
import { formatTranslateError, type Origin } from "./cli/TranslateCommand.ts"
import type { InfraIR } from "./ir/Infra.ts"
import type { FleetXds } from "./ir/Xds.ts"
import type { SourceError } from "./providers/file/FileProvider.ts"
import { DEFAULT_CONTROLLER_NAME, type KubeObject, translateObjects } from "./reconcilers/Translate.ts"
import { withProxyless } from "./xds/Proxyless.ts"
import { SnapshotCache } from "./xds/SnapshotCache.ts"
import { translateFleet } from "./xds/translate/Fleet.ts"

export interface PipelineInput {
  /** Every object the provider holds now (raw Kubernetes objects). */
  readonly objects: ReadonlyArray<unknown>
  /** Where each object came from (same order as `objects`), to name files in errors. */
  readonly origins?: ReadonlyArray<Origin>
  /** Problems the provider already found (unreadable files, invalid objects kept at their last good version). */
  readonly sourceErrors?: ReadonlyArray<SourceError>
}

export interface PipelineView {
  /** Applied batches so far; 0 before the first. */
  readonly generation: number
  /** A first batch has been applied. */
  readonly ready: boolean
  /** Input problems of the latest batch, and fleets whose snapshot was rejected. */
  readonly errors: ReadonlyArray<SourceError>
  /** The Gateway API objects with our status. */
  readonly objects: ReadonlyArray<KubeObject>
  /** Fleets served, sorted. */
  readonly fleets: ReadonlyArray<string>
  /** Fleets whose resources changed in the latest batch (set again), sorted. */
  readonly changedFleets: ReadonlyArray<string>
}

/** What one applied batch produced, beyond the view: for the status writer and the infra applier. */
export interface Applied {
  readonly view: PipelineView
  /** Our status of each Gateway API object as a function of its current status (`kind/namespace/name`). */
  readonly statuses: ReadonlyMap<string, (previous: unknown) => unknown>
  /** What each fleet needs deployed. */
  readonly infra: InfraIR
}

export interface PipelineOptions {
  /** Our GatewayClass controllerName. */
  readonly controllerName?: string
}

const EMPTY_VIEW: PipelineView = {
  generation: 0,
  ready: false,
  errors: [],
  objects: [],
  fleets: [],
  changedFleets: []
}

export class Pipeline extends Context.Service<
  Pipeline,
  {
    /** Translates a batch and sets the snapshots of the fleets that changed. */
    apply(input: PipelineInput): Effect.Effect<Applied>
    /** The latest view. */
    readonly view: Effect.Effect<PipelineView>
    /** The latest view, then every new one. */
    readonly changes: Stream.Stream<PipelineView>
  }
>()("portico/Pipeline") {
  static readonly layer = (options: PipelineOptions = {}): Layer.Layer<Pipeline, never, SnapshotCache> =>
    Layer.effect(
      Pipeline,
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        const controllerName = options.controllerName ?? DEFAULT_CONTROLLER_NAME
        const ref = yield* SubscriptionRef.make(EMPTY_VIEW)
        /** The IR of each fleet as last set (JSON), to skip fleets that did not change. */
        const served = new Map<string, string>()

        const setFleet = Effect.fn("Pipeline.setFleet")(function* (fleet: FleetXds) {
          const resources = withProxyless(translateFleet(fleet), fleet)
          return yield* cache.setResources(resources).pipe(
            Effect.as(Option.none<SourceError>()),
            Effect.catch((error) =>
              Effect.succeed(
                Option.some<SourceError>({
                  source: `fleet ${fleet.name}`,
                  message: `${error.message}; its proxies keep the last good configuration`
                })
              )
            )
          )
        })

        const apply = Effect.fn("Pipeline.apply")(function* (input: PipelineInput) {
          const result = translateObjects(input.objects, { controllerName })
          const origins = input.origins ?? []
          const errors: Array<SourceError> = [...(input.sourceErrors ?? [])]
          for (const error of result.errors) {
            const origin = origins[error.index]
            errors.push({
              source: origin?.file ?? `object ${error.index + 1}`,
              message: formatTranslateError(error, origins)
            })
          }
          const changed: Array<string> = []
          const present = new Set<string>()
          for (const fleet of result.ir.xds.fleets) {
            present.add(fleet.name)
            const json = JSON.stringify(fleet)
            if (served.get(fleet.name) === json) continue
            const rejected = yield* setFleet(fleet)
            if (Option.isSome(rejected)) {
              errors.push(rejected.value)
              continue
            }
            served.set(fleet.name, json)
            changed.push(fleet.name)
          }
          for (const fleet of [...served.keys()]) {
            if (present.has(fleet)) continue
            served.delete(fleet)
            yield* cache.clearSnapshot(fleet)
            changed.push(fleet)
          }
          const before = yield* SubscriptionRef.get(ref)
          const view: PipelineView = {
            generation: before.generation + 1,
            ready: true,
            errors,
            objects: result.objects,
            fleets: [...served.keys()].sort(),
            changedFleets: changed.sort()
          }
          yield* SubscriptionRef.set(ref, view)
          return { view, statuses: result.statuses, infra: result.ir.infra }
        })

        return {
          apply,
          view: SubscriptionRef.get(ref),
          changes: SubscriptionRef.changes(ref)
        }
      })
    )
}
