/**
 * The controller's admin HTTP server (node:http, read-only, GET only): liveness, readiness,
 * Prometheus metrics, the xDS configuration each fleet is served, the status of the objects Portico
 * translated, and what every proxy did with its configuration.
 *
 * | path | answer |
 * |---|---|
 * | `/healthz` | 200 `ok` while the process runs |
 * | `/readyz` | 200 once the {@link StatusSource} is ready, else 503 with its reason |
 * | `/metrics` | Prometheus text (see Metrics.ts) |
 * | `/config_dump` | the fleets with their snapshot versions; `?fleet=NAME` one fleet's resources, nodes and last rejection |
 * | `/status` | the StatusSource view; `?kind=&namespace=&name=` filter its objects |
 * | `/xds/nodes` | every node's ACK/NACK status |
 *
 * JSON answers are pretty-printed with 2 spaces; `?format=yaml` renders the same document as YAML.
 * Private keys never leave: fleet resources go through `xdsConfigDocument` (which redacts Secrets) and
 * Secrets among the status objects are redacted too.
 *
 * It binds 127.0.0.1:19000 by default: the admin surface is for the operator and the kubelet, not
 * the network. Every request runs as a fiber of the server's scope; closing the scope stops
 * listening, drops keep-alive connections and interrupts requests in flight, so the port is free the
 * moment the layer is released.
 */
import * as http from "node:http"
import type { DescMessage, MessageShape } from "@bufbuild/protobuf"
import { Cause, Context, Effect, FiberSet, Layer, Metric, Option, Schema } from "effect"
import { stringify as toYaml } from "yaml"
import { AdsServer } from "../xds/AdsServer.ts"
import { parseHostPort } from "../xds/Bootstrap.ts"
import { ClusterSchema } from "../xds/proto/envoy/config/cluster/v3/cluster_pb.ts"
import { ClusterLoadAssignmentSchema } from "../xds/proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import { ListenerSchema } from "../xds/proto/envoy/config/listener/v3/listener_pb.ts"
import { RouteConfigurationSchema } from "../xds/proto/envoy/config/route/v3/route_pb.ts"
import { SecretSchema } from "../xds/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"
import { TypeUrl, unpack } from "../xds/Registry.ts"
import type { FleetResources } from "../xds/Resources.ts"
import { kindOfTypeUrl, type Snapshot, TYPE_URLS, versionOfEntries } from "../xds/Snapshot.ts"
import { type NodeStatus, SnapshotCache } from "../xds/SnapshotCache.ts"
import { xdsConfigDocument } from "../xds/translate/ConfigDump.ts"
import { exposition, processRegistry, scrapeFamilies } from "./Metrics.ts"
import { type ObjectFilter, StatusSource, statusDocument } from "./StatusSource.ts"

/** Loopback, Envoy's admin port convention (the controller is not an Envoy, so no clash in its pod). */
export const DEFAULT_ADMIN_ADDRESS = "127.0.0.1:19000"

export interface AdminServerOptions {
  /** `host:port` to listen on; port 0 picks a free one. Default {@link DEFAULT_ADMIN_ADDRESS}. */
  readonly address?: string
}

/** The admin server could not listen: the message says on which address, why, and what to do. */
export class AdminServerError extends Schema.TaggedError<AdminServerError>()("AdminServerError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `admin server on ${this.address}: ${this.reason}`
  }
}

export class AdminServer extends Context.Service<
  AdminServer,
  {
    /** The address it listens on, with the actual port. */
    readonly address: string
    readonly port: number
  }
>()("portico/admin/AdminServer") {
  /** Serves the admin endpoints until the layer's scope closes. */
  static readonly layer = (
    options: AdminServerOptions = {}
  ): Layer.Layer<AdminServer, AdminServerError, SnapshotCache | StatusSource> =>
    Layer.effect(AdminServer, make(options))
}

