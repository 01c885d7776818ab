/**
 * InfraApplier: puts every Gateway's Envoy fleet into the cluster and keeps it there. Each round
 * (`apply`) takes the desired fleets, synthesizes their objects ({@link synthFleet}), writes them
 * with server-side apply (one field manager, `portico`, forced: Portico is the authority on the
 * fields it sets), deletes the fleet objects nobody wants any more, and reads each fleet's Service
 * back into the Gateway's addresses ({@link serviceAddresses}).
 *
 * A round, in order:
 * 1. List what exists: every managed kind (ServiceAccount, ConfigMap, Service, Deployment,
 *    HorizontalPodAutoscaler autoscaling/v2, PodDisruptionBudget policy/v1) in all namespaces,
 *    selected by Envoy Gateway's `managed-by` and `component` fleet labels. Six requests per round,
 *    whatever the number of fleets; the same lists serve steps 2 to 4.
 * 2. Apply, fleet by fleet (a few fleets at once), objects in dependency order: ServiceAccount,
 *    ConfigMap, Service, Deployment, HPA, PDB. An object whose manifest hashes as it did when this
 *    process last applied it successfully, and which still exists, is not written: an unchanged
 *    fleet costs no write at all. The first round of a process writes everything (the hashes live
 *    in memory). A failure stops that fleet at the failed object (the later ones depend on it) and
 *    is reported as a {@link FleetApplyError}; the other fleets go on.
 * 3. Prune: a listed object that is not desired is deleted (a Gateway gone, an HPA or PDB no longer
 *    configured, the Service of a fleet without ports, a fleet left behind by a layout change).
 *    Deletion is explicit, not left to owner references: in the ControllerNamespace layout there
 *    are none, and a Gateway may be recreated under the same name. Only objects carrying our
 *    labels are ever seen, and of those only the ones a Portico field manager has written
 *    (`metadata.managedFields`) are deleted, so an Envoy Gateway running beside Portico, which uses
 *    the same labels, keeps its fleets. Objects of a fleet whose synthesis failed are kept.
 * 4. Addresses: each fleet's Service, as the apply returned it or as listed, mapped to
 *    {@link ServiceAddresses}, keyed by Gateway `namespace/name`.
 *
 * Settings come from the layer's options (placement, image, xDS, Service type, ...), which each
 * fleet may override key by key ({@link FleetToApply.options}, e.g. from its EnvoyProxy); where
 * fleets live (layout, controller namespace) is applier-wide, since pruning and address lookups
 * depend on it.
 *
 * Rounds never overlap (one permit), so the hashes always describe what the server last accepted.
 * Drift on the server (someone edits a field Portico owns) is repaired when the fleet changes or
 * after {@link InfraApplierService.resync}; a deleted object is recreated on the next round.
 */
import { createHash } from "node:crypto"
import { Context, Effect, Layer, Option, Result, Schema, Semaphore } from "effect"
import type { FleetInfra } from "../ir/Infra.ts"
import {
  FIELD_MANAGER,
  isConflict,
  isNotFound,
  type KubeError,
  type KubeObject,
  kindId,
  type ResourceType
} from "../providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../providers/kubernetes/KubeClient.ts"
import { type FleetOptions, fleetNamespace, synthFleet } from "./EnvoyFleet.ts"
import { missingService, type ServiceAddresses, serviceAddresses } from "./LoadBalancer.ts"
import type { KubeManifest } from "./Manifest.ts"

const SERVICE_TYPE: ResourceType = { apiVersion: "v1", kind: "Service", plural: "services", namespaced: true }

/** The kinds a fleet is made of, in apply order. */
export const MANAGED_TYPES: ReadonlyArray<ResourceType> = [
  { apiVersion: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true },
  { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true },
  SERVICE_TYPE,
  { apiVersion: "apps/v1", kind: "Deployment", plural: "deployments", namespaced: true },
  {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    plural: "horizontalpodautoscalers",
    namespaced: true
  },
  { apiVersion: "policy/v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets", namespaced: true }
]

/** Selects every fleet object (Envoy Gateway's labels; no other object carries both). */
export const FLEET_SELECTOR = "app.kubernetes.io/managed-by=envoy-gateway,app.kubernetes.io/component=proxy"

/** Settings one fleet may override (e.g. from its EnvoyProxy); where fleets live is applier-wide. */
export type FleetOverrides = Omit<FleetOptions, "gatewayUid" | "layout" | "controllerNamespace">

