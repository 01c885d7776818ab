/**
 * fast-check generators of raw Kubernetes objects for the translation pipeline: every kind Portico
 * reads, as valid objects, boundary objects (ports 1/65535, weight 0, wildcard hostnames, empty
 * lists) and invalid ones (junk values in random fields, non-objects, unknown kinds, invalid
 * regexes and PEM, unsupported protocols, conflicting listeners).
 *
 * Objects draw their names from small pools of valid RFC 1123 names, so references between them hit
 * existing and missing objects, names repeat across kinds and namespaces, and duplicates of one
 * kind/namespace/name occur. A small share of objects get a name or namespace at the RFC 1123
 * boundaries (valid) or one Kubernetes rejects (a schema error: the object is reported in `errors`).
 * Object names never come from the `base-*` names of {@link BASE}: property tests put a fixed valid
 * base next to generated objects, which may refer to the base but never replace it.
 */
import fc from "fast-check"

/** A JSON object as read from a manifest. */
export type Obj = { [key: string]: unknown }

export const CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
export const OTHER_CONTROLLER = "example.com/other-controller"
export const GATEWAY_GROUP = "gateway.networking.k8s.io"
const V1 = `${GATEWAY_GROUP}/v1`

// ---------------------------------------------------------------------------------------------
// TLS material (P-256, self-signed, valid until 2126; generated once with openssl for these tests)
// ---------------------------------------------------------------------------------------------

export const CERT_A = `-----BEGIN CERTIFICATE-----
MIIBsDCCAVagAwIBAgIUMsf0Zqa0FW5WmXG7t2hMpqsQcEowCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNYS5leGFtcGxlLmNvbTAgFw0yNjExMjMxMjI2MjRaGA8yMTI2
MTAzMDEyMjYyNFowGDEWMBQGA1UEAwwNYS5leGFtcGxlLmNvbTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABPf99DNCr4+5o6VuVkLDY4RHacXj6/mBSWKBzzakLgG+
Fc0BwewExBa7oF1KcbpBnXAj7VqCdUyoxtdLOvbpr7KjfDB6MB0GA1UdDgQWBBQD
M3A85mc7+1oTFXdWpmEV9koGKDAfBgNVHSMEGDAWgBQDM3A85mc7+1oTFXdWpmEV
9koGKDAPBgNVHRMBAf8EBTADAQH/MCcGA1UdEQQgMB6CDWEuZXhhbXBsZS5jb22C
DSouZXhhbXBsZS5jb20wCgYIKoZIzj0EAwIDSAAwRQIgElxqsC8c69V5VlBmWZfO
E60L0RHwlgCjB5i21jCxMmUCIQC5jakHu6vJPSNk1wcMa8oIyijlte/2nv+fJuV8
gSg+uA==
-----END CERTIFICATE-----
`

export const KEY_A = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgakigt8WKqUD3NO2l
Iej5bbB1B9rCXormNWwaBu9iOTGhRANCAAT3/fQzQq+PuaOlblZCw2OER2nF4+v5
gUligc82pC4BvhXNAcHsBMQWu6BdSnG6QZ1wI+1agnVMqMbXSzr26a+y
-----END PRIVATE KEY-----
`

/** The key of another certificate: paired with CERT_A it does not match. */
export const KEY_B = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgx4lA01rOUbdE+kHt
mT5PCoNVdAkQ7t3C7XUjDTNVMZWhRANCAAToKqCS2zFcUro9W/aGb34A8Z7pkq34
DmInPljbH+Y0qk7a0xbJ0RypwXJPYEbZrzFs1i6bijSZNbfwIBc71EqH
-----END PRIVATE KEY-----
`

const BAD_PEM = "-----BEGIN CERTIFICATE-----\nAAAAnotacertificate\n-----END CERTIFICATE-----\n"
const BAD_KEY = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64")

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** `arb` in `present` of `absent + present` draws, else undefined (dropped by {@link compact}). */
const maybe = <T>(arb: fc.Arbitrary<T>, absent = 1, present = 1): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: present, arbitrary: arb })

/** Mostly `usual`, sometimes `unusual` (boundary or invalid values). */
const mostly = <T, U>(usual: fc.Arbitrary<T>, unusual: fc.Arbitrary<U>, ratio = 8): fc.Arbitrary<T | U> =>
  fc.oneof({ weight: ratio, arbitrary: usual }, { weight: 1, arbitrary: unusual })

/** The object without its undefined-valued keys. */
const compact = (o: { readonly [key: string]: unknown }): Obj => {
  const out: Obj = {}
  for (const k in o) if (o[k] !== undefined) out[k] = o[k]
  return out
}

/** Objects as JSON and YAML parsers build them (fast-check may otherwise use null prototypes). */
const PLAIN = { noNullPrototype: true } as const

/** A record whose undefined fields are left out. */
const obj = <T extends { readonly [key: string]: unknown }>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
  fc.record(model, PLAIN).map(compact)

const withoutKey = (o: Obj, k: string): Obj => Object.fromEntries(Object.entries(o).filter(([key]) => key !== k))

const pick = <const T extends ReadonlyArray<string>>(values: T): fc.Arbitrary<T[number]> => fc.constantFrom(...values)

// ---------------------------------------------------------------------------------------------
// Name pools
// ---------------------------------------------------------------------------------------------

/** The fixed valid base of the neighbour property; generated objects never take these names. */
export const BASE = {
  namespace: "base",
  gatewayClass: "base-gc",
  gateway: "base-gw",
  route: "base-route",
  service: "base-svc"
} as const

const NAMESPACES = ["default", "ns1", "ns2", BASE.namespace] as const
const CLASS_NAMES = ["gc-a", "gc-b", "gc-other"] as const
const GATEWAY_NAMES = ["gw-a", "gw-b"] as const
const LISTENER_SET_NAMES = ["ls-a", "ls-b"] as const
const ROUTE_NAMES = ["r-a", "r-b", "r-c"] as const
const SERVICE_NAMES = ["svc-a", "svc-b"] as const
const SECRET_NAMES = ["cert-a", "cert-b"] as const
const CONFIGMAP_NAMES = ["ca-a", "ca-b"] as const
const LISTENER_NAMES = ["http", "https", "tls", "tcp", "udp", "l1"] as const

