/**
 * The Kubernetes provider's in-memory store: per kind (a {@link kindId}), the raw objects keyed
 * by `namespace/name`, as the watchers last saw them.
 *
 * Objects are trimmed on ingest (`metadata.managedFields` and the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation are dropped: nothing reads them,
 * they are often most of an object's size, and the annotation of a Secret holds its data in
 * clear). A relist replaces a kind's contents, so objects deleted while no watch was open vanish.
 *
 * The store is ready once every expected kind is known: listed at least once, or known to be
 * missing (its CRD is not installed). Before that a snapshot would show a partial world (a
 * Gateway without its routes), so nothing downstream should act on it.
 */
import { Context, Effect, Latch, Layer, Option, Predicate } from "effect"
import { type KubeObject, objectKey } from "./KubeApi.ts"

/** What a watcher tells the store. `kind` is a {@link kindId}, e.g. `Gateway.gateway.networking.k8s.io`. */
export type StoreUpdate =
  /** A (re)list: the kind's complete contents as of `resourceVersion`. */
  | {
      readonly _tag: "Replace"
      readonly kind: string
      readonly objects: ReadonlyArray<KubeObject>
      readonly resourceVersion: string
    }
  | { readonly _tag: "Upsert"; readonly kind: string; readonly object: KubeObject }
  | { readonly _tag: "Delete"; readonly kind: string; readonly object: KubeObject }
  /** The API server does not serve the kind (404 on list): known, and empty. */
  | { readonly _tag: "Missing"; readonly kind: string }

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

/** The object without managedFields and the last-applied annotation (the same object when it has neither). */
export const trimObject = (object: KubeObject): KubeObject => {
  const { managedFields, annotations, ...metadata } = object.metadata
  const lastApplied = Predicate.isObject(annotations) && LAST_APPLIED in annotations
  if (managedFields === undefined && !lastApplied) return object
  if (!lastApplied || !Predicate.isObject(annotations))
    return { ...object, metadata: annotations === undefined ? metadata : { ...metadata, annotations } }
  const { [LAST_APPLIED]: _dropped, ...rest } = annotations
  return { ...object, metadata: Object.keys(rest).length === 0 ? metadata : { ...metadata, annotations: rest } }
}

export interface StoreService {
  /** The kinds the store waits for before it is ready. */
  readonly kinds: ReadonlyArray<string>
  /** Applies an update; true when the kind's contents changed or the kind became known. */
  readonly apply: (update: StoreUpdate) => Effect.Effect<boolean>
  readonly isReady: Effect.Effect<boolean>
  /** Waits until every expected kind is known. */
  readonly awaitReady: Effect.Effect<void>
  /** A kind's objects (none for an unknown or missing kind). */
  readonly list: (kind: string) => Effect.Effect<ReadonlyArray<KubeObject>>
  /** One object by `namespace/name` (`name` when cluster-scoped). */
  readonly get: (kind: string, key: string) => Effect.Effect<Option.Option<KubeObject>>
  /** Kinds the API server does not serve (CRD not installed), sorted. */
  readonly missing: Effect.Effect<ReadonlyArray<string>>
  /** The resourceVersion of the kind's last list, if any. */
  readonly listedVersion: (kind: string) => Effect.Effect<Option.Option<string>>
}

interface KindState {
  objects: Map<string, KubeObject>
  missing: boolean
  listedVersion: string | undefined
}

const sameContents = (current: ReadonlyMap<string, KubeObject>, next: ReadonlyMap<string, KubeObject>): boolean => {
  if (current.size !== next.size) return false
  for (const [key, object] of next) {
    const before = current.get(key)
    if (before === undefined || before.metadata.resourceVersion !== object.metadata.resourceVersion) return false
  }
  return true
}

/** A store expecting `kinds`. Updates of other kinds are kept but do not count for readiness. */
export const makeStore = Effect.fnUntraced(function* (kinds: ReadonlyArray<string>) {
  const states = new Map<string, KindState>()
  const pending = new Set(kinds)
  const ready = yield* Latch.make(pending.size === 0)

  const stateOf = (kind: string): KindState => {
    let state = states.get(kind)
    if (state === undefined) {
      state = { objects: new Map(), missing: false, listedVersion: undefined }
      states.set(kind, state)
    }
    return state
  }

  const known = (kind: string): boolean => {
    const first = pending.delete(kind)
    if (first && pending.size === 0) ready.openUnsafe()
    return first
  }

  const applyUnsafe = (update: StoreUpdate): boolean => {
    const state = stateOf(update.kind)
    switch (update._tag) {
      case "Replace": {
        const next = new Map<string, KubeObject>()
        for (const object of update.objects) {
          const key = objectKey(object)
          const before = state.objects.get(key)
          // An unchanged object stays the same object: consumers cache by identity.
          const same = before !== undefined && before.metadata.resourceVersion === object.metadata.resourceVersion
          next.set(key, same ? before : trimObject(object))
        }
        const changed = state.missing || !sameContents(state.objects, next)
        state.objects = next
        state.missing = false
        state.listedVersion = update.resourceVersion
        return known(update.kind) || changed
      }
      case "Missing": {
        const changed = !state.missing || state.objects.size > 0
        state.objects = new Map()
        state.missing = true
        state.listedVersion = undefined
        return known(update.kind) || changed
      }
      case "Upsert": {
        const key = objectKey(update.object)
        const before = state.objects.get(key)
        if (before !== undefined && before.metadata.resourceVersion === update.object.metadata.resourceVersion)
          return false
        state.objects.set(key, trimObject(update.object))
        return true
      }
      case "Delete":
        return state.objects.delete(objectKey(update.object))
    }
  }

  return Store.of({
    kinds,
    apply: (update) => Effect.sync(() => applyUnsafe(update)),
    isReady: Effect.sync(() => pending.size === 0),
    awaitReady: ready.await,
    list: (kind) => Effect.sync(() => [...(states.get(kind)?.objects.values() ?? [])]),
    get: (kind, key) => Effect.sync(() => Option.fromNullishOr(states.get(kind)?.objects.get(key))),
    missing: Effect.sync(() =>
      [...states]
        .filter(([, state]) => state.missing)
        .map(([kind]) => kind)
        .sort()
    ),
    listedVersion: (kind) => Effect.sync(() => Option.fromNullishOr(states.get(kind)?.listedVersion))
  })
})

export class Store extends Context.Service<Store, StoreService>()("portico/providers/kubernetes/Store") {
  /** An empty store that becomes ready once each of `kinds` is listed or known missing. */
  static readonly layer = (kinds: ReadonlyArray<string>): Layer.Layer<Store> => Layer.effect(Store, makeStore(kinds))
}