/** One fleet to run: its infra IR and the uid of its Gateway (for the owner references). */
export interface FleetToApply {
  readonly infra: FleetInfra
  readonly gatewayUid: string
  /** Merged over the applier's options, key by key. */
  readonly options?: FleetOverrides
}

/** Every fleet's settings (the chart's options but the per-Gateway uid), plus the applier's own. */
export interface InfraApplierOptions extends Omit<FleetOptions, "gatewayUid"> {
  /** Fleets applied at once. Default 4. */
  readonly concurrency?: number
}

/** One fleet could not be (fully) applied: which, at which object, and what the server said. */
export class FleetApplyError extends Schema.TaggedError<FleetApplyError>()("FleetApplyError", {
  fleet: Schema.String,
  /** The Gateway, `namespace/name`. */
  gateway: Schema.String,
  /** `Kind namespace/name` of the object that failed; `chart` when synthesis failed. */
  object: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `fleet ${this.fleet} of Gateway ${this.gateway}: ${this.object}: ${this.detail}`
  }
}

/** Listing a managed kind, or deleting an unwanted object, failed; the rest of the round went on. */
export class FleetPruneError extends Schema.TaggedError<FleetPruneError>()("FleetPruneError", {
  verb: Schema.Literals(["list", "delete"]),
  /** `Kind namespace/name` (`Kind` for a list). */
  object: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.verb} ${this.object}: ${this.detail}`
  }
}

export interface ApplyReport {
  /** Objects written (`Kind namespace/name`), in the order written per fleet. */
  readonly applied: ReadonlyArray<string>
  /** Objects already as desired: no request made. */
  readonly unchanged: number
  /** Objects deleted (`Kind namespace/name`). */
  readonly pruned: ReadonlyArray<string>
  readonly failures: ReadonlyArray<FleetApplyError | FleetPruneError>
  /** Each fleet's addresses, keyed by its Gateway's `namespace/name`. */
  readonly addresses: ReadonlyMap<string, ServiceAddresses>
}

export interface InfraApplierService {
  /** One round (see the module doc): the given fleets are all that should exist. Never fails. */
  readonly apply: (fleets: ReadonlyArray<FleetToApply>) => Effect.Effect<ApplyReport>
  /** The fleet's addresses, from its Service as the server has it now (no Service: not assigned). */
  readonly addresses: (fleet: FleetInfra) => Effect.Effect<ServiceAddresses, KubeError>
  /** Forgets every hash: the next round writes every object again (repairs drift on the server). */
  readonly resync: Effect.Effect<void>
}

/** `Kind.group/namespace/name`: the identity of an object across kinds. */
const idOf = (o: { readonly apiVersion: string; readonly kind: string; readonly metadata: KubeManifest["metadata"] }) =>
  `${kindId(o)}/${o.metadata.namespace ?? ""}/${o.metadata.name}`
/** `Kind namespace/name`, for reports and logs. */
const describe = (o: { readonly kind: string; readonly metadata: KubeManifest["metadata"] }) =>
  `${o.kind} ${o.metadata.namespace === undefined ? "" : `${o.metadata.namespace}/`}${o.metadata.name}`
const gatewayKey = (fleet: FleetInfra) => `${fleet.gateway.namespace}/${fleet.gateway.name}`

const applyRank = (m: KubeManifest): number => {
  const rank = MANAGED_TYPES.findIndex((t) => kindId(t) === kindId(m))
  return rank === -1 ? MANAGED_TYPES.length : rank
}

/** The chart's output is deterministic (cdk8s sorts keys), so its JSON text is a faithful key. */
const hashOf = (m: KubeManifest): string => createHash("sha256").update(JSON.stringify(m)).digest("hex")

const ManagedFields = Schema.Struct({
  metadata: Schema.Struct({
    managedFields: Schema.optionalKey(
      Schema.NullOr(Schema.Array(Schema.Struct({ manager: Schema.optionalKey(Schema.String) })))
    )
  })
})
const decodeManagedFields = Schema.decodeUnknownOption(ManagedFields)

/** Whether a Portico field manager has written the object (else it is not ours to delete). */
export const writtenByPortico = (object: unknown): boolean =>
  Option.match(decodeManagedFields(object), {
    onNone: () => false,
    onSome: ({ metadata }) => (metadata.managedFields ?? []).some((f) => f.manager === FIELD_MANAGER)
  })

const errorDetail = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** What step 1 found: the listed objects by id, and the kinds whose list succeeded. */
interface LiveState {
  readonly objects: ReadonlyMap<string, KubeObject>
  readonly listed: ReadonlySet<string>
  readonly failures: ReadonlyArray<FleetPruneError>
}

/** A fleet's desired objects in apply order, or why the chart could not make them. */
type Desired = { readonly fleet: FleetInfra; readonly manifests: Result.Result<ReadonlyArray<KubeManifest>, string> }

export class InfraApplier extends Context.Service<InfraApplier, InfraApplierService>()("portico/charts/InfraApplier") {
  static readonly layer = (options: InfraApplierOptions = {}): Layer.Layer<InfraApplier, never, KubeClient> =>
    Layer.effect(InfraApplier, makeInfraApplier(options))
}

export const makeInfraApplier = Effect.fnUntraced(function* (options: InfraApplierOptions) {
  const kube = yield* KubeClient
  const { concurrency = 4, ...fleetOptions } = options
  /** Object id -> hash of the manifest the server last accepted from this process. */
  const hashes = new Map<string, string>()
  const lock = yield* Semaphore.make(1)

  const listLive: Effect.Effect<LiveState> = Effect.gen(function* () {
    const objects = new Map<string, KubeObject>()
    const listed = new Set<string>()
    const failures: Array<FleetPruneError> = []
    const results = yield* Effect.forEach(
      MANAGED_TYPES,
      (type) =>
        Effect.map(Effect.result(kube.list(type, { labelSelector: FLEET_SELECTOR })), (r) => [type, r] as const),
      { concurrency: MANAGED_TYPES.length }
    )
    for (const [type, result] of results) {
      if (Result.isFailure(result)) {
        failures.push(new FleetPruneError({ verb: "list", object: type.kind, detail: errorDetail(result.failure) }))
        continue
      }
      listed.add(kindId(type))
      for (const item of result.success.items) objects.set(idOf(item), item)
    }
    return { objects, listed, failures }
  })

  const desire = (fleet: FleetToApply): Desired => {
    try {
      const manifests = [
        ...synthFleet(fleet.infra, { ...fleetOptions, ...fleet.options, gatewayUid: fleet.gatewayUid })
      ]
      return { fleet: fleet.infra, manifests: Result.succeed(manifests.sort((a, b) => applyRank(a) - applyRank(b))) }
    } catch (cause) {
      return { fleet: fleet.infra, manifests: Result.fail(errorDetail(cause)) }
    }
  }

  /** Step 2 for one fleet: writes what changed, stops at the first failure. */
  const applyFleet = (desired: Desired, live: LiveState) =>
    Effect.gen(function* () {
      const { fleet } = desired
      const applied: Array<string> = []
      const responses = new Map<string, KubeObject>()
      let unchanged = 0
      const fail = (object: string, detail: string) =>
        new FleetApplyError({ fleet: fleet.name, gateway: gatewayKey(fleet), object, detail })
      if (Result.isFailure(desired.manifests)) {
        return { applied, unchanged, responses, failure: fail("chart", desired.manifests.failure) }
      }
      for (const manifest of desired.manifests.success) {
        const id = idOf(manifest)
        const hash = hashOf(manifest)
        const present = !live.listed.has(kindId(manifest)) || live.objects.has(id)
        if (hashes.get(id) === hash && present) {
          unchanged++
          continue
        }
        const result = yield* Effect.result(kube.serverSideApply(manifest))
        if (Result.isFailure(result)) {
          hashes.delete(id)
          return { applied, unchanged, responses, failure: fail(describe(manifest), errorDetail(result.failure)) }
        }
        hashes.set(id, hash)
        responses.set(id, result.success)
        applied.push(describe(manifest))
      }
      return { applied, unchanged, responses, failure: undefined }
    })

  /** Step 3: deletes listed objects that are neither desired nor protected. */
  const prune = (live: LiveState, desiredIds: ReadonlySet<string>, kept: ReadonlySet<string>) =>
    Effect.gen(function* () {
      const unwanted = [...live.objects.entries()].filter(
        ([id, object]) =>
          !desiredIds.has(id) &&
          !kept.has(`${object.metadata.namespace ?? ""}/${object.metadata.name}`) &&
          writtenByPortico(object)
      )
      const results = yield* Effect.forEach(
        unwanted,
        ([id, object]) => {
          const ref = { namespace: object.metadata.namespace, name: object.metadata.name }
          const uid = object.metadata.uid
          const preconditions = uid === undefined ? {} : { preconditions: { uid } }
          const type = MANAGED_TYPES.find((t) => kindId(t) === kindId(object)) ?? object
          return kube.delete(type, ref, { propagationPolicy: "Background", ...preconditions }).pipe(
            // Gone already, or replaced by a new incarnation (the next round sees it): not a failure.
            Effect.catchIf(
              (e) => isNotFound(e) || isConflict(e),
              () => Effect.void
            ),
            Effect.tap(() => Effect.sync(() => hashes.delete(id))),
            Effect.as(describe(object)),
            Effect.mapError(
              (e) => new FleetPruneError({ verb: "delete", object: describe(object), detail: errorDetail(e) })
            ),
            Effect.result
          )
        },
        { concurrency: 8 }
      )
      return {
        pruned: results.flatMap((r) => (Result.isSuccess(r) ? [r.success] : [])),
        failures: results.flatMap((r) => (Result.isFailure(r) ? [r.failure] : []))
      }
    })

  /** Step 4 for one fleet: its Service as just applied, else as listed. */
  const addressesOf = (
    desired: Desired,
    responses: ReadonlyMap<string, KubeObject>,
    live: LiveState
  ): ServiceAddresses => {
    const fleet = desired.fleet
    const namespace = fleetNamespace(fleet, fleetOptions)
    if (fleet.ports.length === 0)
      return missingService(namespace, fleet.name, "is not needed: the Gateway has no ports")
    const id = idOf({ ...SERVICE_TYPE, metadata: { namespace, name: fleet.name } })
    const service = responses.get(id) ?? live.objects.get(id)
    return service === undefined ? missingService(namespace, fleet.name) : serviceAddresses(service)
  }

  const round = Effect.fn("InfraApplier.apply")(function* (fleets: ReadonlyArray<FleetToApply>) {
    const live = yield* listLive
    const desired = fleets.map(desire)
    const outcomes = yield* Effect.forEach(desired, (d) => applyFleet(d, live), { concurrency })

    const desiredIds = new Set<string>()
    const kept = new Set<string>()
    for (const d of desired) {
      if (Result.isSuccess(d.manifests)) for (const m of d.manifests.success) desiredIds.add(idOf(m))
      else kept.add(`${fleetNamespace(d.fleet, fleetOptions)}/${d.fleet.name}`)
    }
    for (const id of [...hashes.keys()]) if (!desiredIds.has(id)) hashes.delete(id)
    const pruned = yield* prune(live, desiredIds, kept)

    const responses = new Map(outcomes.flatMap((o) => [...o.responses]))
    const failures = [...live.failures, ...outcomes.flatMap((o) => (o.failure ? [o.failure] : [])), ...pruned.failures]
    const report: ApplyReport = {
      applied: outcomes.flatMap((o) => o.applied),
      unchanged: outcomes.reduce((n, o) => n + o.unchanged, 0),
      pruned: pruned.pruned,
      failures,
      addresses: new Map(desired.map((d) => [gatewayKey(d.fleet), addressesOf(d, responses, live)]))
    }
    for (const failure of failures) yield* Effect.logWarning(failure.message)
    if (report.applied.length > 0 || report.pruned.length > 0) {
      yield* Effect.logInfo(
        `infra: applied ${report.applied.length}, unchanged ${report.unchanged}, pruned ${report.pruned.length}`
      )
    }
    return report
  })

  const addresses = Effect.fn("InfraApplier.addresses")(function* (fleet: FleetInfra) {
    const namespace = fleetNamespace(fleet, fleetOptions)
    if (fleet.ports.length === 0)
      return missingService(namespace, fleet.name, "is not needed: the Gateway has no ports")
    return yield* kube.get(SERVICE_TYPE, { namespace, name: fleet.name }).pipe(
      Effect.map(serviceAddresses),
      Effect.catchIf(isNotFound, () => Effect.succeed(missingService(namespace, fleet.name)))
    )
  })

  return InfraApplier.of({
    apply: (fleets) => lock.withPermits(1)(round(fleets)),
    addresses,
    resync: Effect.sync(() => hashes.clear())
  })
})