/**
 * Names Kubernetes rejects (metadata.name is an RFC 1123 subdomain of at most 253 characters):
 * the schemas reject them too, the object is a schema error.
 */
const INVALID_NAMES = ["", "A", "ä", "a/b", "a b", "a_b", "-a", "a-", "a..b", ".a", "x".repeat(254)] as const
/** Namespaces Kubernetes rejects (an RFC 1123 label of at most 63 characters; "" means default). */
const INVALID_NAMESPACES = ["A", "ä", "a/b", "a b", "-a", "a-", "a.b", "x".repeat(64)] as const
/** Valid names and namespaces at the boundaries: one character, dots, the longest allowed. */
const BOUNDARY_NAMES = [
  "a",
  "0",
  "0-a.b-0",
  `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`
] as const
const BOUNDARY_NAMESPACES = ["a", "0", "0-a", "n".repeat(63)] as const

const namespace = fc.oneof({ weight: 3, arbitrary: fc.constant("default") }, pick(NAMESPACES))
const className = pick(CLASS_NAMES)
const classRef = mostly(className, fc.constantFrom(BASE.gatewayClass, "missing-gc"), 6)
const gatewayRef = mostly(pick(GATEWAY_NAMES), fc.constantFrom(BASE.gateway, "missing-gw"), 6)
const serviceRef = mostly(pick(SERVICE_NAMES), fc.constantFrom(BASE.service, "missing-svc"), 6)
const secretRef = mostly(pick(SECRET_NAMES), fc.constant("missing-cert"), 6)
const listenerName = pick(LISTENER_NAMES)
const routeName = pick(ROUTE_NAMES)
const timestamp = fc.constantFrom("2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z")

// ---------------------------------------------------------------------------------------------
// Field values: valid, boundary and invalid
// ---------------------------------------------------------------------------------------------

const VALID_HOSTS = ["example.com", "a.example.com", "b.a.example.com", "*.example.com", "*.a.example.com", "foo.bar"]
const ODD_HOSTS = ["*.bar", "xn--bcher-kva.example", "1.2.3.4", "a-b.c"]
const INVALID_HOSTS = ["exämple.com", "*", "Example.COM", "*.*.example.com", "a..b", "", "😀.com", "a.example.com."]

export const hostname: fc.Arbitrary<string> = fc.oneof(
  { weight: 16, arbitrary: fc.constantFrom(...VALID_HOSTS) },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_HOSTS) },
  { weight: 1, arbitrary: fc.constantFrom(...INVALID_HOSTS) }
)

/** Listener and parentRef ports: the usual, the boundaries, out-of-range and mistyped values. */
export const port: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(80, 443, 8080) },
  { weight: 3, arbitrary: fc.constantFrom(1, 65535) },
  { weight: 1, arbitrary: fc.constantFrom(0, 65536, -1, 80.5, "80", null) }
)

const backendPort: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 24, arbitrary: fc.constantFrom(8080, 53, 80) },
  { weight: 2, arbitrary: fc.constantFrom(1, 65535) },
  { weight: 1, arbitrary: fc.constantFrom(0, 65536, "8080") }
)

const weight: fc.Arbitrary<unknown> = mostly(
  fc.constantFrom(1, 0, 5, 1000000),
  fc.constantFrom(-1, 1000001, 0.5, "1"),
  12
)

const VALID_REGEXES = ["/a.*", "^/x[0-9]+$", "/(foo|bar)/.+", ".*", "[[:alpha:]]+"]
const INVALID_REGEXES = ["(", "[a-", "a{2,1}", "(?=x)", "\\1", "a**", "(?<n>x", "\\p{Nope}", "x{1001}"]
const regex = mostly(fc.constantFrom(...VALID_REGEXES), fc.constantFrom(...INVALID_REGEXES), 2)

const protocol: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 28, arbitrary: fc.constantFrom("HTTP", "HTTP", "HTTPS", "TLS", "TCP", "UDP") },
  { weight: 3, arbitrary: fc.constantFrom("SCTP", "example.com/custom", "http", "HTTP3") },
  { weight: 1, arbitrary: fc.constantFrom("", "HT TP", 80) }
)

/** Values for a field of the wrong shape: nulls, strings where numbers are expected, arrays, objects. */
export const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constantFrom("", "x", "ä", "a/b", "*", "-1", "80", "true", "HTTP"),
  fc.string({ maxLength: 4 }),
  fc.constantFrom(0, -1, 1, 65535, 65536, 1.5, 2 ** 53, -(2 ** 31)),
  fc.boolean(),
  fc.constantFrom([], [null], ["x"], [1, 2]),
  fc.constantFrom({}, { a: 1 }, { name: "x" }, { kind: "Gateway" })
)

// ---------------------------------------------------------------------------------------------
// Metadata and references
// ---------------------------------------------------------------------------------------------

const metadata = (name: fc.Arbitrary<string>, namespaced: boolean): fc.Arbitrary<Obj> =>
  obj({
    name,
    // Cluster-scoped objects rarely carry a namespace (the API server would drop it).
    namespace: namespaced ? maybe(namespace) : maybe(fc.constantFrom("default", "ns1"), 9),
    generation: maybe(fc.constantFrom(1, 2, 7, 0)),
    creationTimestamp: maybe(timestamp),
    labels: maybe(fc.constantFrom({ env: "prod" }, { env: "dev" }, { app: "x" }), 3)
  })

