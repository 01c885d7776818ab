import { describe, expect, it } from "vitest"
import { type DecodeOutcome, decodeResource, isGatewayApiKind, type Resource } from "../../src/api/Resource.ts"

const G = "gateway.networking.k8s.io"

const decoded = (raw: unknown): Resource => {
  const outcome: DecodeOutcome = decodeResource(raw)
  if (outcome._tag !== "Decoded") throw new Error(`expected Decoded, got ${JSON.stringify(outcome)}`)
  return outcome.resource
}

const meta = (name: string, namespace?: string) => (namespace === undefined ? { name } : { name, namespace })

/** One small valid manifest per kind, keyed by kind. */
const manifests: Record<string, (apiVersion: string) => unknown> = {
  GatewayClass: (apiVersion) => ({
    apiVersion,
    kind: "GatewayClass",
    metadata: meta("portico"),
    spec: { controllerName: "portico.dev/gateway-controller", description: "Portico" }
  }),
  Gateway: (apiVersion) => ({
    apiVersion,
    kind: "Gateway",
    metadata: meta("edge", "infra"),
    spec: {
      gatewayClassName: "portico",
      listeners: [
        { name: "http", port: 80, protocol: "HTTP" },
        {
          name: "https",
          port: 443,
          protocol: "HTTPS",
          hostname: "*.example.com",
          tls: { certificateRefs: [{ name: "wildcard" }] }
        }
      ]
    }
  }),
  HTTPRoute: (apiVersion) => ({
    apiVersion,
    kind: "HTTPRoute",
    metadata: meta("web", "apps"),
    spec: {
      parentRefs: [{ name: "edge", namespace: "infra", sectionName: "http" }],
      hostnames: ["www.example.com"],
      rules: [{ matches: [{ path: { type: "Exact", value: "/login" } }], backendRefs: [{ name: "web", port: 8080 }] }]
    }
  }),
  GRPCRoute: (apiVersion) => ({
    apiVersion,
    kind: "GRPCRoute",
    metadata: meta("greeter", "apps"),
    spec: {
      parentRefs: [{ name: "edge" }],
      rules: [
        {
          matches: [{ method: { service: "helloworld.Greeter", method: "SayHello" } }],
          backendRefs: [{ name: "greeter", port: 50051 }]
        }
      ]
    }
  }),
  TLSRoute: (apiVersion) => ({
    apiVersion,
    kind: "TLSRoute",
    metadata: meta("db", "apps"),
    spec: {
      parentRefs: [{ name: "edge", sectionName: "tls" }],
      hostnames: ["db.example.com"],
      rules: [{ backendRefs: [{ name: "db", port: 5432 }] }]
    }
  }),
  TCPRoute: (apiVersion) => ({
    apiVersion,
    kind: "TCPRoute",
    metadata: meta("redis", "apps"),
    spec: { parentRefs: [{ name: "edge", port: 6379 }], rules: [{ backendRefs: [{ name: "redis", port: 6379 }] }] }
  }),
  UDPRoute: (apiVersion) => ({
    apiVersion,
    kind: "UDPRoute",
    metadata: meta("dns", "apps"),
    spec: { parentRefs: [{ name: "edge", port: 53 }], rules: [{ backendRefs: [{ name: "coredns", port: 53 }] }] }
  }),
  ReferenceGrant: (apiVersion) => ({
    apiVersion,
    kind: "ReferenceGrant",
    metadata: meta("allow-infra", "apps"),
    spec: { from: [{ group: G, kind: "HTTPRoute", namespace: "infra" }], to: [{ group: "", kind: "Service" }] }
  }),
  BackendTLSPolicy: (apiVersion) => ({
    apiVersion,
    kind: "BackendTLSPolicy",
    metadata: meta("web-tls", "apps"),
    spec: {
      targetRefs: [{ group: "", kind: "Service", name: "web" }],
      validation: { hostname: "web.apps.svc", wellKnownCACertificates: "System" }
    }
  }),
  ListenerSet: (apiVersion) => ({
    apiVersion,
    kind: "ListenerSet",
    metadata: meta("team-a", "team-a"),
    spec: { parentRef: { name: "edge", namespace: "infra" }, listeners: [{ name: "a", port: 8080, protocol: "HTTP" }] }
  }),
  Namespace: (apiVersion) => ({
    apiVersion,
    kind: "Namespace",
    metadata: { name: "apps", labels: { "kubernetes.io/metadata.name": "apps" } }
  }),
  Service: (apiVersion) => ({
    apiVersion,
    kind: "Service",
    metadata: meta("web", "apps"),
    spec: {
      type: "ClusterIP",
      clusterIP: "10.96.0.10",
      clusterIPs: ["10.96.0.10"],
      selector: { app: "web" },
      ports: [
        { name: "http", port: 80, targetPort: 8080, appProtocol: "kubernetes.io/h2c" },
        { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" }
      ]
    }
  }),
  EndpointSlice: (apiVersion) => ({
    apiVersion,
    kind: "EndpointSlice",
    metadata: { ...meta("web-abcde", "apps"), labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    endpoints: [
      {
        addresses: ["10.244.0.5"],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: "node-1",
        zone: "a",
        targetRef: { kind: "Pod", namespace: "apps", name: "web-1", uid: "u-1" }
      }
    ],
    ports: [{ name: "http", port: 8080, protocol: "TCP", appProtocol: "http" }]
  }),
  Secret: (apiVersion) => ({
    apiVersion,
    kind: "Secret",
    metadata: meta("wildcard", "infra"),
    type: "kubernetes.io/tls",
    data: { "tls.crt": "Y2VydA==", "tls.key": "a2V5\nCg==" },
    stringData: { note: "plain" }
  }),
  ConfigMap: (apiVersion) => ({
    apiVersion,
    kind: "ConfigMap",
    metadata: meta("ca", "apps"),
    data: { "ca.crt": "-----BEGIN CERTIFICATE-----" },
    binaryData: { blob: "AAEC" }
  })
}

/** Every served version of every kind (from the v1.6.1 experimental CRDs). */
const servedVersions: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["GatewayClass", [`${G}/v1`, `${G}/v1beta1`]],
  ["Gateway", [`${G}/v1`, `${G}/v1beta1`]],
  ["HTTPRoute", [`${G}/v1`, `${G}/v1beta1`]],
  ["GRPCRoute", [`${G}/v1`]],
  ["TLSRoute", [`${G}/v1`, `${G}/v1alpha3`, `${G}/v1alpha2`]],
  ["TCPRoute", [`${G}/v1`, `${G}/v1alpha2`]],
  ["UDPRoute", [`${G}/v1`, `${G}/v1alpha2`]],
  ["ReferenceGrant", [`${G}/v1`, `${G}/v1beta1`]],
  ["BackendTLSPolicy", [`${G}/v1`, `${G}/v1alpha3`]],
  ["ListenerSet", [`${G}/v1`]],
  ["Namespace", ["v1"]],
  ["Service", ["v1"]],
  ["EndpointSlice", ["discovery.k8s.io/v1"]],
  ["Secret", ["v1"]],
  ["ConfigMap", ["v1"]]
]

const cases = servedVersions.flatMap(([kind, versions]) => versions.map((apiVersion) => [kind, apiVersion] as const))

describe("decodeResource: valid objects", () => {
  it.each(cases)("decodes a %s of %s", (kind, apiVersion) => {
    const resource = decoded(manifests[kind]!(apiVersion))
    expect(resource.kind).toBe(kind)
    expect(resource.apiVersion).toBe(apiVersion)
  })

  it("keeps the fields of a Service", () => {
    const service = decoded(manifests.Service!("v1"))
    if (service.kind !== "Service") throw new Error("not a Service")
    expect(service.spec.ports).toEqual([
      { name: "http", port: 80, targetPort: 8080, appProtocol: "kubernetes.io/h2c", protocol: "TCP" },
      { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" }
    ])
    expect(service.spec.selector).toEqual({ app: "web" })
  })

  it("keeps the fields of an EndpointSlice", () => {
    const slice = decoded(manifests.EndpointSlice!("discovery.k8s.io/v1"))
    if (slice.kind !== "EndpointSlice") throw new Error("not an EndpointSlice")
    expect(slice.addressType).toBe("IPv4")
    expect(slice.endpoints[0]?.conditions).toEqual({ ready: true, serving: true, terminating: false })
    expect(slice.endpoints[0]?.targetRef?.name).toBe("web-1")
    expect(slice.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP", appProtocol: "http" }])
  })

  it("keeps Secret and ConfigMap data", () => {
    const secret = decoded(manifests.Secret!("v1"))
    if (secret.kind !== "Secret") throw new Error("not a Secret")
    expect(secret.type).toBe("kubernetes.io/tls")
    expect(secret.data).toEqual({ "tls.crt": "Y2VydA==", "tls.key": "a2V5\nCg==" })
    expect(secret.stringData).toEqual({ note: "plain" })
    const configMap = decoded(manifests.ConfigMap!("v1"))
    if (configMap.kind !== "ConfigMap") throw new Error("not a ConfigMap")
    expect(configMap.binaryData).toEqual({ blob: "AAEC" })
  })

  it("keeps metadata and drops unknown metadata and spec fields", () => {
    const route = decoded({
      apiVersion: `${G}/v1`,
      kind: "HTTPRoute",
      metadata: {
        name: "web",
        namespace: "apps",
        uid: "0b7c",
        resourceVersion: "42",
        generation: 3,
        creationTimestamp: "2025-01-01T00:00:00Z",
        labels: { app: "web" },
        annotations: { note: "x" },
        managedFields: [{ manager: "kubectl" }],
        ownerReferences: []
      },
      spec: { somethingNew: true },
      status: { parents: [] }
    })
    expect(route.metadata).toEqual({
      name: "web",
      namespace: "apps",
      uid: "0b7c",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2025-01-01T00:00:00Z",
      labels: { app: "web" },
      annotations: { note: "x" }
    })
    expect(route).toHaveProperty("spec.rules")
    expect(route).not.toHaveProperty("spec.somethingNew")
    expect(route).toHaveProperty("status", { parents: [] })
  })

  it("treats fields set to null as absent, as the API server does", () => {
    const route = decoded({
      apiVersion: `${G}/v1`,
      kind: "HTTPRoute",
      metadata: { name: "web", creationTimestamp: null },
      spec: { hostnames: null, rules: [{ matches: null, backendRefs: [{ name: "web", port: 80, namespace: null }] }] }
    })
    if (route.kind !== "HTTPRoute") throw new Error("not an HTTPRoute")
    expect(route.metadata).not.toHaveProperty("creationTimestamp")
    expect(route.spec).not.toHaveProperty("hostnames")
    expect(route.spec.rules[0]?.matches).toEqual([{ path: { type: "PathPrefix", value: "/" } }])
    expect(route.spec.rules[0]?.backendRefs?.[0]).not.toHaveProperty("namespace")
  })

  it("puts namespaced objects without a namespace in default, but not cluster-scoped ones", () => {
    expect(
      decoded({ ...(manifests.HTTPRoute!(`${G}/v1`) as object), metadata: { name: "web" } }).metadata.namespace
    ).toBe("default")
    expect(
      decoded({ ...(manifests.Secret!("v1") as object), metadata: { name: "s", namespace: "" } }).metadata.namespace
    ).toBe("default")
    expect(decoded(manifests.GatewayClass!(`${G}/v1`)).metadata).not.toHaveProperty("namespace")
    expect(decoded(manifests.Namespace!("v1")).metadata).not.toHaveProperty("namespace")
  })

  it("allows 16 rules and IP hostnames in TLSRoute v1alpha2 only", () => {
    const rules = Array.from({ length: 16 }, () => ({ backendRefs: [{ name: "db", port: 5432 }] }))
    const route = decoded({
      apiVersion: `${G}/v1alpha2`,
      kind: "TLSRoute",
      metadata: meta("db"),
      spec: { hostnames: ["10.0.0.1"], rules }
    })
    expect(route.kind).toBe("TLSRoute")
    expect(decoded({ apiVersion: `${G}/v1alpha2`, kind: "TLSRoute", metadata: meta("db"), spec: { rules } }).kind).toBe(
      "TLSRoute"
    )
    expect(decoded({ apiVersion: `${G}/v1alpha2`, kind: "TCPRoute", metadata: meta("db"), spec: { rules } }).kind).toBe(
      "TCPRoute"
    )
  })
})

describe("decodeResource: other kinds", () => {
  it.each([
    ["apps/v1", "Deployment"],
    ["v1", "Pod"],
    ["v1", "ServiceAccount"],
    ["v1", "Gateway"],
    ["gateway.networking.x-k8s.io/v1alpha1", "XBackendTrafficPolicy"],
    ["gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"],
    ["networking.k8s.io/v1", "Service"]
  ])("ignores %s %s", (apiVersion, kind) => {
    expect(decodeResource({ apiVersion, kind, metadata: { name: "x" } })).toEqual({ _tag: "Ignored", apiVersion, kind })
  })

  it("knows the ten Gateway API kinds", () => {
    const gatewayApiKinds = servedVersions.filter(([, versions]) => versions[0]?.startsWith(G)).map(([kind]) => kind)
    expect(gatewayApiKinds).toHaveLength(10)
    for (const kind of gatewayApiKinds) expect(isGatewayApiKind(kind)).toBe(true)
    for (const kind of ["Service", "Namespace", "Secret", "ConfigMap", "EndpointSlice", "Deployment", "XMesh", ""]) {
      expect(isGatewayApiKind(kind)).toBe(false)
    }
  })
})
