/**
 * The vocabulary of the Kubernetes port: resource types, raw objects, watch events, the
 * server's Status, leases, and the typed errors of {@link KubeClient}. Also the Schemas of the
 * API's wire format that KubeClient decodes responses with (decoded at the edge, never cast).
 */
import { Effect, Schema } from "effect"

/** The field manager of every server-side apply. */
export const FIELD_MANAGER = "portico"

/** Where a resource lives in the API: what its paths are made of. */
export interface ResourceType {
  /** `v1` (core) or `<group>/<version>`. */
  readonly apiVersion: string
  readonly kind: string
  /** The path segment, e.g. `httproutes`. */
  readonly plural: string
  readonly namespaced: boolean
}

/** A resource type, or just its apiVersion and kind (then resolved by discovery, cached). */
export type TypeRef = ResourceType | { readonly apiVersion: string; readonly kind: string }

export interface ObjectRef {
  readonly namespace?: string | undefined
  readonly name: string
}

/** The API group of an apiVersion (`""` for core `v1`). */
export const groupOf = (apiVersion: string): string => {
  const slash = apiVersion.lastIndexOf("/")
  return slash === -1 ? "" : apiVersion.slice(0, slash)
}

/** `Kind.group` (`Kind` for core), the name under which Portico tracks a kind. */
export const kindId = (type: { readonly apiVersion: string; readonly kind: string }): string => {
  const group = groupOf(type.apiVersion)
  return group === "" ? type.kind : `${type.kind}.${group}`
}

const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const

/** A Kubernetes object as the API serves it: typed where every object agrees, raw elsewhere. */
export const KubeObject = Schema.StructWithRest(
  Schema.Struct({
    apiVersion: Schema.String,
    kind: Schema.String,
    metadata: Schema.StructWithRest(
      Schema.Struct({
        name: Schema.String,
        namespace: Schema.optionalKey(Schema.String),
        resourceVersion: Schema.optionalKey(Schema.String),
        uid: Schema.optionalKey(Schema.String)
      }),
      Rest
    )
  }),
  Rest
)
export type KubeObject = typeof KubeObject.Type

/** `namespace/name` (`name` for cluster-scoped objects). */
export const objectKey = (object: { readonly metadata: ObjectRef }): string =>
  object.metadata.namespace === undefined
    ? object.metadata.name
    : `${object.metadata.namespace}/${object.metadata.name}`

/** The server's metav1.Status, as carried by failures and watch ERROR events. */
export interface ApiStatus {
  readonly code: number
  readonly reason: string
  readonly message: string
}

export interface ListOptions {
  readonly namespace?: string
  readonly labelSelector?: string
  readonly fieldSelector?: string
  /** Page size; pages are followed until the end. Default 500. */
  readonly limit?: number
}

export interface ListResult {
  /** With apiVersion and kind filled in (the server omits them on list items of built-in kinds). */
  readonly items: ReadonlyArray<KubeObject>
  /** Where a watch continues from. */
  readonly resourceVersion: string
}

export interface WatchOptions {
  readonly resourceVersion: string
  readonly namespace?: string
  readonly labelSelector?: string
  readonly fieldSelector?: string
  /** The server closes the watch after this long; default 300. */
  readonly timeoutSeconds?: number
  /** Default true. */
  readonly allowWatchBookmarks?: boolean
}

export type WatchEvent =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: KubeObject }
  /** Nothing changed, but the watch has seen everything up to `resourceVersion`. */
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string }
  /** The server ends the watch with a Status, e.g. code 410 when `resourceVersion` is too old. */
  | { readonly type: "ERROR"; readonly status: ApiStatus }

export interface ApplyOptions {
  readonly fieldManager?: string
  /** Take ownership of conflicting fields; default true (Portico is the authority on what it applies). */
  readonly force?: boolean
  /** Apply to the status subresource instead of the object. */
  readonly subresource?: "status"
  readonly dryRun?: boolean
}

export interface DeleteOptions {
  readonly propagationPolicy?: "Foreground" | "Background" | "Orphan"
  /** Delete only this version / incarnation (else 409 Conflict). */
  readonly preconditions?: { readonly resourceVersion?: string; readonly uid?: string }
}

export interface TokenReviewResult {
  readonly authenticated: boolean
  readonly user?: {
    readonly username?: string | undefined
    readonly uid?: string | undefined
    readonly groups?: ReadonlyArray<string> | undefined
    readonly extra?: { readonly [key: string]: ReadonlyArray<string> } | undefined
  }
  readonly audiences?: ReadonlyArray<string>
  readonly error?: string
}