const parentRef: fc.Arbitrary<Obj> = obj({
  group: maybe(mostly(fc.constant(GATEWAY_GROUP), fc.constantFrom("", "example.com"), 4)),
  kind: maybe(mostly(fc.constant("Gateway"), fc.constantFrom("ListenerSet", "Service"), 4)),
  namespace: maybe(namespace),
  name: mostly(gatewayRef, pick(LISTENER_SET_NAMES), 5),
  sectionName: maybe(listenerName, 3),
  port: maybe(port, 5)
})

const backendRef: fc.Arbitrary<Obj> = obj({
  group: maybe(mostly(fc.constant(""), fc.constantFrom("core", "example.com"), 3), 2),
  kind: maybe(mostly(fc.constant("Service"), fc.constantFrom("Backend", "Gateway"), 6), 2),
  name: serviceRef,
  namespace: maybe(namespace, 2),
  port: mostly(backendPort, fc.constant(undefined), 10),
  weight: maybe(weight)
})

const secretObjectRef: fc.Arbitrary<Obj> = obj({
  group: maybe(mostly(fc.constant(""), fc.constantFrom("core", "example.com"), 4), 3),
  kind: maybe(mostly(fc.constant("Secret"), fc.constant("ConfigMap"), 4), 3),
  name: secretRef,
  namespace: maybe(namespace, 3)
})

const labelSelector: fc.Arbitrary<Obj> = fc.constantFrom(
  {},
  { matchLabels: { env: "prod" } },
  { matchLabels: { env: "dev" } },
  { matchExpressions: [{ key: "env", operator: "In", values: ["prod", "dev"] }] },
  { matchExpressions: [{ key: "env", operator: "Exists" }] },
  { matchExpressions: [{ key: "env", operator: "Bogus" }] }
)

// ---------------------------------------------------------------------------------------------
// Structural mutation: a valid object with fields replaced by junk or removed
// ---------------------------------------------------------------------------------------------

type Path = ReadonlyArray<string | number>

const pathsOf = (value: unknown, prefix: Path = [], out: Array<Path> = []): Array<Path> => {
  if (Array.isArray(value)) {
    value.forEach((v: unknown, i) => {
      out.push([...prefix, i])
      pathsOf(v, [...prefix, i], out)
    })
  } else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      out.push([...prefix, k])
      pathsOf(v, [...prefix, k], out)
    }
  }
  return out
}

/** A copy of `value` with the node at `path` replaced by `replacement`, or removed. */
const updateAt = (value: unknown, path: Path, replacement: unknown, remove: boolean): unknown => {
  const [head, ...rest] = path
  if (head === undefined) return replacement
  if (Array.isArray(value) && typeof head === "number") {
    if (rest.length === 0 && remove) return value.filter((_, i) => i !== head)
    return value.map((v: unknown, i) => (i === head ? updateAt(v, rest, replacement, remove) : v))
  }
  if (typeof value === "object" && value !== null && typeof head === "string") {
    const o = value as Obj
    if (rest.length === 0 && remove) return withoutKey(o, head)
    return { ...o, [head]: updateAt(o[head], rest, replacement, remove) }
  }
  return value
}

/** `object` with one or two random fields (at any depth, apiVersion and kind included) set to junk or removed. */
export const mutated = (object: fc.Arbitrary<Obj>): fc.Arbitrary<unknown> =>
  fc.tuple(object, fc.nat(), junkValue, fc.boolean(), fc.boolean()).map(([o, n, junk, remove, twice]) => {
    let current: unknown = o
    for (let t = 0; t < (twice ? 2 : 1); t++) {
      const paths = pathsOf(current)
      const path = paths[(n + t * 7) % Math.max(paths.length, 1)]
      if (path !== undefined) current = updateAt(current, path, junk, remove)
    }
    return current
  })

// ---------------------------------------------------------------------------------------------
// Gateway API kinds
// ---------------------------------------------------------------------------------------------

const objectOf = (
  apiVersion: fc.Arbitrary<string>,
  kind: string,
  meta: fc.Arbitrary<Obj>,
  spec: fc.Arbitrary<Obj>
): fc.Arbitrary<Obj> =>
  fc.tuple(apiVersion, meta, spec).map(([v, m, s]): Obj => ({ apiVersion: v, kind, metadata: m, spec: s }))

const v1 = mostly(fc.constant(V1), fc.constant(`${GATEWAY_GROUP}/v1beta1`), 5)

export const gatewayClass: fc.Arbitrary<Obj> = objectOf(
  v1,
  "GatewayClass",
  metadata(className, false),
  obj({
    controllerName: fc.oneof(
      { weight: 12, arbitrary: fc.constant(CONTROLLER) },
      { weight: 2, arbitrary: fc.constant(OTHER_CONTROLLER) },
      fc.constantFrom("nope", "")
    ),
    parametersRef: maybe(
      fc.constantFrom(
        { group: "gateway.envoyproxy.io", kind: "EnvoyProxy", name: "p", namespace: "default" },
        { group: "", kind: "ConfigMap", name: "p" }
      ),
      8
    ),
    description: maybe(mostly(fc.constant("a class"), fc.constant("x".repeat(65)), 4), 4)
  })
)

const listenerTls: fc.Arbitrary<Obj> = obj({
  mode: maybe(mostly(fc.constantFrom("Terminate", "Passthrough"), fc.constant("Bogus"), 16)),
  certificateRefs: maybe(fc.array(secretObjectRef, { maxLength: 2 }), 1, 3),
  options: maybe(fc.constant({ "example.com/opt": "v" }), 6)
})

const allowedRoutes: fc.Arbitrary<Obj> = obj({
  namespaces: maybe(
    obj({
      from: maybe(mostly(fc.constantFrom("All", "Same", "Selector"), fc.constant("None"), 20)),
      selector: maybe(labelSelector)
    })
  ),
  kinds: maybe(
    fc.array(
      obj({
        group: maybe(mostly(fc.constant(GATEWAY_GROUP), fc.constantFrom("", "example.com"), 6)),
        kind: fc.constantFrom("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute", "Service")
      }),
      { maxLength: 2 }
    ),
    2
  )
})