/** The endpoints, as the 404 answer lists them. */
export const ENDPOINTS: ReadonlyArray<{ readonly path: string; readonly description: string }> = [
  { path: "/healthz", description: "200 while the process runs" },
  { path: "/readyz", description: "200 once the initial sync is done and a first translation applied, else 503" },
  { path: "/metrics", description: "Prometheus metrics" },
  { path: "/config_dump", description: "fleets and their snapshot versions; ?fleet=NAME for one fleet's xDS config" },
  { path: "/status", description: "translation status; ?kind=&namespace=&name= filter the objects" },
  { path: "/xds/nodes", description: "ACK/NACK status of every proxy" }
]

interface Reply {
  readonly status: number
  readonly contentType: string
  readonly body: string
  readonly headers?: Readonly<Record<string, string>>
}

const TEXT = "text/plain; charset=utf-8"

const text = (status: number, body: string): Reply => ({ status, contentType: TEXT, body: `${body}\n` })

/** bigints as strings, bytes as their size: what JSON cannot hold. */
const jsonSafe = (_key: string, value: unknown): unknown =>
  typeof value === "bigint" ? value.toString() : value instanceof Uint8Array ? `<${value.length} bytes>` : value

/** A document as pretty JSON, or YAML when asked for. */
const document = (status: number, value: unknown, format: "json" | "yaml"): Reply => {
  const json = JSON.stringify(value, jsonSafe, 2)
  return format === "yaml"
    ? {
        status,
        contentType: "application/yaml; charset=utf-8",
        body: toYaml(JSON.parse(json), { lineWidth: 0, aliasDuplicateObjects: false })
      }
    : { status, contentType: "application/json; charset=utf-8", body: `${json}\n` }
}

const iso = (millis: number | undefined): string | undefined =>
  millis === undefined ? undefined : new Date(millis).toISOString()

/** A node's status for humans: kinds next to type URLs, times as ISO 8601. */
const nodeJson = (node: NodeStatus) => ({
  fleet: node.fleet,
  id: node.id,
  types: node.types.map((t) => ({
    type: kindOfTypeUrl[t.typeUrl],
    typeUrl: t.typeUrl,
    ackedVersion: t.ackedVersion,
    ackedAt: iso(t.ackedAt),
    rejecting: t.rejecting,
    nacks: t.nacks,
    lastNack:
      t.lastNack === undefined
        ? undefined
        : { nonce: t.lastNack.nonce, errorDetail: t.lastNack.errorDetail, at: iso(t.lastNack.at) }
  }))
})

/** One version for the whole snapshot: the hash of its per-type versions. */
const snapshotVersion = (snapshot: Snapshot): string =>
  versionOfEntries(TYPE_URLS.map((typeUrl) => [kindOfTypeUrl[typeUrl], snapshot.resources[typeUrl].version] as const))

/** The snapshot keeps resources packed (`Any`); unpack them back into typed messages, sorted by name. */
const messagesOf = <Desc extends DescMessage>(
  snapshot: Snapshot,
  typeUrl: TypeUrl,
  schema: Desc
): Array<MessageShape<Desc>> =>
  [...snapshot.resources[typeUrl].items.values()].flatMap((item) => {
    const message = unpack(item.resource, schema)
    return message === undefined ? [] : [message]
  })

const fleetResourcesOf = (snapshot: Snapshot): FleetResources => ({
  fleet: snapshot.fleet,
  listeners: messagesOf(snapshot, TypeUrl.Listener, ListenerSchema),
  routes: messagesOf(snapshot, TypeUrl.RouteConfiguration, RouteConfigurationSchema),
  clusters: messagesOf(snapshot, TypeUrl.Cluster, ClusterSchema),
  endpoints: messagesOf(snapshot, TypeUrl.ClusterLoadAssignment, ClusterLoadAssignmentSchema),
  secrets: messagesOf(snapshot, TypeUrl.Secret, SecretSchema)
})

/** The `/status` object filter from `?kind=&namespace=&name=`. */
const filterOf = (query: URLSearchParams): ObjectFilter => {
  const filter: { kind?: string; namespace?: string; name?: string } = {}
  for (const key of ["kind", "namespace", "name"] as const) {
    const value = query.get(key)
    if (value !== null) filter[key] = value
  }
  return filter
}

