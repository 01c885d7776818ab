/**
 * A small fake of the Kubernetes API server (plain node:http on 127.0.0.1) for fault injection
 * that a real server cannot do on demand: compaction (410 Gone, as an HTTP status or a watch
 * ERROR event), watches closed mid-stream, bookmarks, scripted failures, kinds that are not
 * served yet (CRD missing).
 *
 * It keeps objects per resource with one global resourceVersion counter (as etcd does) and a
 * history of events, so a watch from resourceVersion N replays everything after N and then
 * follows live changes. Lists page with `limit`/`continue`. List items of core kinds carry no
 * apiVersion/kind, as the real server's do. Also: get, create, replace (409 on a stale
 * resourceVersion), status replace and merge patch, server-side apply (recorded), delete,
 * discovery and TokenReview. Every request is recorded for assertions.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { KubeConfig } from "@kubernetes/client-node"

export interface FakeResource {
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly plural: string
  readonly namespaced: boolean
}

export type Json = { [key: string]: unknown }

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly contentType: string | undefined
  readonly body: string
  /** Date.now() when it arrived. */
  readonly at: number
}

interface Watch {
  readonly plural: string
  readonly namespace: string | undefined
  readonly response: ServerResponse
}

interface HistoryEvent {
  readonly rv: number
  readonly plural: string
  readonly type: "ADDED" | "MODIFIED" | "DELETED"
  readonly object: Json
}

const apiVersionOf = (r: FakeResource) => (r.group === "" ? r.version : `${r.group}/${r.version}`)
const keyOf = (namespace: string | undefined, name: string) => (namespace === undefined ? name : `${namespace}/${name}`)
const metaOf = (object: Json): Json => (object.metadata ?? {}) as Json
const clone = (object: Json): Json => structuredClone(object)

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  code,
  reason,
  message
})

const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch
  const out: Json = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = mergePatch(out[key], value)
  }
  return out
}

export class FakeApiServer {
  readonly requests: Array<RecordedRequest> = []
  /** How a watch from a compacted resourceVersion is refused. */
  goneAs: "status" | "event" = "status"
  /** Answers TokenReviews: the TokenReview's status for a token. */
  tokenReview: (token: string, audiences: ReadonlyArray<string>) => Json = () => ({ authenticated: false })
  private readonly resources = new Map<string, FakeResource>()
  private readonly objects = new Map<string, Map<string, Json>>()
  private readonly history: Array<HistoryEvent> = []
  private readonly watches = new Set<Watch>()
  private readonly failures: Array<{ plural: string | undefined; verb: string; code: number; left: number }> = []
  private rv = 100
  private compacted = 0
  private uid = 0
  private server = createServer((req, res) => this.handle(req, res))
  url = ""