export const listener: fc.Arbitrary<Obj> = protocol.chain((proto) =>
  obj({
    name: listenerName,
    port,
    protocol: fc.constant(proto),
    hostname: maybe(hostname),
    // HTTPS and TLS listeners usually carry a tls block with a certificate; others rarely do.
    tls:
      proto === "HTTPS" || proto === "TLS"
        ? fc.oneof(
            { weight: 4, arbitrary: fc.constant({ certificateRefs: [{ name: "cert-a" }] }) },
            { weight: 4, arbitrary: listenerTls },
            { weight: 1, arbitrary: fc.constant(undefined) }
          )
        : maybe(listenerTls, 8),
    allowedRoutes: maybe(allowedRoutes, 2)
  })
)

const listeners = mostly(fc.array(listener, { minLength: 1, maxLength: 3 }), fc.constant([]), 20)

export const gateway: fc.Arbitrary<Obj> = objectOf(
  v1,
  "Gateway",
  metadata(pick(GATEWAY_NAMES), true),
  obj({
    gatewayClassName: classRef,
    listeners,
    addresses: maybe(
      fc.array(
        obj({
          type: maybe(fc.constantFrom("IPAddress", "Hostname", "NamedAddress", "example.com/x")),
          value: maybe(fc.constantFrom("10.0.0.1", "::1", "lb.example.com", "not an ip", ""), 1, 5)
        }),
        { maxLength: 2 }
      ),
      6
    ),
    infrastructure: maybe(
      obj({
        labels: maybe(fc.constant({ team: "a" })),
        annotations: maybe(fc.constant({ "example.com/a": "b" })),
        parametersRef: maybe(fc.constant({ group: "gateway.envoyproxy.io", kind: "EnvoyProxy", name: "p" }), 3)
      }),
      6
    ),
    allowedListeners: maybe(
      obj({ from: fc.constantFrom("All", "Same", "None", "Selector"), selector: maybe(labelSelector) }).map(
        (namespaces) => ({ namespaces })
      ),
      2
    ),
    tls: maybe(fc.constant({ backend: { clientCertificateRef: { name: "cert-a" } } }), 8)
  })
)

export const listenerSet: fc.Arbitrary<Obj> = objectOf(
  fc.constant(V1),
  "ListenerSet",
  metadata(pick(LISTENER_SET_NAMES), true),
  obj({
    parentRef: obj({
      group: maybe(mostly(fc.constant(GATEWAY_GROUP), fc.constant("example.com"))),
      kind: maybe(mostly(fc.constant("Gateway"), fc.constant("Other"))),
      name: gatewayRef,
      namespace: maybe(namespace)
    }),
    listeners
  })
)

// HTTPRoute --------------------------------------------------------------------------------------

const headerMatch: fc.Arbitrary<Obj> = fc
  .tuple(
    fc.constantFrom("Exact", "RegularExpression", undefined),
    mostly(fc.constantFrom("x-h", "X-Env"), fc.constant("bad header"), 16)
  )
  .chain(([type, name]) =>
    (type === "RegularExpression" ? regex : mostly(fc.constantFrom("v", "a b"), fc.constant(" lead"), 16)).map(
      (value) => compact({ type, name, value })
    )
  )

const httpMatch: fc.Arbitrary<Obj> = obj({
  path: maybe(
    fc
      .constantFrom("Exact", "PathPrefix", "RegularExpression", undefined)
      .chain((type) =>
        (type === "RegularExpression" ? regex : fc.constantFrom("/", "/a", "/a/b", "", "a", "/ä", undefined)).map(
          (value) => compact({ type, value })
        )
      ),
    1,
    3
  ),
  headers: maybe(fc.array(headerMatch, { maxLength: 2 }), 2),
  queryParams: maybe(fc.array(headerMatch, { maxLength: 1 }), 3),
  method: maybe(mostly(fc.constantFrom("GET", "POST"), fc.constant("BREW"), 6), 3)
})

const headerFilter = obj({
  set: maybe(fc.constant([{ name: "x-set", value: "1" }])),
  add: maybe(fc.constant([{ name: "x-add", value: "2" }])),
  remove: maybe(fc.constant(["x-remove"]))
})

const mirrorFilter = obj({
  backendRef: backendRef.map((b) => withoutKey(b, "weight")),
  percent: maybe(fc.constantFrom(0, 50, 100, 101), 2),
  fraction: maybe(
    fc.constantFrom({ numerator: 1 }, { numerator: 1, denominator: 3 }, { numerator: 5, denominator: 0 }),
    3
  )
})

const pathModifier = fc.constantFrom(
  { type: "ReplaceFullPath", replaceFullPath: "/new" },
  { type: "ReplacePrefixMatch", replacePrefixMatch: "/p" },
  { type: "ReplacePrefixMatch" }
)

const httpFilter: fc.Arbitrary<Obj> = fc.oneof(
  headerFilter.map((f) => ({ type: "RequestHeaderModifier", requestHeaderModifier: f })),
  headerFilter.map((f) => ({ type: "ResponseHeaderModifier", responseHeaderModifier: f })),
  mirrorFilter.map((f) => ({ type: "RequestMirror", requestMirror: f })),
  obj({
    scheme: maybe(fc.constantFrom("http", "https")),
    hostname: maybe(fc.constantFrom("example.com", "*.example.com")),
    port: maybe(fc.constantFrom(8443, 0)),
    statusCode: maybe(fc.constantFrom(301, 302, 200)),
    path: maybe(pathModifier)
  }).map((f) => ({ type: "RequestRedirect", requestRedirect: f })),
  obj({ hostname: maybe(fc.constant("rewrite.example.com")), path: maybe(pathModifier) }).map((f) => ({
    type: "URLRewrite",
    urlRewrite: f
  })),
  fc.constantFrom(
    { type: "ExtensionRef", extensionRef: { group: "example.com", kind: "Filter", name: "f" } },
    { type: "CORS", cors: { allowOrigins: ["https://a.example.com", "*"], allowMethods: ["GET"], maxAge: 10 } },
    { type: "CORS", cors: { allowOrigins: ["ftp://x"] } },
    {
      type: "ExternalAuth",
      externalAuth: { protocol: "HTTP", backendRef: { name: "svc-a", port: 8080 }, http: { path: "/auth" } }
    },
    { type: "Bogus" },
    { type: "RequestHeaderModifier" }
  )
)

