/**
 * The Kubernetes provider: watches every kind Portico reads and turns the store into a stream of
 * immutable {@link ResourceSnapshot}s.
 *
 * Changes are coalesced: a batch closes after `quiet` (100 ms) without a change, or `maxDelay`
 * (1 s) after its first change, whichever comes first, so a burst (a `kubectl apply` of a hundred
 * routes, a rollout's EndpointSlice churn) yields a few snapshots, not hundreds. Each snapshot
 * names the kinds that changed in its batch; `endpointsOnly` marks a batch of EndpointSlice changes
 * alone, which needs an EDS push and nothing else. No snapshot is emitted before the store is ready.
 *
 * Objects are decoded with {@link decodeResource} (each object version once; decoded results are
 * cached by object identity). Objects that violate their kind's schema are left out of the
 * snapshot and returned alongside as errors, the way `translateObjects` reports them; messages
 * about Secrets never include values.
 */
import { Clock, Context, Effect, Layer, Option, Queue, Result, Stream } from "effect"
import { type DecodeOutcome, decodeResource, type Resource } from "../../api/Resource.ts"
import { makeSnapshot, type ResourceSnapshot } from "../../reconcilers/Snapshot.ts"
import type { TranslateError } from "../../reconcilers/Translate.ts"
import { type KubeObject, kindId, type ResourceType } from "./KubeApi.ts"
import { KubeClient } from "./KubeClient.ts"
import { Store } from "./Store.ts"
import { type WatcherOptions, watchKind } from "./Watcher.ts"

/** A kind the provider watches. */
export interface WatchedKind {
  readonly type: ResourceType
  /** What to keep of each object (applied before the store); default all of it. */
  readonly keep?: (object: KubeObject) => KubeObject
}

const GATEWAY_API = "gateway.networking.k8s.io"

const gatewayApi = (version: string, kind: string, plural: string, namespaced = true): WatchedKind => ({
  type: { apiVersion: `${GATEWAY_API}/${version}`, kind, plural, namespaced }
})

/**
 * Gateway API v1.6.1, each at its storage version (every one is served there; ReferenceGrant
 * is stored as v1beta1, which every release since v0.6 serves).
 */
export const GATEWAY_API_KINDS: ReadonlyArray<WatchedKind> = [
  gatewayApi("v1", "GatewayClass", "gatewayclasses", false),
  gatewayApi("v1", "Gateway", "gateways"),
  gatewayApi("v1", "ListenerSet", "listenersets"),
  gatewayApi("v1", "HTTPRoute", "httproutes"),
  gatewayApi("v1", "GRPCRoute", "grpcroutes"),
  gatewayApi("v1", "TLSRoute", "tlsroutes"),
  gatewayApi("v1", "TCPRoute", "tcproutes"),
  gatewayApi("v1", "UDPRoute", "udproutes"),
  gatewayApi("v1beta1", "ReferenceGrant", "referencegrants"),
  gatewayApi("v1", "BackendTLSPolicy", "backendtlspolicies")
]

/**
 * Envoy Gateway's own kinds (gateway.envoyproxy.io/v1alpha1: EnvoyProxy, ClientTrafficPolicy,
 * BackendTrafficPolicy, SecurityPolicy, Backend, ...). Each joins here together with its schema
 * in src/api (so {@link decodeResource} reads it) and its field in the ResourceSnapshot.
 */
export const ENVOY_GATEWAY_KINDS: ReadonlyArray<WatchedKind> = []

/** Secret types whose data the translator reads (tls.crt, tls.key, ca.crt); others keep only metadata. */
export const SECRET_TYPES_WITH_DATA: ReadonlySet<string> = new Set(["kubernetes.io/tls", "Opaque"])

/** A Secret as kept: its data only when of a type in {@link SECRET_TYPES_WITH_DATA}. */
export const keepSecret = (object: KubeObject): KubeObject => {
  const type = object.type ?? "Opaque"
  if (typeof type === "string" && SECRET_TYPES_WITH_DATA.has(type)) return object
  const { data: _data, stringData: _stringData, ...rest } = object
  return rest
}

