/**
 * What the pipeline tells the admin server about itself: whether it is ready (initial sync done and
 * a first translation applied), the current translation generation, the input errors of that
 * generation, and the Gateway API objects with the status Portico computed for them.
 *
 * The pipeline owns the truth and publishes a fresh {@link StatusView} whenever it changes; the admin
 * server only reads the current one on each request. {@link StatusSource.fromRef} is the bridge: the
 * producer keeps a `Ref` or `SubscriptionRef` and sets it, the admin server reads it. A
 * `SubscriptionRef` lets other consumers (a status writer, tests) follow the changes too.
 *
 * {@link statusDocument} is the pure `/status` rendering: filters and redaction, no I/O.
 */
import { Context, Effect, Layer, Option, Ref, Schema, SubscriptionRef } from "effect"

/** An input problem: something the user wrote that Portico could not use. */
export interface StatusError {
  /** Where it comes from: a file path (standalone) or `Kind namespace/name` (Kubernetes). */
  readonly source: string
  readonly message: string
}

export interface StatusView {
  /** True once the initial sync is done and a first translation has been applied. */
  readonly ready: boolean
  /** Why it is not ready (or any note worth showing while ready). */
  readonly reason?: string
  /** Increases with every translation applied; 0 before the first. */
  readonly generation: number
  /** The input errors of the current generation. */
  readonly errors: ReadonlyArray<StatusError>
  /** Kubernetes objects with their status, as the pipeline computed them. */
  readonly objects: ReadonlyArray<unknown>
}

/** The view before anything happened: not ready, generation 0. */
export const initialStatusView: StatusView = {
  ready: false,
  reason: "waiting for the initial sync of the configuration source",
  generation: 0,
  errors: [],
  objects: []
}

const isSubscriptionRef = <A>(
  ref: Ref.Ref<A> | SubscriptionRef.SubscriptionRef<A>
): ref is SubscriptionRef.SubscriptionRef<A> => SubscriptionRef.isSubscriptionRef(ref)

export class StatusSource extends Context.Service<
  StatusSource,
  {
    /** The latest published view. */
    readonly current: Effect.Effect<StatusView>
  }
>()("portico/admin/StatusSource") {
  /** Reads the views a producer sets into `ref` (a plain `Ref` or a `SubscriptionRef`). */
  static readonly fromRef = (
    ref: Ref.Ref<StatusView> | SubscriptionRef.SubscriptionRef<StatusView>
  ): Layer.Layer<StatusSource> =>
    Layer.succeed(
      StatusSource,
      StatusSource.of({
        current: isSubscriptionRef(ref) ? SubscriptionRef.get(ref) : Ref.get(ref)
      })
    )

  /** A fixed view, for tests and tools that have no pipeline. */
  static readonly layerTest = (view: StatusView = initialStatusView): Layer.Layer<StatusSource> =>
    Layer.succeed(StatusSource, StatusSource.of({ current: Effect.succeed(view) }))
}

/** Which objects `/status` shows; an absent field matches everything. */
export interface ObjectFilter {
  readonly kind?: string
  readonly namespace?: string
  readonly name?: string
}

/** The identifying fields of any Kubernetes object; everything else is ignored. */
const ObjectIdentity = Schema.Struct({
  kind: Schema.optional(Schema.String),
  metadata: Schema.optional(
    Schema.Struct({ name: Schema.optional(Schema.String), namespace: Schema.optional(Schema.String) })
  )
})
const identityOf = Schema.decodeUnknownOption(ObjectIdentity)

const matches =
  (filter: ObjectFilter) =>
  (object: unknown): boolean => {
    const identity = identityOf(object)
    if (Option.isNone(identity))
      return filter.kind === undefined && filter.namespace === undefined && filter.name === undefined
    const { kind, metadata } = identity.value
    return (
      (filter.kind === undefined || filter.kind.toLowerCase() === kind?.toLowerCase()) &&
      (filter.namespace === undefined || filter.namespace === metadata?.namespace) &&
      (filter.name === undefined || filter.name === metadata?.name)
    )
  }

/**
 * A core/v1 Secret with its `data`/`stringData` values replaced by their size: the admin server
 * never shows key material, even if a producer publishes Secrets among its objects.
 */
const redactObject = (object: unknown): unknown => {
  const identity = identityOf(object)
  if (Option.isNone(identity) || identity.value.kind !== "Secret" || typeof object !== "object" || object === null)
    return object
  const redacted: Record<string, unknown> = { ...object }
  for (const field of ["data", "stringData"]) {
    const values: unknown = redacted[field]
    if (typeof values !== "object" || values === null) continue
    redacted[field] = Object.fromEntries(
      Object.entries(values).map(([key, value]) => [
        key,
        `[redacted: ${typeof value === "string" ? value.length : 0} bytes]`
      ])
    )
  }
  return redacted
}

/** The `/status` document: the view with its objects filtered and Secrets redacted. */
export const statusDocument = (view: StatusView, filter: ObjectFilter = {}) => ({
  generation: view.generation,
  ready: view.ready,
  ...(view.reason === undefined ? {} : { reason: view.reason }),
  errors: view.errors,
  objects: view.objects.filter(matches(filter)).map(redactObject)
})