const httpBackendRef: fc.Arbitrary<Obj> = fc
  .tuple(backendRef, maybe(fc.array(httpFilter, { maxLength: 1 }), 5))
  .map(([b, filters]) => (filters === undefined ? b : { ...b, filters }))

const httpRule: fc.Arbitrary<Obj> = obj({
  name: maybe(mostly(fc.constantFrom("rule-a", "rule-b"), fc.constant("Bad_Name"), 6), 3),
  matches: maybe(fc.array(httpMatch, { maxLength: 2 })),
  filters: maybe(fc.array(httpFilter, { maxLength: 2 }), 2),
  backendRefs: maybe(fc.array(httpBackendRef, { maxLength: 2 }), 1, 4),
  timeouts: maybe(
    mostly(
      fc.constantFrom({ request: "10s" }, { request: "10s", backendRequest: "1m30s" }),
      fc.constant({ request: "ten" }),
      4
    ),
    8
  ),
  retry: maybe(mostly(fc.constant({ attempts: 2, codes: [503] }), fc.constant({ attempts: 0 }), 4), 8),
  sessionPersistence: maybe(fc.constant({ sessionName: "s", type: "Cookie" }), 8)
})

/** A previous route status as a cluster holds it: entries of ours (maybe stale) and of others. */
const previousRouteStatus: fc.Arbitrary<unknown> = mostly(
  fc
    .array(
      fc.record(
        {
          parentRef: fc.record(
            { group: fc.constant(GATEWAY_GROUP), kind: fc.constant("Gateway"), name: gatewayRef },
            PLAIN
          ),
          controllerName: fc.constantFrom(CONTROLLER, OTHER_CONTROLLER),
          conditions: fc.constant([
            {
              type: "Accepted",
              status: "True",
              reason: "Accepted",
              message: "",
              observedGeneration: 1,
              lastTransitionTime: "2024-01-01T00:00:00Z"
            }
          ])
        },
        PLAIN
      ),
      { minLength: 1, maxLength: 2 }
    )
    .map((parents) => ({ parents })),
  fc.constantFrom("junk", { parents: "junk" }, { parents: [null, 1] }),
  4
)

const withStatus = (o: fc.Arbitrary<Obj>): fc.Arbitrary<Obj> =>
  fc.tuple(o, maybe(previousRouteStatus, 5)).map(([x, status]) => (status === undefined ? x : { ...x, status }))

const routeSpecCommon = {
  parentRefs: mostly(fc.array(parentRef, { minLength: 1, maxLength: 3 }), fc.constant(undefined), 10),
  hostnames: maybe(fc.array(hostname, { maxLength: 2 }))
}

export const httpRoute: fc.Arbitrary<Obj> = withStatus(
  objectOf(
    v1,
    "HTTPRoute",
    metadata(routeName, true),
    obj({
      ...routeSpecCommon,
      rules: maybe(mostly(fc.array(httpRule, { minLength: 1, maxLength: 2 }), fc.constant([]), 20), 1, 6)
    })
  )
)

// GRPCRoute --------------------------------------------------------------------------------------

const grpcMatch: fc.Arbitrary<Obj> = obj({
  method: maybe(
    fc.constantFrom("Exact", "RegularExpression", undefined).chain((type) =>
      obj({
        type: fc.constant(type),
        service: maybe(type === "RegularExpression" ? regex : fc.constantFrom("pkg.Svc", "a.b.C", "")),
        method: maybe(type === "RegularExpression" ? regex : fc.constantFrom("Get", "List", "a.b"))
      })
    ),
    1,
    3
  ),
  headers: maybe(fc.array(headerMatch, { maxLength: 1 }), 2)
})

const grpcFilter: fc.Arbitrary<Obj> = fc.oneof(
  headerFilter.map((f) => ({ type: "RequestHeaderModifier", requestHeaderModifier: f })),
  headerFilter.map((f) => ({ type: "ResponseHeaderModifier", responseHeaderModifier: f })),
  mirrorFilter.map((f) => ({ type: "RequestMirror", requestMirror: f })),
  fc.constantFrom(
    { type: "ExtensionRef", extensionRef: { group: "example.com", kind: "Filter", name: "f" } },
    { type: "URLRewrite", urlRewrite: { hostname: "x.example.com" } }
  )
)

export const grpcRoute: fc.Arbitrary<Obj> = withStatus(
  objectOf(
    fc.constant(V1),
    "GRPCRoute",
    metadata(routeName, true),
    obj({
      ...routeSpecCommon,
      rules: maybe(
        fc.array(
          obj({
            name: maybe(fc.constantFrom("rule-a", "rule-b"), 3),
            matches: maybe(fc.array(grpcMatch, { maxLength: 2 })),
            filters: maybe(fc.array(grpcFilter, { maxLength: 1 }), 3),
            backendRefs: maybe(fc.array(backendRef, { maxLength: 2 }), 1, 4)
          }),
          { maxLength: 2 }
        ),
        1,
        4
      )
    })
  )
)

// L4 routes --------------------------------------------------------------------------------------

const l4Rule = obj({
  name: maybe(fc.constant("rule-a"), 3),
  backendRefs: fc.array(backendRef, { minLength: 1, maxLength: 2 })
})

