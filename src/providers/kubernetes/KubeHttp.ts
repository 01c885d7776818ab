/**
 * The transport under KubeClient: API paths, authenticated HTTP requests through
 * @kubernetes/client-node's KubeConfig (credentials, TLS) and its undici-backed HTTP library, and
 * the mapping of failures and response bodies to the typed errors of KubeApi.
 */
import { IsomorphicFetchHttpLibrary, type KubeConfig, RequestContext } from "@kubernetes/client-node"
import { Effect, Option, Result, Schema } from "effect"
import { type ApiStatus, KubeApiError, type KubeError, KubeTransportError, type ObjectRef } from "./KubeApi.ts"

export interface ApiPath {
  readonly apiVersion: string
  readonly plural: string
  readonly namespaced: boolean
}

/** `/api/v1[/namespaces/NS]/PLURAL[/NAME[/SUB]]` or the same under `/apis/GROUP/VERSION`. */
export const resourcePath = (
  type: ApiPath,
  options: { readonly namespace?: string | undefined; readonly name?: string; readonly subresource?: string }
): string => {
  const root = type.apiVersion.includes("/") ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`
  const ns =
    type.namespaced && options.namespace !== undefined ? `/namespaces/${encodeURIComponent(options.namespace)}` : ""
  const name = options.name === undefined ? "" : `/${encodeURIComponent(options.name)}`
  const sub = options.subresource === undefined ? "" : `/${options.subresource}`
  return `${root}${ns}/${type.plural}${name}${sub}`
}

/** The discovery document of one apiVersion. */
export const discoveryPath = (apiVersion: string): string =>
  apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`

export interface HttpRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  readonly path: string
  readonly query?: { readonly [key: string]: string | undefined }
  /** Sent as JSON (JSON is YAML, so this serves apply patches too). */
  readonly body?: unknown
  readonly contentType?: string
}

export interface HttpResponse {
  readonly status: number
  /** The body as a stream (for watches); null when there is none. */
  readonly stream: () => ReadableStream<Uint8Array> | null
  readonly text: () => Promise<string>
}

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>

export interface Http {
  /** The API server URL, e.g. `https://10.0.0.1:443`. */
  readonly server: string
  readonly send: (request: HttpRequest, signal: AbortSignal) => Promise<HttpResponse>
  /** Closes pooled connections. */
  readonly close: () => Promise<void>
}

/**
 * Requests against the current context of `kc`. KubeConfig authenticates every request (tokens
 * are re-read, exec plugins re-run as they expire) but builds a new connection pool each time;
 * the first pool is kept and shared so requests reuse TLS connections.
 */
export const makeHttp = (kc: KubeConfig): Http => {
  const cluster = kc.getCurrentCluster()
  if (cluster === null) throw new Error(`no cluster for the current context "${kc.getCurrentContext()}"`)
  if (cluster.server === "" || /undefined/.test(cluster.server))
    throw new Error(`no API server address (server: "${cluster.server}")`)
  const server = cluster.server.replace(/\/+$/, "")
  const library = new IsomorphicFetchHttpLibrary()
  let shared: Dispatcher | undefined

  const send = async (request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> => {
    const url = new URL(server + request.path)
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value)
    }
    const context = new RequestContext(url.toString(), request.method)
    context.setHeaderParam("Accept", "application/json")
    context.setHeaderParam("User-Agent", "portico")
    if (request.body !== undefined) {
      context.setHeaderParam("Content-Type", request.contentType ?? "application/json")
      context.setBody(JSON.stringify(request.body))
    }
    context.setSignal(signal)
    await kc.applySecurityAuthentication(context)
    const fresh = context.getDispatcher()
    if (fresh !== undefined) {
      if (shared === undefined) shared = fresh
      else if (fresh !== shared) {
        context.setDispatcher(shared)
        fresh.close().catch(() => undefined)
      }
    }
    const response = await library.send(context).toPromise()
    return { status: response.httpStatusCode, stream: () => response.body.stream(), text: () => response.body.text() }
  }

  const close = async () => {
    const dispatcher = shared
    shared = undefined
    if (dispatcher !== undefined) await dispatcher.destroy()
  }

  return { server, send, close }
}

const StatusBody = Schema.Struct({
  code: Schema.optionalKey(Schema.Number),
  reason: Schema.optionalKey(Schema.String),
  message: Schema.optionalKey(Schema.String)
})
const decodeStatusBody = Schema.decodeUnknownOption(StatusBody)

const HTTP_REASONS: { readonly [status: number]: string } = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Gone",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout"
}

/** A metav1.Status from an error response (or a watch ERROR event's object), with HTTP fallbacks. */
export const parseStatus = (httpStatus: number, body: unknown): { code: number; reason: string; message: string } => {
  let json = body
  if (typeof body === "string") {
    try {
      json = JSON.parse(body)
    } catch {
      json = undefined
    }
  }
  const status = Option.getOrElse(decodeStatusBody(json), (): typeof StatusBody.Type => ({}))
  const code = status.code ?? httpStatus
  const reason =
    status.reason === undefined || status.reason === "" ? (HTTP_REASONS[code] ?? `HTTP${code}`) : status.reason
  const message = status.message ?? (typeof body === "string" ? body.slice(0, 200) : "")
  return { code, reason, message }
}

// ---------------------------------------------------------------------------------------------
// Calls and their errors
// ---------------------------------------------------------------------------------------------

export interface Target {
  readonly apiVersion: string
  readonly kind: string
  readonly namespace?: string
  readonly name?: string
}

/** One request, with what errors name: the verb and the object. */
export interface Call extends HttpRequest {
  readonly verb: string
  readonly target: Target
}

export const REQUEST_TIMEOUT = "60 seconds"

export const targetOf = (type: { readonly apiVersion: string; readonly kind: string }, ref?: ObjectRef): Target => ({
  apiVersion: type.apiVersion,
  kind: type.kind,
  ...(ref?.namespace === undefined ? {} : { namespace: ref.namespace }),
  ...(ref === undefined ? {} : { name: ref.name })
})

export const describeCause = (cause: unknown): string => {
  if (!(cause instanceof Error)) return String(cause)
  return cause.cause instanceof Error ? `${cause.message}: ${cause.cause.message}` : cause.message
}

export const transportError = (call: Call, detail: string) =>
  new KubeTransportError({ verb: call.verb, detail, ...call.target })

export const apiError = (call: Call, status: ApiStatus) =>
  new KubeApiError({
    verb: call.verb,
    status: status.code,
    reason: status.reason,
    detail: status.message,
    ...call.target
  })

export const decodeWith = <A>(
  call: Call,
  schema: Schema.ConstraintDecoder<A>,
  json: unknown
): Effect.Effect<A, KubeError> => {
  const result = Schema.decodeUnknownResult(schema)(json)
  return Result.isSuccess(result)
    ? Effect.succeed(result.success)
    : Effect.fail(transportError(call, `unexpected response: ${result.failure.message}`))
}

export const parseJson = (call: Call, text: string) =>
  Effect.try({ try: (): unknown => JSON.parse(text), catch: () => transportError(call, "the response is not JSON") })
