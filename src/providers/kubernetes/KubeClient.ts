/**
 * KubeClient: the one port through which Portico talks to the Kubernetes API server.
 *
 * A thin, typed layer over raw API paths (`/api/v1/...`, `/apis/<group>/<version>/...`). It uses
 * @kubernetes/client-node only for what is hard to get right alone: loading kubeconfig / in-cluster
 * config and authenticating each request (tokens, client certificates, exec plugins, CA bundles),
 * plus its undici-backed HTTP library. It does not use `KubernetesObjectApi` or `Watch`: the former
 * has no status subresource and no paging of its own, the latter hides the Status body of a failed
 * watch, has no backpressure and closes quiet watches after 30 s. With raw paths one code path
 * serves every verb, every failure decodes the server's `Status` into one {@link KubeApiError},
 * and watches are plain Streams of a tagged union.
 *
 * Objects stay raw JSON ({@link KubeObject}): consumers decode with Schema at their own edge.
 */
import { KubeConfig } from "@kubernetes/client-node"
import { Context, Effect, Layer, Option, Schema, Stream } from "effect"
import {
  type ApplyOptions,
  Bookmark,
  type DeleteOptions,
  Discovery,
  FIELD_MANAGER,
  isNotFound,
  KubeConfigError,
  type KubeError,
  KubeObject,
  LEASE_TYPE,
  Lease,
  type ListOptions,
  ListPage,
  type ListResult,
  type ObjectRef,
  RawEvent,
  type ResourceType,
  TokenReviewResponse,
  type TokenReviewResult,
  type TypeRef,
  type WatchEvent,
  type WatchOptions
} from "./KubeApi.ts"
import {
  apiError,
  type Call,
  decodeWith,
  describeCause,
  discoveryPath,
  type Http,
  makeHttp,
  parseJson,
  parseStatus,
  REQUEST_TIMEOUT,
  resourcePath,
  targetOf,
  transportError
} from "./KubeHttp.ts"

export interface KubeClientService {
  /** Plural and scope of a kind, from the API's discovery document (cached per apiVersion). */
  readonly discover: (apiVersion: string, kind: string) => Effect.Effect<ResourceType, KubeError>
  /** Every object of a type (all namespaces unless one is given), following pages. */
  readonly list: (type: TypeRef, options?: ListOptions) => Effect.Effect<ListResult, KubeError>
  /**
   * Changes after `resourceVersion`; ends when the server closes the watch. A watch refused
   * outright fails (e.g. 410 Gone); one ended by the server mid-stream emits an ERROR event.
   */
  readonly watch: (type: TypeRef, options: WatchOptions) => Stream.Stream<WatchEvent, KubeError>
  readonly get: (type: TypeRef, ref: ObjectRef) => Effect.Effect<KubeObject, KubeError>
  /** PATCH application/apply-patch+yaml, field manager {@link FIELD_MANAGER}, force by default. */
  readonly serverSideApply: (object: KubeObject, options?: ApplyOptions) => Effect.Effect<KubeObject, KubeError>
  readonly delete: (type: TypeRef, ref: ObjectRef, options?: DeleteOptions) => Effect.Effect<void, KubeError>
  /** PUT the status subresource; the object's metadata.resourceVersion makes a stale write a 409. */
  readonly replaceStatus: (object: KubeObject) => Effect.Effect<KubeObject, KubeError>
  /**
   * JSON merge patch of the status subresource (`patch` is the whole patch body, e.g. `{ status }`);
   * with `resourceVersion`, a stale write is a 409 Conflict.
   */
  readonly patchStatus: (
    type: TypeRef,
    ref: ObjectRef,
    patch: { readonly [key: string]: unknown },
    options?: { readonly resourceVersion?: string }
  ) => Effect.Effect<KubeObject, KubeError>
  readonly createTokenReview: (
    token: string,
    audiences?: ReadonlyArray<string>
  ) => Effect.Effect<TokenReviewResult, KubeError>
  /** The lease, or none when it does not exist. */
  readonly getLease: (namespace: string, name: string) => Effect.Effect<Option.Option<Lease>, KubeError>
  /** 409 AlreadyExists when someone created it first. */
  readonly createLease: (lease: Lease) => Effect.Effect<Lease, KubeError>
  /** Optimistic: 409 Conflict when `lease.metadata.resourceVersion` is stale. */
  readonly replaceLease: (lease: Lease) => Effect.Effect<Lease, KubeError>
}