/** One rule (v1 allows no more), sometimes two (v1alpha2), rarely none or an empty one. */
const l4Rules = fc.oneof(
  { weight: 16, arbitrary: l4Rule.map((r) => [r]) },
  { weight: 3, arbitrary: fc.array(l4Rule, { minLength: 2, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom([], [{ backendRefs: [] }], [{}]) }
)

export const tlsRoute: fc.Arbitrary<Obj> = withStatus(
  objectOf(
    fc.constantFrom(V1, V1, `${GATEWAY_GROUP}/v1alpha2`, `${GATEWAY_GROUP}/v1alpha3`),
    "TLSRoute",
    metadata(routeName, true),
    obj({
      parentRefs: routeSpecCommon.parentRefs,
      // v1 and v1alpha3 require at least one hostname.
      hostnames: mostly(fc.array(hostname, { minLength: 1, maxLength: 2 }), maybe(fc.constant([])), 10),
      rules: l4Rules
    })
  )
)

const l4Route = (kind: "TCPRoute" | "UDPRoute"): fc.Arbitrary<Obj> =>
  withStatus(
    objectOf(
      fc.constantFrom(V1, V1, `${GATEWAY_GROUP}/v1alpha2`),
      kind,
      metadata(routeName, true),
      obj({ parentRefs: routeSpecCommon.parentRefs, rules: l4Rules })
    )
  )

export const tcpRoute: fc.Arbitrary<Obj> = l4Route("TCPRoute")
export const udpRoute: fc.Arbitrary<Obj> = l4Route("UDPRoute")

// ReferenceGrant, BackendTLSPolicy -----------------------------------------------------------------

export const referenceGrant: fc.Arbitrary<Obj> = objectOf(
  v1,
  "ReferenceGrant",
  metadata(fc.constantFrom("rg-a", "rg-b"), true),
  obj({
    from: fc.array(
      obj({
        group: mostly(fc.constant(GATEWAY_GROUP), fc.constant(""), 4),
        kind: fc.constantFrom("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute", "Gateway", "ListenerSet"),
        namespace: pick(NAMESPACES)
      }),
      { minLength: 1, maxLength: 2 }
    ),
    to: fc.array(
      obj({
        group: fc.constantFrom("", "core"),
        kind: fc.constantFrom("Service", "Secret"),
        name: maybe(mostly(fc.constantFrom("svc-a", "cert-a"), fc.constant(""), 6))
      }),
      { minLength: 1, maxLength: 2 }
    )
  })
)

export const backendTLSPolicy: fc.Arbitrary<Obj> = objectOf(
  mostly(fc.constant(V1), fc.constant(`${GATEWAY_GROUP}/v1alpha3`), 4),
  "BackendTLSPolicy",
  metadata(fc.constantFrom("btp-a", "btp-b"), true),
  obj({
    targetRefs: fc.array(
      obj({
        group: mostly(fc.constant(""), fc.constant("example.com"), 4),
        kind: mostly(fc.constant("Service"), fc.constant("Other"), 4),
        name: serviceRef,
        sectionName: maybe(fc.constant("http"), 3)
      }),
      { minLength: 1, maxLength: 2 }
    ),
    validation: obj({
      hostname: mostly(fc.constant("backend.example.com"), fc.constant("*.example.com")),
      caCertificateRefs: maybe(
        fc.array(
          obj({
            group: mostly(fc.constant(""), fc.constant("example.com"), 4),
            kind: mostly(fc.constant("ConfigMap"), fc.constant("Secret"), 4),
            name: pick(CONFIGMAP_NAMES)
          }),
          { maxLength: 1 }
        )
      ),
      wellKnownCACertificates: maybe(fc.constant("System"), 3)
    })
  })
)

// ---------------------------------------------------------------------------------------------
// Core kinds
// ---------------------------------------------------------------------------------------------

export const namespaceObject: fc.Arbitrary<Obj> = fc
  .tuple(pick(NAMESPACES), fc.constantFrom({ env: "prod" }, { env: "dev" }, undefined))
  .map(([name, labels]) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: labels === undefined ? { name } : { name, labels }
  }))

export const service: fc.Arbitrary<Obj> = fc
  .tuple(
    metadata(pick(SERVICE_NAMES), true),
    obj({
      type: maybe(fc.constantFrom("ClusterIP", "NodePort", "ExternalName"), 2),
      clusterIP: maybe(mostly(fc.constant("10.96.0.1"), fc.constantFrom("None", "")), 1, 3),
      externalName: maybe(fc.constant("external.example.com"), 3),
      ports: maybe(
        fc.array(
          obj({
            name: maybe(fc.constantFrom("http", "dns", "")),
            port: mostly(fc.constantFrom(8080, 53, 80), fc.constantFrom(0, 65536, "8080"), 10),
            protocol: maybe(fc.constantFrom("TCP", "UDP", "SCTP")),
            appProtocol: maybe(
              fc.constantFrom("http", "kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/nope", "grpc"),
              2
            ),
            targetPort: maybe(fc.constantFrom(9090, "http"))
          }),
          { maxLength: 2 }
        ),
        1,
        6
      )
    })
  )
  .map(([m, spec]) => ({ apiVersion: "v1", kind: "Service", metadata: m, spec }))

export const endpointSlice: fc.Arbitrary<Obj> = fc
  .tuple(
    fc.constantFrom("eps-a", "eps-b"),
    namespace,
    serviceRef,
    fc.array(
      obj({
        addresses: fc.array(fc.constantFrom("10.0.0.1", "10.0.0.2", "fd00::1"), { minLength: 1, maxLength: 2 }),
        conditions: maybe(
          obj({ ready: maybe(fc.boolean()), serving: maybe(fc.boolean()), terminating: maybe(fc.boolean()) })
        ),
        zone: maybe(fc.constant("zone-a"))
      }),
      { maxLength: 2 }
    ),
    fc.array(
      obj({
        name: maybe(fc.constantFrom("http", "dns", "")),
        port: maybe(mostly(fc.constantFrom(9090, 8080, 53), fc.constantFrom(0, -1, 70000), 8), 1, 6),
        protocol: maybe(fc.constantFrom("TCP", "UDP"))
      }),
      { maxLength: 2 }
    )
  )
  .map(([name, ns, svc, endpoints, ports]) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: ns, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    endpoints,
    ports
  }))