export const CORE_KINDS: ReadonlyArray<WatchedKind> = [
  { type: { apiVersion: "v1", kind: "Namespace", plural: "namespaces", namespaced: false } },
  { type: { apiVersion: "v1", kind: "Service", plural: "services", namespaced: true } },
  { type: { apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true }, keep: keepSecret },
  { type: { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true } },
  { type: { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", plural: "endpointslices", namespaced: true } }
]

export const WATCHED_KINDS: ReadonlyArray<WatchedKind> = [...GATEWAY_API_KINDS, ...ENVOY_GATEWAY_KINDS, ...CORE_KINDS]

/** The {@link kindId} of EndpointSlice: a batch of only these is an EDS-only change. */
export const ENDPOINT_SLICE = "EndpointSlice.discovery.k8s.io"

export interface ProviderSnapshot {
  /** Counts snapshots from 1. */
  readonly generation: number
  readonly snapshot: ResourceSnapshot
  /** Every stored object, raw (what `translateObjects` takes; `errors[i].index` points here). */
  readonly objects: ReadonlyArray<KubeObject>
  /** Objects left out of the snapshot because they violate their kind's schema, one per issue. */
  readonly errors: ReadonlyArray<TranslateError>
  /** The kinds ({@link kindId}) that changed since the previous snapshot (all of them in the first). */
  readonly changedKinds: ReadonlySet<string>
  /** Only EndpointSlices changed: an EDS-only push. */
  readonly endpointsOnly: boolean
  /** Watched kinds the API server does not serve (CRD not installed). */
  readonly missingKinds: ReadonlyArray<string>
}

export interface ProviderOptions extends WatcherOptions {
  /** Default {@link WATCHED_KINDS}. */
  readonly kinds?: ReadonlyArray<WatchedKind>
  /** A batch closes after this long without a change. Default 100 ms. */
  readonly quiet?: number
  /** ... or this long after its first change. Default 1000 ms. */
  readonly maxDelay?: number
}

/**
 * Groups a stream of changed kinds into batches (sets): a batch closes `quiet` ms after its last
 * change or `maxDelay` ms after its first. A slow consumer gets fewer, larger batches.
 */
export const coalesce = <R>(
  changes: Stream.Stream<string, never, R>,
  options: { readonly quiet: number; readonly maxDelay: number }
): Stream.Stream<ReadonlySet<string>, never, R> =>
  Stream.callback<ReadonlySet<string>, never, R>(
    (out) =>
      Effect.gen(function* () {
        const inbox = yield* Queue.unbounded<string>()
        yield* Effect.forkScoped(Stream.runForEach(changes, (kind) => Queue.offer(inbox, kind)))
        while (true) {
          const batch = new Set<string>([yield* Queue.take(inbox)])
          const started = yield* Clock.currentTimeMillis
          while (true) {
            const wait = Math.min(options.quiet, started + options.maxDelay - (yield* Clock.currentTimeMillis))
            if (wait <= 0) break
            const next = yield* Effect.timeoutOption(Queue.take(inbox), wait)
            if (Option.isNone(next)) break
            batch.add(next.value)
          }
          yield* Queue.offer(out, batch)
        }
      }),
    { bufferSize: 1 }
  )

const redact = (kind: string, message: string): string =>
  kind === "Secret" ? message.replace(/, got .*$/s, "") : message

export class KubernetesProvider extends Context.Service<
  KubernetesProvider,
  {
    readonly kinds: ReadonlyArray<WatchedKind>
    /**
     * Runs the watches and emits a snapshot per batch of changes, from the first one after the
     * store is ready. Meant for one consumer: each run starts its own watches.
     */
    readonly snapshots: Stream.Stream<ProviderSnapshot>
  }
>()("portico/providers/kubernetes/Provider") {
  /** The provider and its {@link Store}, over a KubeClient. */
  static readonly layer = (
    options: ProviderOptions = {}
  ): Layer.Layer<KubernetesProvider | Store, never, KubeClient> => {
    const kinds = options.kinds ?? WATCHED_KINDS
    return Layer.effect(
      KubernetesProvider,
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const store = yield* Store
        const snapshots = makeSnapshots(store, kinds, options).pipe(Stream.provideService(KubeClient, kube))
        return KubernetesProvider.of({ kinds, snapshots })
      })
    ).pipe(Layer.provideMerge(Store.layer(kinds.map((k) => kindId(k.type)))))
  }
}