/** coordination.k8s.io/v1 Lease, as leader election reads and writes it. */
export const Lease = Schema.Struct({
  metadata: Schema.StructWithRest(
    Schema.Struct({
      name: Schema.String,
      namespace: Schema.String,
      resourceVersion: Schema.optionalKey(Schema.String)
    }),
    Rest
  ),
  spec: Schema.Struct({
    holderIdentity: Schema.optionalKey(Schema.String),
    leaseDurationSeconds: Schema.optionalKey(Schema.Number),
    /** RFC 3339 with microseconds (MicroTime). */
    acquireTime: Schema.optionalKey(Schema.String),
    renewTime: Schema.optionalKey(Schema.String),
    leaseTransitions: Schema.optionalKey(Schema.Number)
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({})))
})
export type Lease = typeof Lease.Type

export const LEASE_TYPE: ResourceType = {
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  plural: "leases",
  namespaced: true
}

const TARGET = {
  apiVersion: Schema.String,
  kind: Schema.String,
  namespace: Schema.optionalKey(Schema.String),
  name: Schema.optionalKey(Schema.String)
}

const describeTarget = (e: { kind: string; namespace?: string; name?: string }): string =>
  e.name === undefined ? e.kind : `${e.kind} ${e.namespace === undefined ? "" : `${e.namespace}/`}${e.name}`

/** The API server answered with an error status (HTTP, or a watch ERROR event). */
export class KubeApiError extends Schema.TaggedError<KubeApiError>()("KubeApiError", {
  /** list, watch, get, apply, delete, replaceStatus, patchStatus, create, replace, discover. */
  verb: Schema.String,
  /** HTTP status code: 404 NotFound, 409 Conflict, 410 Gone (Expired), ... */
  status: Schema.Number,
  /** metav1.StatusReason (`NotFound`, `Conflict`, `Expired`, ...), else the HTTP status text. */
  reason: Schema.String,
  /** The server's message. */
  detail: Schema.String,
  ...TARGET
}) {
  override get message(): string {
    return `${this.verb} ${describeTarget(this)}: ${this.status} ${this.reason}: ${this.detail}`
  }
}

/** No answer: connection refused or reset, TLS failure, timeout, or a body that is not what the API sends. */
export class KubeTransportError extends Schema.TaggedError<KubeTransportError>()("KubeTransportError", {
  verb: Schema.String,
  detail: Schema.String,
  ...TARGET
}) {
  override get message(): string {
    return `${this.verb} ${describeTarget(this)}: ${this.detail}`
  }
}

/** The kubeconfig or in-cluster configuration cannot be loaded. */
export class KubeConfigError extends Schema.TaggedError<KubeConfigError>()("KubeConfigError", {
  /** `in-cluster`, `default`, or the kubeconfig path. */
  source: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot load Kubernetes configuration (${this.source}): ${this.detail}`
  }
}

export type KubeError = KubeApiError | KubeTransportError

const hasStatus =
  (status: number) =>
  (e: unknown): e is KubeApiError =>
    e instanceof KubeApiError && e.status === status
export const isNotFound = hasStatus(404)
export const isConflict = hasStatus(409)
export const isGone = hasStatus(410)

// ---------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------

export const ListPage = Schema.Struct({
  metadata: Schema.Struct({
    resourceVersion: Schema.optionalKey(Schema.String),
    continue: Schema.optionalKey(Schema.String)
  }),
  items: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.Record(Schema.String, Schema.Unknown))))
})
export const RawEvent = Schema.Struct({
  type: Schema.Literals(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]),
  object: Schema.Record(Schema.String, Schema.Unknown)
})
export const Bookmark = Schema.Struct({ metadata: Schema.Struct({ resourceVersion: Schema.String }) })
export const Discovery = Schema.Struct({
  resources: Schema.Array(Schema.Struct({ name: Schema.String, kind: Schema.String, namespaced: Schema.Boolean }))
})
export const TokenReviewResponse = Schema.Struct({
  status: Schema.optionalKey(
    Schema.Struct({
      authenticated: Schema.optionalKey(Schema.Boolean),
      user: Schema.optionalKey(
        Schema.Struct({
          username: Schema.optionalKey(Schema.String),
          uid: Schema.optionalKey(Schema.String),
          groups: Schema.optionalKey(Schema.Array(Schema.String)),
          extra: Schema.optionalKey(Schema.Record(Schema.String, Schema.Array(Schema.String)))
        })
      ),
      audiences: Schema.optionalKey(Schema.Array(Schema.String)),
      error: Schema.optionalKey(Schema.String)
    })
  )
})