const load = (source: string, loader: (kc: KubeConfig) => void) =>
  Effect.try({
    try: () => {
      const kc = new KubeConfig()
      loader(kc)
      return kc
    },
    catch: (cause) => new KubeConfigError({ source, detail: cause instanceof Error ? cause.message : String(cause) })
  })

export class KubeClient extends Context.Service<KubeClient, KubeClientService>()(
  "portico/providers/kubernetes/KubeClient"
) {
  /** From an already loaded KubeConfig (tests, or callers that build their own). */
  static readonly layerFromKubeConfig = (config: KubeConfig): Layer.Layer<KubeClient, KubeConfigError> =>
    Layer.effect(KubeClient, makeKubeClient(config, "kubeconfig"))
  /** The pod's ServiceAccount (KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA). */
  static readonly layerInCluster: Layer.Layer<KubeClient, KubeConfigError> = Layer.effect(
    KubeClient,
    Effect.flatMap(
      load("in-cluster", (kc) => kc.loadFromCluster()),
      (kc) => makeKubeClient(kc, "in-cluster")
    )
  )
  /** $KUBECONFIG, else ~/.kube/config, else in-cluster: what kubectl would use. */
  static readonly layerDefault: Layer.Layer<KubeClient, KubeConfigError> = Layer.effect(
    KubeClient,
    Effect.flatMap(
      load("default", (kc) => kc.loadFromDefault()),
      (kc) => makeKubeClient(kc, "default")
    )
  )
  /** An explicit kubeconfig file (`--kubeconfig`). */
  static readonly layerFromFile = (path: string): Layer.Layer<KubeClient, KubeConfigError> =>
    Layer.effect(
      KubeClient,
      Effect.flatMap(
        load(path, (kc) => kc.loadFromFile(path)),
        (kc) => makeKubeClient(kc, path)
      )
    )
  /** A fake: the given operations; any other dies when called. */
  static readonly layerTest = (operations: Partial<KubeClientService>): Layer.Layer<KubeClient> =>
    Layer.succeed(
      KubeClient,
      KubeClient.of(
        new Proxy(operations, {
          get: (target, key) =>
            Reflect.get(target, key) ??
            (() => Effect.die(new Error(`KubeClient.layerTest: ${String(key)} is not implemented`)))
        }) as KubeClientService
      )
    )
}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