/** The snapshot stream; its caches and counters belong to one run. */
const makeSnapshots = (
  store: Store["Service"],
  kinds: ReadonlyArray<WatchedKind>,
  options: ProviderOptions
): Stream.Stream<ProviderSnapshot, never, KubeClient> =>
  Stream.unwrap(Effect.sync(() => snapshotsOnce(store, kinds, options)))

const snapshotsOnce = (
  store: Store["Service"],
  kinds: ReadonlyArray<WatchedKind>,
  options: ProviderOptions
): Stream.Stream<ProviderSnapshot, never, KubeClient> => {
  const decoded = new WeakMap<KubeObject, DecodeOutcome>()
  let generation = 0
  let pending = new Set<string>()

  const decode = (object: KubeObject) =>
    Effect.gen(function* () {
      const cached = decoded.get(object)
      if (cached !== undefined) return cached
      const outcome = decodeResource(object)
      decoded.set(object, outcome)
      if (outcome._tag === "Invalid") {
        const issues = outcome.issues.map((i) => `${i.path || "(object)"}: ${redact(outcome.kind, i.message)}`)
        yield* Effect.logWarning(`invalid ${outcome.kind} left out: ${issues.join("; ")}`).pipe(
          Effect.annotateLogs({ namespace: outcome.namespace ?? "", name: outcome.name ?? "" })
        )
      }
      return outcome
    })

  const build = Effect.fnUntraced(function* (changedKinds: ReadonlySet<string>) {
    const objects: Array<KubeObject> = []
    const resources: Array<Resource> = []
    const errors: Array<TranslateError> = []
    for (const kind of kinds) {
      for (const object of yield* store.list(kindId(kind.type))) {
        const index = objects.length
        objects.push(object)
        const outcome = yield* decode(object)
        if (outcome._tag === "Decoded") resources.push(outcome.resource)
        else if (outcome._tag === "Invalid") {
          for (const issue of outcome.issues) {
            errors.push({
              index,
              kind: outcome.kind,
              ...(outcome.namespace === undefined ? {} : { namespace: outcome.namespace }),
              ...(outcome.name === undefined ? {} : { name: outcome.name }),
              path: issue.path,
              message: redact(outcome.kind, issue.message)
            })
          }
        }
      }
    }
    generation++
    return {
      generation,
      snapshot: makeSnapshot(resources),
      objects,
      errors,
      changedKinds,
      endpointsOnly: [...changedKinds].every((kind) => kind === ENDPOINT_SLICE),
      missingKinds: yield* store.missing
    } satisfies ProviderSnapshot
  })

  const changes = Stream.mergeAll(
    kinds.map((kind) => {
      const keep = kind.keep
      const updates = watchKind(kind.type, options)
      return keep === undefined
        ? updates
        : Stream.map(updates, (update) => {
            switch (update._tag) {
              case "Replace":
                return { ...update, objects: update.objects.map(keep) }
              case "Upsert":
                return { ...update, object: keep(update.object) }
              default:
                return update
            }
          })
    }),
    { concurrency: "unbounded" }
  ).pipe(
    Stream.filterEffect((update) => store.apply(update)),
    Stream.map((update) => update.kind)
  )

  return coalesce(changes, { quiet: options.quiet ?? 100, maxDelay: options.maxDelay ?? 1000 }).pipe(
    Stream.filterMapEffect((batch) =>
      Effect.gen(function* () {
        for (const kind of batch) pending.add(kind)
        if (!(yield* store.isReady)) return Result.fail(batch)
        const changed = pending
        pending = new Set()
        return Result.succeed(yield* build(changed))
      })
    )
  )
}