const secretData = fc.constantFrom(
  { data: { "tls.crt": b64(CERT_A), "tls.key": b64(KEY_A) } },
  { data: { "tls.crt": b64(CERT_A), "tls.key": b64(KEY_A) } },
  { stringData: { "tls.crt": CERT_A, "tls.key": KEY_A } },
  { data: { "tls.crt": b64(CERT_A), "tls.key": b64(KEY_B) } },
  { data: { "tls.crt": b64(BAD_PEM), "tls.key": b64(KEY_A) } },
  { data: { "tls.crt": b64(CERT_A), "tls.key": b64(BAD_KEY) } },
  { data: { "tls.crt": b64(CERT_A) } },
  { data: { "tls.crt": b64("not pem"), "tls.key": b64("not pem") } },
  { data: { "tls.crt": "!!!not base64", "tls.key": b64(KEY_A) } },
  { data: { "ca.crt": b64(CERT_A) } },
  {}
)

export const secret: fc.Arbitrary<Obj> = fc
  .tuple(metadata(pick(SECRET_NAMES), true), maybe(fc.constantFrom("kubernetes.io/tls", "Opaque")), secretData)
  .map(([m, type, data]) => ({ apiVersion: "v1", kind: "Secret", metadata: m, ...compact({ type }), ...data }))

export const configMap: fc.Arbitrary<Obj> = fc
  .tuple(
    metadata(pick(CONFIGMAP_NAMES), true),
    fc.constantFrom({ "ca.crt": CERT_A }, { "ca.crt": BAD_PEM }, { other: "x" })
  )
  .map(([m, data]) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: m, data }))

// ---------------------------------------------------------------------------------------------
// Junk objects and whole inputs
// ---------------------------------------------------------------------------------------------

/** Not Kubernetes objects at all, objects without kind or apiVersion, kinds Portico ignores. */
export const junkObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, 42, "Gateway", true, [], [{ kind: "Gateway" }]),
  fc.constantFrom(
    {},
    { kind: "Gateway" },
    { apiVersion: V1 },
    { apiVersion: V1, kind: "Gateway" },
    { apiVersion: V1, kind: "Gateway", metadata: "x" },
    { apiVersion: V1, kind: "Gateway", metadata: { name: "gw-a" }, spec: null },
    { apiVersion: V1, kind: "HTTPRoute", metadata: { name: "r-a" }, spec: [] },
    { apiVersion: V1, kind: "", metadata: { name: "x" } },
    { apiVersion: 1, kind: "Gateway", metadata: { name: "x" } },
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" } },
    { apiVersion: "example.com/v1", kind: "Gateway", metadata: { name: "gw-a" }, spec: {} },
    { apiVersion: `${GATEWAY_GROUP}/v9`, kind: "HTTPRoute", metadata: { name: "r-a" }, spec: {} },
    {
      apiVersion: V1,
      kind: "Gateway",
      metadata: { name: "gw-b", namespace: "ns1" },
      spec: { gatewayClassName: "gc-a" }
    }
  ),
  fc.dictionary(fc.constantFrom("apiVersion", "kind", "metadata", "spec"), junkValue, { maxKeys: 4, ...PLAIN })
)

/** `o` with its name or namespace replaced by one of `names` or `namespaces`. */
const renamed = (
  o: fc.Arbitrary<Obj>,
  names: ReadonlyArray<string>,
  namespaces: ReadonlyArray<string>
): fc.Arbitrary<Obj> =>
  fc
    .tuple(
      o,
      fc.oneof(
        fc.constantFrom(...names).map((name) => ["name", name] as const),
        fc.constantFrom(...namespaces).map((ns) => ["namespace", ns] as const)
      )
    )
    .map(([x, [field, value]]) => ({ ...x, metadata: { ...(x.metadata as Obj), [field]: value } }))

/** An object whose name or namespace Kubernetes rejects: always a schema error. */
const badlyNamed = (o: fc.Arbitrary<Obj>): fc.Arbitrary<Obj> => renamed(o, INVALID_NAMES, INVALID_NAMESPACES)

/** An object with a valid name or namespace at the RFC 1123 boundaries (one character, 253 or 63). */
const boundaryNamed = (o: fc.Arbitrary<Obj>): fc.Arbitrary<Obj> => renamed(o, BOUNDARY_NAMES, BOUNDARY_NAMESPACES)

/** One object of any kind, shaped like the kind (its values include boundaries the schemas reject). */
export const anyObject: fc.Arbitrary<Obj> = fc.oneof(
  { weight: 3, arbitrary: gatewayClass },
  { weight: 4, arbitrary: gateway },
  { weight: 2, arbitrary: listenerSet },
  { weight: 5, arbitrary: httpRoute },
  { weight: 3, arbitrary: grpcRoute },
  { weight: 2, arbitrary: tlsRoute },
  { weight: 2, arbitrary: tcpRoute },
  { weight: 2, arbitrary: udpRoute },
  { weight: 2, arbitrary: referenceGrant },
  { weight: 1, arbitrary: backendTLSPolicy },
  { weight: 1, arbitrary: namespaceObject },
  { weight: 4, arbitrary: service },
  { weight: 2, arbitrary: endpointSlice },
  { weight: 2, arbitrary: secret },
  { weight: 1, arbitrary: configMap }
)

/**
 * Anything that may appear in an input: objects of every kind, mutated objects, junk, and a few
 * objects named at the RFC 1123 boundaries or named as Kubernetes never names an object.
 */
export const anyInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 16, arbitrary: anyObject },
  { weight: 4, arbitrary: mutated(anyObject) },
  { weight: 1, arbitrary: boundaryNamed(anyObject) },
  { weight: 1, arbitrary: badlyNamed(anyObject) },
  { weight: 1, arbitrary: junkObject }
)