  static async start(resources: ReadonlyArray<FakeResource> = []): Promise<FakeApiServer> {
    const fake = new FakeApiServer()
    for (const r of resources) fake.serve(r)
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve))
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`
    return fake
  }

  /** A KubeConfig for this server (plain HTTP needs skipTLSVerify in client-node). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "fake", token: "fake-token" }],
      contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
      currentContext: "fake"
    })
    return kc
  }

  async close(): Promise<void> {
    this.closeWatches()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  /** Starts serving a resource (installs its CRD). */
  serve(resource: FakeResource): void {
    this.resources.set(resource.plural, resource)
    if (!this.objects.has(resource.plural)) this.objects.set(resource.plural, new Map())
  }

  get resourceVersion(): string {
    return String(this.rv)
  }

  /** Stores an object (ADDED or MODIFIED) with a new resourceVersion; returns the stored copy. */
  put(plural: string, object: Json): Json {
    const store = this.objects.get(plural)
    if (store === undefined) throw new Error(`not served: ${plural}`)
    const r = this.resources.get(plural)!
    const meta = metaOf(object)
    const key = keyOf(r.namespaced ? String(meta.namespace ?? "default") : undefined, String(meta.name))
    const before = store.get(key)
    const stored = clone({ apiVersion: apiVersionOf(r), kind: r.kind, ...object })
    const m = metaOf(stored)
    m.resourceVersion = String(++this.rv)
    m.uid = before === undefined ? `uid-${++this.uid}` : metaOf(before).uid
    if (r.namespaced) m.namespace = m.namespace ?? "default"
    stored.metadata = m
    store.set(key, stored)
    this.publish({ rv: this.rv, plural, type: before === undefined ? "ADDED" : "MODIFIED", object: stored })
    return stored
  }

  /** Deletes an object (DELETED); false when there was none. */
  remove(plural: string, namespace: string | undefined, name: string): boolean {
    const store = this.objects.get(plural)
    const before = store?.get(keyOf(namespace, name))
    if (store === undefined || before === undefined) return false
    store.delete(keyOf(namespace, name))
    const object = clone(before)
    metaOf(object).resourceVersion = String(++this.rv)
    this.publish({ rv: this.rv, plural, type: "DELETED", object })
    return true
  }

  get(plural: string, namespace: string | undefined, name: string): Json | undefined {
    return this.objects.get(plural)?.get(keyOf(namespace, name))
  }

  /** Sends a BOOKMARK at a new resourceVersion to the open watches of `plural`. */
  bookmark(plural: string): string {
    const r = this.resources.get(plural)!
    const rv = String(++this.rv)
    const line = {
      type: "BOOKMARK",
      object: { apiVersion: apiVersionOf(r), kind: r.kind, metadata: { resourceVersion: rv } }
    }
    for (const w of this.watches) if (w.plural === plural) w.response.write(`${JSON.stringify(line)}\n`)
    return rv
  }

  /** Forgets history: watches from a resourceVersion before now are refused with 410 Gone. */
  compact(): void {
    this.compacted = this.rv
    this.history.length = 0
  }

  /** Ends open watches (of `plural`, or all). */
  closeWatches(plural?: string): void {
    for (const w of [...this.watches]) {
      if (plural !== undefined && w.plural !== plural) continue
      this.watches.delete(w)
      w.response.end()
    }
  }

  openWatches(plural: string): number {
    return [...this.watches].filter((w) => w.plural === plural).length
  }

  /** The next `times` requests of `verb` (list, watch, get, ...) on `plural` (any when undefined) fail with `code`. */
  failNext(plural: string | undefined, verb: string, code: number, times = 1): void {
    this.failures.push({ plural, verb, code, left: times })
  }

  /** Requests matching a verb on a plural (verb as {@link verbOf} names it). */
  requestsOf(plural: string, verb: string): Array<RecordedRequest> {
    return this.requests.filter((r) => r.path.split("/").includes(plural) && verbOf(r) === verb)
  }

  private publish(event: HistoryEvent): void {
    this.history.push(event)
    const line = `${JSON.stringify({ type: event.type, object: event.object })}\n`
    for (const w of this.watches) {
      if (w.plural !== event.plural) continue
      if (w.namespace !== undefined && metaOf(event.object).namespace !== w.namespace) continue
      w.response.write(line)
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake")
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        contentType: req.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now()
      }
      this.requests.push(recorded)
      try {
        this.route(recorded, res)
      } catch (error) {
        this.send(res, 500, status(500, "InternalError", String(error)))
      }
    })
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { "content-type": "application/json" })
    res.end(JSON.stringify(body))
  }

  private route(req: RecordedRequest, res: ServerResponse) {
    const segments = req.path.split("/").filter((s) => s !== "")
    const prefix = segments[0] === "api" ? 2 : segments[0] === "apis" ? 3 : -1
    if (prefix < 0 || segments.length < prefix) return this.send(res, 404, status(404, "NotFound", "no such path"))
    const apiVersion = segments.slice(1, prefix).join("/")
    if (segments.length === prefix) return this.discovery(apiVersion, res)
    let rest = segments.slice(prefix)
    let namespace: string | undefined
    if (rest[0] === "namespaces" && rest.length >= 3) {
      namespace = rest[1]
      rest = rest.slice(2)
    }
    const [plural = "", name, sub] = rest
    const verb = verbOf(req)
    const failure = this.failures.find((f) => f.verb === verb && (f.plural === undefined || f.plural === plural))
    if (failure !== undefined) {
      if (--failure.left === 0) this.failures.splice(this.failures.indexOf(failure), 1)
      return this.send(res, failure.code, status(failure.code, failure.code === 404 ? "NotFound" : "", "injected"))
    }
    if (plural === "tokenreviews") return this.review(req, res)
    const r = this.resources.get(plural)
    if (r === undefined || apiVersionOf(r) !== apiVersion)
      return this.send(res, 404, status(404, "NotFound", "the server could not find the requested resource"))
    const ns = r.namespaced ? namespace : undefined
    if (name === undefined) {
      if (req.method === "POST") return this.create(r, ns, JSON.parse(req.body) as Json, res)
      return req.query.get("watch") === "true" ? this.watch(r, ns, req.query, res) : this.list(r, ns, req.query, res)
    }
    const current = this.objects.get(plural)!.get(keyOf(ns, name))
    const notFound = () => this.send(res, 404, status(404, "NotFound", `${plural} "${name}" not found`))
    switch (req.method) {
      case "GET":
        return current === undefined ? notFound() : this.send(res, 200, current)
      case "DELETE":
        return this.remove(plural, ns, name) ? this.send(res, 200, { kind: "Status", status: "Success" }) : notFound()
      case "PUT":
      case "PATCH": {
        const body = JSON.parse(req.body) as Json
        const apply = req.contentType === "application/apply-patch+yaml"
        if (current === undefined && !apply) return notFound()
        const wanted = metaOf(body).resourceVersion
        if (wanted !== undefined && current !== undefined && wanted !== metaOf(current).resourceVersion)
          return this.send(res, 409, status(409, "Conflict", "the object has been modified"))
        let next: Json
        if (req.method === "PUT") next = sub === "status" ? { ...current, status: body.status } : body
        else if (apply) next = { ...current, ...body, metadata: { ...metaOf(current ?? {}), ...metaOf(body) } }
        else next = mergePatch(current, sub === "status" ? { status: body.status } : body) as Json
        return this.send(res, 200, this.put(plural, next))
      }
      default:
        return this.send(res, 405, status(405, "MethodNotAllowed", req.method))
    }
  }

  private discovery(apiVersion: string, res: ServerResponse) {
    const resources = [...this.resources.values()]
      .filter((r) => apiVersionOf(r) === apiVersion)
      .map((r) => ({ name: r.plural, kind: r.kind, namespaced: r.namespaced, verbs: ["get", "list", "watch"] }))
    if (resources.length === 0) return this.send(res, 404, status(404, "NotFound", "no such group/version"))
    this.send(res, 200, { kind: "APIResourceList", groupVersion: apiVersion, resources })
  }

  private create(r: FakeResource, ns: string | undefined, body: Json, res: ServerResponse) {
    const meta = metaOf(body)
    const namespace = r.namespaced ? (ns ?? String(meta.namespace ?? "default")) : undefined
    if (this.get(r.plural, namespace, String(meta.name)) !== undefined)
      return this.send(res, 409, status(409, "AlreadyExists", `${r.plural} "${String(meta.name)}" already exists`))
    const object = namespace === undefined ? body : { ...body, metadata: { ...meta, namespace } }
    this.send(res, 201, this.put(r.plural, object))
  }

  private list(r: FakeResource, ns: string | undefined, query: URLSearchParams, res: ServerResponse) {
    const all = [...this.objects.get(r.plural)!.values()].filter((o) => ns === undefined || metaOf(o).namespace === ns)
    const limit = Number(query.get("limit") ?? "0")
    const token = query.get("continue")
    const [offsetText, rvText] = token === null ? ["0", String(this.rv)] : token.split(":")
    const offset = Number(offsetText)
    const end = limit > 0 ? offset + limit : all.length
    const items = all.slice(offset, end).map((o) => {
      if (r.group !== "") return o
      const { apiVersion: _a, kind: _k, ...item } = o
      return item
    })
    const metadata: Json = { resourceVersion: rvText }
    if (end < all.length) metadata.continue = `${end}:${rvText}`
    this.send(res, 200, { apiVersion: apiVersionOf(r), kind: `${r.kind}List`, metadata, items })
  }

  private watch(r: FakeResource, ns: string | undefined, query: URLSearchParams, res: ServerResponse) {
    const from = Number(query.get("resourceVersion") ?? "0")
    const gone = status(410, "Expired", `too old resource version: ${from} (${this.compacted})`)
    if (from < this.compacted && this.goneAs === "status") return this.send(res, 410, gone)
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" })
    res.flushHeaders()
    if (from < this.compacted) {
      res.end(`${JSON.stringify({ type: "ERROR", object: gone })}\n`)
      return
    }
    const w: Watch = { plural: r.plural, namespace: ns, response: res }
    for (const e of this.history) {
      if (e.plural !== r.plural || e.rv <= from) continue
      if (ns !== undefined && metaOf(e.object).namespace !== ns) continue
      res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`)
    }
    this.watches.add(w)
    res.on("close", () => this.watches.delete(w))
  }

  private review(req: RecordedRequest, res: ServerResponse) {
    const body = JSON.parse(req.body) as { spec?: { token?: string; audiences?: Array<string> } }
    const reviewed = this.tokenReview(body.spec?.token ?? "", body.spec?.audiences ?? [])
    this.send(res, 201, { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", status: reviewed })
  }
}

/** The verb of a recorded request: list, watch, get, create, replace, patch, apply, delete. */
export const verbOf = (r: RecordedRequest): string => {
  const named = r.path.split("/").filter((s) => s !== "").length
  switch (r.method) {
    case "GET":
      if (r.query.get("watch") === "true") return "watch"
      return /\/(api\/v1|apis\/[^/]+\/[^/]+)(\/namespaces\/[^/]+)?\/[^/]+$/.test(r.path) && named > 0 ? "list" : "get"
    case "POST":
      return "create"
    case "PUT":
      return "replace"
    case "PATCH":
      return r.contentType === "application/apply-patch+yaml" ? "apply" : "patch"
    default:
      return r.method.toLowerCase()
  }
}

/** Polls until `check` holds (or throws after `timeoutMs`). */
export const eventually = async (check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export const GATEWAYS: FakeResource = {
  group: "gateway.networking.k8s.io",
  version: "v1",
  kind: "Gateway",
  plural: "gateways",
  namespaced: true
}
export const HTTPROUTES: FakeResource = { ...GATEWAYS, kind: "HTTPRoute", plural: "httproutes" }
export const SERVICES: FakeResource = {
  group: "",
  version: "v1",
  kind: "Service",
  plural: "services",
  namespaced: true
}
export const SECRETS: FakeResource = { ...SERVICES, kind: "Secret", plural: "secrets" }
export const ENDPOINTSLICES: FakeResource = {
  group: "discovery.k8s.io",
  version: "v1",
  kind: "EndpointSlice",
  plural: "endpointslices",
  namespaced: true
}
export const LEASES: FakeResource = {
  group: "coordination.k8s.io",
  version: "v1",
  kind: "Lease",
  plural: "leases",
  namespaced: true
}