const make = Effect.fnUntraced(function* (options: AdminServerOptions) {
  const cache = yield* SnapshotCache
  const status = yield* StatusSource
  const ads = yield* Effect.serviceOption(AdsServer)
  const address = options.address ?? DEFAULT_ADMIN_ADDRESS
  // Port 0 (any free port) is fine for a server, which parseHostPort (made for clients) rejects.
  const hostPort = parseHostPort(address.replace(/:0$/, ":1"))
  if (hostPort === undefined)
    return yield* new AdminServerError({
      address,
      reason: "expected host:port, e.g. 127.0.0.1:19000 (port 0 picks a free port)"
    })
  const port = address.endsWith(":0") ? 0 : hostPort.port

  // Request fibers run in the context this layer is built in, so `Metric.snapshot` reads the Effect
  // metric registry of the app (the default one, or the `Metric.MetricRegistry` provided around it).
  const metrics = Effect.gen(function* () {
    const registry = processRegistry()
    const processText = yield* Effect.promise(() => registry.metrics())
    const processNames = new Set(registry.getMetricsAsArray().map((metric) => metric.name))
    const input = {
      fleets: yield* cache.fleets,
      nodes: yield* cache.nodeStatuses,
      view: yield* status.current,
      ...(Option.isSome(ads) ? { streams: yield* ads.value.streams } : {})
    }
    const body = exposition(processText, processNames, scrapeFamilies(input), yield* Metric.snapshot)
    return { status: 200, contentType: registry.contentType, body } satisfies Reply
  })

  const fleetList = Effect.gen(function* () {
    const nodes = yield* cache.nodeStatuses
    const rejections = yield* cache.rejections
    const fleets = []
    for (const name of yield* cache.fleets) {
      const snapshot = yield* cache.getSnapshot(name)
      if (Option.isNone(snapshot)) continue
      fleets.push({
        name,
        version: snapshotVersion(snapshot.value),
        resources: Object.fromEntries(
          TYPE_URLS.map((typeUrl) => [kindOfTypeUrl[typeUrl], snapshot.value.resources[typeUrl].items.size])
        ),
        nodes: nodes.filter((node) => node.fleet === name).length,
        lastRejection: rejections.get(name)?.message
      })
    }
    return { fleets }
  })

  const fleetDump = Effect.fnUntraced(function* (fleet: string, format: "json" | "yaml") {
    const snapshot = yield* cache.getSnapshot(fleet)
    const rejection = (yield* cache.rejections).get(fleet)
    const lastRejection =
      rejection === undefined ? undefined : { message: rejection.message, problems: rejection.problems }
    if (Option.isNone(snapshot)) {
      const known = yield* cache.fleets
      return document(404, { error: `no fleet ${JSON.stringify(fleet)}`, fleets: known, lastRejection }, format)
    }
    const nodes = (yield* cache.nodeStatuses).filter((node) => node.fleet === fleet).map(nodeJson)
    const versions = Object.fromEntries(
      TYPE_URLS.map((typeUrl) => [kindOfTypeUrl[typeUrl], snapshot.value.resources[typeUrl].version])
    )
    return document(
      200,
      {
        ...xdsConfigDocument(fleetResourcesOf(snapshot.value)),
        version: snapshotVersion(snapshot.value),
        versions,
        nodes,
        lastRejection
      },
      format
    )
  })

  const handle = Effect.fn("AdminServer.handle")(function* (method: string, target: string) {
    const url = new URL(target, "http://admin.invalid")
    const endpoint = ENDPOINTS.find((e) => e.path === url.pathname)
    if (endpoint === undefined)
      return document(404, { error: `no endpoint ${url.pathname}`, endpoints: ENDPOINTS }, "json")
    if (method !== "GET")
      return {
        ...document(405, { error: `${method} is not allowed: the admin server is read-only`, allow: ["GET"] }, "json"),
        headers: { allow: "GET" }
      }
    const formatParam = url.searchParams.get("format") ?? "json"
    if (formatParam !== "json" && formatParam !== "yaml")
      return document(400, { error: `unknown format ${JSON.stringify(formatParam)}: use json or yaml` }, "json")
    const format: "json" | "yaml" = formatParam
    switch (endpoint.path) {
      case "/healthz":
        return text(200, "ok")
      case "/readyz": {
        const view = yield* status.current
        return view.ready ? text(200, "ok") : text(503, `not ready: ${view.reason ?? "starting"}`)
      }
      case "/metrics":
        return yield* metrics
      case "/config_dump": {
        const fleet = url.searchParams.get("fleet")
        return fleet === null ? document(200, yield* fleetList, format) : yield* fleetDump(fleet, format)
      }
      case "/status":
        return document(200, statusDocument(yield* status.current, filterOf(url.searchParams)), format)
      default:
        return document(200, { nodes: (yield* cache.nodeStatuses).map(nodeJson) }, format)
    }
  })

  const fibers = yield* FiberSet.make<void, never>()
  const run = yield* FiberSet.runtime(fibers)<never>()

  const respond = (request: http.IncomingMessage, response: http.ServerResponse) =>
    handle(request.method ?? "GET", request.url ?? "/").pipe(
      Effect.catchCause((cause) =>
        Effect.logError("admin request failed", Cause.pretty(cause)).pipe(
          Effect.as(document(500, { error: Cause.pretty(cause).split("\n")[0] ?? "internal error" }, "json"))
        )
      ),
      Effect.flatMap((reply: Reply) =>
        Effect.sync(() => {
          if (response.headersSent || response.destroyed) return
          response.writeHead(reply.status, {
            "content-type": reply.contentType,
            "cache-control": "no-store",
            ...reply.headers
          })
          response.end(reply.body)
        })
      )
    )

  const server = http.createServer((request, response) => {
    // Nothing here reads a body: discard any so that keep-alive connections stay usable.
    request.resume()
    run(respond(request, response))
  })

  const bound = yield* Effect.acquireRelease(
    Effect.callback<number, AdminServerError>((resume) => {
      const onError = (error: NodeJS.ErrnoException) => {
        server.off("listening", onListening)
        resume(Effect.fail(new AdminServerError({ address, reason: listenFailure(address, error) })))
      }
      const onListening = () => {
        server.off("error", onError)
        const info = server.address()
        resume(Effect.succeed(typeof info === "object" && info !== null ? info.port : port))
      }
      server.once("error", onError)
      server.once("listening", onListening)
      server.listen({ host: hostPort.host, port })
      return Effect.sync(() => server.close())
    }),
    () =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        // close() waits for open connections; keep-alive ones would hold the port for seconds.
        server.closeAllConnections()
      }).pipe(Effect.timeoutOption("1 second"))
  )
  // After binding, a server error (rare: e.g. EMFILE on accept) is logged, never thrown.
  server.on("error", (error) => run(Effect.logWarning("admin server error", error.message)))

  const listening = `${hostPort.host.includes(":") ? `[${hostPort.host}]` : hostPort.host}:${bound}`
  yield* Effect.logInfo("admin server listening").pipe(Effect.annotateLogs({ address: listening }))
  return AdminServer.of({ address: listening, port: bound })
})

/** Why listening failed, and what to do about it. */
const listenFailure = (address: string, error: NodeJS.ErrnoException): string => {
  switch (error.code) {
    case "EADDRINUSE":
      return `${address} is already in use (another Portico or another process listens there): stop it, or give the admin server another address (port 0 picks a free one)`
    case "EACCES":
      return `not permitted to listen on ${address} (ports below 1024 need privileges): choose a port above 1023`
    case "EADDRNOTAVAIL":
      return `${address} is not an address of this machine: use 127.0.0.1, 0.0.0.0 or a local interface's address`
    default:
      return error.message
  }
}