/** A GatewayClass of ours with the Gateways, routes and Services around it. */
const scene: fc.Arbitrary<ReadonlyArray<unknown>> = fc
  .tuple(
    className,
    fc.array(gateway, { minLength: 1, maxLength: 2 }),
    fc.array(
      fc.tuple(
        fc.oneof({ weight: 4, arbitrary: httpRoute }, grpcRoute, tlsRoute, tcpRoute, udpRoute),
        // Most routes of a scene name one of its Gateways, from the Gateway's namespace.
        mostly(fc.nat(), fc.constant(undefined), 3)
      ),
      { minLength: 1, maxLength: 3 }
    ),
    fc.array(service, { minLength: 1, maxLength: 2 }),
    // The certificate the generated TLS listeners name most often, valid, in their usual namespace.
    maybe(fc.constantFrom("default", "ns1"), 1, 3),
    fc.array(endpointSlice, { maxLength: 1 }),
    // Sometimes a ListenerSet that the first Gateway allows.
    maybe(listenerSet, 2)
  )
  .map(([cls, generated, routes, services, certNamespace, slices, set]) => {
    const gateways = generated.map(
      (g, i): Obj => ({
        ...g,
        spec: {
          ...(g.spec as Obj),
          gatewayClassName: cls,
          ...(i === 0 && set !== undefined ? { allowedListeners: { namespaces: { from: "Same" } } } : {})
        }
      })
    )
    const first = gateways[0]?.metadata as Obj
    const attached =
      set === undefined
        ? []
        : [
            {
              ...set,
              metadata: { ...(set.metadata as Obj), namespace: namespaceOf(first) },
              spec: { ...(set.spec as Obj), parentRef: { name: first.name } }
            }
          ]
    const parents = [...gateways, ...attached]
    return [
      { apiVersion: V1, kind: "GatewayClass", metadata: { name: cls }, spec: { controllerName: CONTROLLER } },
      ...gateways,
      ...attached,
      ...routes.map(([route, target]) => {
        const parent = target === undefined ? undefined : parents[target % parents.length]
        return parent === undefined ? route : wiredTo(route, parent)
      }),
      ...services,
      ...(certNamespace === undefined ? [] : [validTlsSecret(certNamespace, "cert-a")]),
      ...slices
    ]
  })

/** The namespace of a namespaced object's metadata: "default" when absent or empty. */
const namespaceOf = (metadata: Obj): string =>
  typeof metadata.namespace === "string" && metadata.namespace !== "" ? metadata.namespace : "default"

/** `route` in the namespace of `parent` (a Gateway or ListenerSet), its first parentRef naming it. */
const wiredTo = (route: Obj, parent: Obj): Obj => {
  const pm = parent.metadata as Obj
  const spec = route.spec as Obj
  const refs = Array.isArray(spec.parentRefs) ? spec.parentRefs.slice(1) : []
  const ref = parent.kind === "ListenerSet" ? { kind: "ListenerSet", name: pm.name } : { name: pm.name }
  return {
    ...route,
    metadata: { ...(route.metadata as Obj), namespace: namespaceOf(pm) },
    spec: { ...spec, parentRefs: [ref, ...refs] }
  }
}

/** A Secret of type kubernetes.io/tls with a certificate and its key. */
export const validTlsSecret = (namespace: string, name: string): Obj => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace },
  type: "kubernetes.io/tls",
  data: { "tls.crt": b64(CERT_A), "tls.key": b64(KEY_A) }
})

/**
 * Two copies of one object whose namespace/name pairs differ but read the same joined with "/":
 * `<ns>` + `x/<name>` and `<ns>/x` + `<name>`. Kubernetes allows "/" in neither: both are schema
 * errors, whatever their order (they once collided in the translator's "<ns>/<name>" keys).
 */
const slashTwins: fc.Arbitrary<ReadonlyArray<Obj>> = fc
  .tuple(anyObject, fc.constantFrom("default", "ns1"))
  .map(([o, ns]) => {
    const m = o.metadata as Obj
    const name = typeof m.name === "string" ? m.name : "x"
    return [
      { ...o, metadata: { ...m, namespace: ns, name: `x/${name}` } },
      { ...o, metadata: { ...m, namespace: `${ns}/x`, name } }
    ]
  })

const worldWithoutTwins: fc.Arbitrary<ReadonlyArray<unknown>> = fc.oneof(
  { weight: 16, arbitrary: fc.tuple(scene, fc.array(anyInput, { maxLength: 4 })).map(([s, rest]) => [...s, ...rest]) },
  { weight: 3, arbitrary: fc.array(anyInput, { maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(scene, fc.array(anyInput, { minLength: 12, maxLength: 24 })).map(([s, rest]) => [...s, ...rest])
  }
)

/** A whole input: mostly a scene plus random others; sometimes random objects only, or many objects. */
export const world: fc.Arbitrary<ReadonlyArray<unknown>> = fc
  .tuple(worldWithoutTwins, maybe(slashTwins, 15))
  .map(([objects, twins]) => (twins === undefined ? objects : [...objects, ...twins]))

/** The fixed valid base: GatewayClass + Gateway (HTTP :80) + HTTPRoute + Service, all `base-*`. */
export const baseObjects = (): ReadonlyArray<Obj> => [
  { apiVersion: V1, kind: "GatewayClass", metadata: { name: BASE.gatewayClass }, spec: { controllerName: CONTROLLER } },
  {
    apiVersion: V1,
    kind: "Gateway",
    metadata: { name: BASE.gateway, namespace: BASE.namespace },
    spec: { gatewayClassName: BASE.gatewayClass, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] }
  },
  {
    apiVersion: V1,
    kind: "HTTPRoute",
    metadata: { name: BASE.route, namespace: BASE.namespace },
    spec: { parentRefs: [{ name: BASE.gateway }], rules: [{ backendRefs: [{ name: BASE.service, port: 8080 }] }] }
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: BASE.service, namespace: BASE.namespace },
    spec: { clusterIP: "10.96.0.10", ports: [{ port: 8080 }] }
  }
]