/** Builds the client over a loaded KubeConfig; pooled connections close with the scope. */
export const makeKubeClient = Effect.fnUntraced(function* (kc: KubeConfig, source: string) {
  const http: Http = yield* Effect.try({
    try: () => makeHttp(kc),
    catch: (cause) => new KubeConfigError({ source, detail: describeCause(cause) })
  })
  yield* Effect.addFinalizer(() => Effect.promise(() => http.close()))

  const request = <A>(call: Call, schema: Schema.ConstraintDecoder<A>): Effect.Effect<A, KubeError> =>
    Effect.tryPromise({
      try: async (signal) => {
        const response = await http.send(call, signal)
        return { status: response.status, text: await response.text() }
      },
      catch: (cause) => transportError(call, describeCause(cause))
    }).pipe(
      Effect.timeoutOrElse({
        duration: REQUEST_TIMEOUT,
        orElse: () => Effect.fail(transportError(call, `no answer in ${REQUEST_TIMEOUT}`))
      }),
      Effect.flatMap(({ status, text }) =>
        status < 200 || status >= 300
          ? Effect.fail(apiError(call, parseStatus(status, text)))
          : Effect.flatMap(parseJson(call, text === "" ? "{}" : text), (json) => decodeWith(call, schema, json))
      )
    )

  const discovered = new Map<string, ReadonlyArray<ResourceType>>()
  const discover = Effect.fn("KubeClient.discover")(function* (apiVersion: string, kind: string) {
    const call: Call = {
      verb: "discover",
      method: "GET",
      path: discoveryPath(apiVersion),
      target: { apiVersion, kind }
    }
    let types = discovered.get(apiVersion)
    if (types === undefined) {
      const document = yield* request(call, Discovery)
      types = document.resources
        .filter((r) => !r.name.includes("/"))
        .map((r) => ({ apiVersion, kind: r.kind, plural: r.name, namespaced: r.namespaced }))
      discovered.set(apiVersion, types)
    }
    const found = types.find((t) => t.kind === kind)
    if (found !== undefined) return found
    discovered.delete(apiVersion) // perhaps its CRD comes later
    return yield* apiError(call, { code: 404, reason: "NotFound", message: `no ${kind} served in ${apiVersion}` })
  })
  const resolve = (type: TypeRef) => ("plural" in type ? Effect.succeed(type) : discover(type.apiVersion, type.kind))

  const withKind = (type: ResourceType) => (item: { readonly [key: string]: unknown }) => ({
    apiVersion: type.apiVersion,
    kind: type.kind,
    ...item
  })

  const list = Effect.fn("KubeClient.list")(function* (typeRef: TypeRef, options: ListOptions = {}) {
    const type = yield* resolve(typeRef)
    const path = resourcePath(type, { namespace: options.namespace })
    const target = { ...targetOf(type), ...(options.namespace === undefined ? {} : { namespace: options.namespace }) }
    const items: Array<KubeObject> = []
    let token: string | undefined
    let resourceVersion = ""
    do {
      const query = {
        limit: String(options.limit ?? 500),
        continue: token,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector
      }
      const call: Call = { verb: "list", method: "GET", path, query, target }
      const page = yield* request(call, ListPage)
      for (const item of page.items ?? []) items.push(yield* decodeWith(call, KubeObject, withKind(type)(item)))
      resourceVersion = page.metadata.resourceVersion ?? resourceVersion
      token = page.metadata.continue === "" ? undefined : page.metadata.continue
    } while (token !== undefined)
    return { items, resourceVersion }
  })

  const parseEvent = (call: Call, type: ResourceType, line: string) =>
    Effect.flatMap(parseJson(call, line), (json) =>
      Effect.flatMap(decodeWith(call, RawEvent, json), (event): Effect.Effect<WatchEvent, KubeError> => {
        switch (event.type) {
          case "ERROR":
            return Effect.succeed({ type: "ERROR", status: parseStatus(500, event.object) })
          case "BOOKMARK":
            return Effect.map(decodeWith(call, Bookmark, event.object), (b) => ({
              type: "BOOKMARK",
              resourceVersion: b.metadata.resourceVersion
            }))
          default: {
            const change = event.type
            return Effect.map(decodeWith(call, KubeObject, withKind(type)(event.object)), (object) => ({
              type: change,
              object
            }))
          }
        }
      })
    )

  const watch = (typeRef: TypeRef, options: WatchOptions): Stream.Stream<WatchEvent, KubeError> =>
    Stream.unwrap(
      Effect.gen(function* () {
        const type = yield* resolve(typeRef)
        const call: Call = {
          verb: "watch",
          method: "GET",
          path: resourcePath(type, { namespace: options.namespace }),
          query: {
            watch: "true",
            resourceVersion: options.resourceVersion,
            allowWatchBookmarks: String(options.allowWatchBookmarks ?? true),
            timeoutSeconds: String(options.timeoutSeconds ?? 300),
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector
          },
          target: { ...targetOf(type), ...(options.namespace === undefined ? {} : { namespace: options.namespace }) }
        }
        const controller = yield* Effect.acquireRelease(
          Effect.sync(() => new AbortController()),
          (c) => Effect.sync(() => c.abort())
        )
        const response = yield* Effect.tryPromise({
          try: () => http.send(call, controller.signal),
          catch: (cause) => transportError(call, describeCause(cause))
        }).pipe(
          Effect.timeoutOrElse({
            duration: REQUEST_TIMEOUT,
            orElse: () => Effect.fail(transportError(call, `no answer in ${REQUEST_TIMEOUT}`))
          })
        )
        if (response.status !== 200) {
          const text = yield* Effect.tryPromise(() => response.text()).pipe(Effect.orElseSucceed(() => ""))
          return yield* apiError(call, parseStatus(response.status, text))
        }
        const body = response.stream()
        if (body === null) return Stream.empty
        return Stream.fromReadableStream({
          evaluate: () => body,
          onError: (cause) => transportError(call, describeCause(cause))
        }).pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.filter((line) => line.trim() !== ""),
          Stream.mapEffect((line) => parseEvent(call, type, line))
        )
      })
    )

  const get = Effect.fn("KubeClient.get")(function* (typeRef: TypeRef, ref: ObjectRef) {
    const type = yield* resolve(typeRef)
    const path = resourcePath(type, ref)
    return yield* request({ verb: "get", method: "GET", path, target: targetOf(type, ref) }, KubeObject)
  })

  const serverSideApply = Effect.fn("KubeClient.serverSideApply")(function* (
    object: KubeObject,
    options: ApplyOptions = {}
  ) {
    const type = yield* resolve(object)
    const ref = object.metadata
    const path = resourcePath(type, { ...ref, ...(options.subresource ? { subresource: options.subresource } : {}) })
    const query = {
      fieldManager: options.fieldManager ?? FIELD_MANAGER,
      force: String(options.force ?? true),
      dryRun: options.dryRun === true ? "All" : undefined
    }
    const contentType = "application/apply-patch+yaml"
    const call: Call = {
      verb: "apply",
      method: "PATCH",
      path,
      query,
      body: object,
      contentType,
      target: targetOf(type, ref)
    }
    return yield* request(call, KubeObject)
  })

  const del = Effect.fn("KubeClient.delete")(function* (typeRef: TypeRef, ref: ObjectRef, options: DeleteOptions = {}) {
    const type = yield* resolve(typeRef)
    const body = { apiVersion: "v1", kind: "DeleteOptions", ...options }
    const call: Call = {
      verb: "delete",
      method: "DELETE",
      path: resourcePath(type, ref),
      body,
      target: targetOf(type, ref)
    }
    yield* request(call, Schema.Unknown)
  })

  const replaceStatus = Effect.fn("KubeClient.replaceStatus")(function* (object: KubeObject) {
    const type = yield* resolve(object)
    const ref = object.metadata
    const path = resourcePath(type, { ...ref, subresource: "status" })
    const call: Call = { verb: "replaceStatus", method: "PUT", path, body: object, target: targetOf(type, ref) }
    return yield* request(call, KubeObject)
  })

  const patchStatus = Effect.fn("KubeClient.patchStatus")(function* (
    typeRef: TypeRef,
    ref: ObjectRef,
    patch: { readonly [key: string]: unknown },
    options: { readonly resourceVersion?: string } = {}
  ) {
    const type = yield* resolve(typeRef)
    const metadata = typeof patch.metadata === "object" && patch.metadata !== null ? patch.metadata : {}
    const body =
      options.resourceVersion === undefined
        ? patch
        : { ...patch, metadata: { ...metadata, resourceVersion: options.resourceVersion } }
    const path = resourcePath(type, { ...ref, subresource: "status" })
    const contentType = "application/merge-patch+json"
    const call: Call = { verb: "patchStatus", method: "PATCH", path, body, contentType, target: targetOf(type, ref) }
    return yield* request(call, KubeObject)
  })

  const createTokenReview = Effect.fn("KubeClient.createTokenReview")(function* (
    token: string,
    audiences?: ReadonlyArray<string>
  ) {
    const apiVersion = "authentication.k8s.io/v1"
    const body = { apiVersion, kind: "TokenReview", spec: { token, ...(audiences ? { audiences } : {}) } }
    const path = `/apis/${apiVersion}/tokenreviews`
    const call: Call = { verb: "create", method: "POST", path, body, target: { apiVersion, kind: "TokenReview" } }
    const { status } = yield* request(call, TokenReviewResponse)
    return {
      authenticated: status?.authenticated ?? false,
      ...(status?.user === undefined ? {} : { user: status.user }),
      ...(status?.audiences === undefined ? {} : { audiences: status.audiences }),
      ...(status?.error === undefined ? {} : { error: status.error })
    } satisfies TokenReviewResult
  })

  const leaseCall = (verb: string, method: "GET" | "POST" | "PUT", lease: ObjectRef, body?: Lease): Call => {
    const named = method === "POST" ? { namespace: lease.namespace } : lease
    const path = resourcePath(LEASE_TYPE, named)
    const payload = body === undefined ? {} : { body: { apiVersion: LEASE_TYPE.apiVersion, kind: "Lease", ...body } }
    return { verb, method, path, ...payload, target: targetOf(LEASE_TYPE, lease) }
  }
  const getLease = Effect.fn("KubeClient.getLease")(function* (namespace: string, name: string) {
    return yield* request(leaseCall("get", "GET", { namespace, name }), Lease).pipe(
      Effect.map(Option.some),
      Effect.catchIf(isNotFound, () => Effect.succeedNone)
    )
  })
  const createLease = (lease: Lease) => request(leaseCall("create", "POST", lease.metadata, lease), Lease)
  const replaceLease = (lease: Lease) => request(leaseCall("replace", "PUT", lease.metadata, lease), Lease)

  return KubeClient.of({
    discover,
    list,
    watch,
    get,
    serverSideApply,
    delete: del,
    replaceStatus,
    patchStatus,
    createTokenReview,
    getLease,
    createLease,
    replaceLease
  })
})
