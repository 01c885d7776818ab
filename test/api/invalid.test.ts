import { describe, expect, it } from "vitest"
import { decodeResource } from "../../src/api/Resource.ts"

const G = "gateway.networking.k8s.io/v1"
const HOSTNAME = "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

const issuesOf = (raw: unknown) => {
  const outcome = decodeResource(raw)
  if (outcome._tag !== "Invalid") throw new Error(`expected Invalid, got ${JSON.stringify(outcome)}`)
  return outcome.issues
}

const gateway = (listeners: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: G,
  kind: "Gateway",
  metadata: { name: "g", namespace: "ns" },
  spec: { gatewayClassName: "c", listeners, ...extra }
})

const route = (spec: unknown) => ({ apiVersion: G, kind: "HTTPRoute", metadata: { name: "r", namespace: "ns" }, spec })

const listener = (fields: Record<string, unknown>) => ({ name: "l", port: 80, protocol: "HTTP", ...fields })

describe("decodeResource: invalid objects", () => {
  it("reports port 0 and port 65536 with the range", () => {
    expect(issuesOf(gateway([listener({ port: 0 }), listener({ name: "m", port: 65536 })]))).toEqual([
      { path: "spec.listeners[0].port", message: "expected a value between 1 and 65535, got 0" },
      { path: "spec.listeners[1].port", message: "expected a value between 1 and 65535, got 65536" }
    ])
  })

  it("reports a non-integer or non-number port", () => {
    expect(issuesOf(gateway([listener({ port: 80.5 }), listener({ port: "80" })]))).toEqual([
      { path: "spec.listeners[0].port", message: "expected an integer, got 80.5" },
      { path: "spec.listeners[1].port", message: 'expected an integer, got "80"' }
    ])
  })

  it("reports an unknown path match type with the allowed values", () => {
    expect(issuesOf(route({ rules: [{ matches: [{ path: { type: "Foo", value: "/" } }] }] }))).toEqual([
      {
        path: "spec.rules[0].matches[0].path.type",
        message: 'expected one of Exact, PathPrefix, RegularExpression, got "Foo"'
      }
    ])
  })

  it("reports missing listeners and an empty gatewayClassName", () => {
    const raw = { apiVersion: G, kind: "Gateway", metadata: { name: "g" }, spec: { gatewayClassName: "" } }
    expect(decodeResource(raw)).toEqual({
      _tag: "Invalid",
      kind: "Gateway",
      namespace: "default",
      name: "g",
      issues: [
        { path: "spec.gatewayClassName", message: 'expected a string of 1 to 253 characters, got ""' },
        { path: "spec.listeners", message: "missing required field" }
      ]
    })
  })

  it("reports an empty listener list and a missing spec", () => {
    expect(issuesOf(gateway([]))).toEqual([
      { path: "spec.listeners", message: "expected at least 1 item, got 0 items" }
    ])
    expect(issuesOf({ apiVersion: G, kind: "Gateway", metadata: { name: "g" } })).toEqual([
      { path: "spec", message: "missing required field" }
    ])
  })

  it("reports hostnames with uppercase letters", () => {
    expect(issuesOf(gateway([listener({ hostname: "Foo.example.com" })]))).toEqual([
      {
        path: "spec.listeners[0].hostname",
        message: `expected a lowercase RFC 1123 hostname matching ${HOSTNAME}, got "Foo.example.com"`
      }
    ])
    expect(issuesOf(route({ hostnames: ["ok.example.com", "*.Example.com"] }))).toEqual([
      {
        path: "spec.hostnames[1]",
        message: `expected a lowercase RFC 1123 hostname matching ${HOSTNAME}, got "*.Example.com"`
      }
    ])
  })

  it("reports IP addresses as TLSRoute hostnames (v1), and a missing hostnames list", () => {
    const tlsRoute = (spec: Record<string, unknown>) => ({
      apiVersion: G,
      kind: "TLSRoute",
      metadata: { name: "t", namespace: "ns" },
      spec: { rules: [{ backendRefs: [{ name: "s", port: 443 }] }], ...spec }
    })
    expect(issuesOf(tlsRoute({ hostnames: ["db.example.com", "10.0.0.1"] }))).toEqual([
      { path: "spec.hostnames[1]", message: 'expected a hostname, not an IP address, got "10.0.0.1"' }
    ])
    expect(issuesOf(tlsRoute({}))).toEqual([{ path: "spec.hostnames", message: "missing required field" }])
    expect(
      issuesOf(tlsRoute({ hostnames: ["a.example.com"], rules: [{ backendRefs: [] }, { backendRefs: [] }] }))
    ).toEqual([
      { path: "spec.rules[0].backendRefs", message: "expected at least 1 item, got 0 items" },
      { path: "spec.rules[1].backendRefs", message: "expected at least 1 item, got 0 items" }
    ])
  })

  it("reports more than one rule in TCPRoute v1", () => {
    const rule = { backendRefs: [{ name: "s", port: 1 }] }
    expect(
      issuesOf({ apiVersion: G, kind: "TCPRoute", metadata: { name: "t" }, spec: { rules: [rule, rule] } })
    ).toEqual([{ path: "spec.rules", message: "expected at most 1 item in gateway.networking.k8s.io/v1, got 2 items" }])
  })

  it("reports an IPAddress gateway address that is not an IP", () => {
    expect(issuesOf(gateway([listener({})], { addresses: [{ value: "10.0.0.1" }, { value: "my-lb" }] }))).toEqual([
      { path: "spec.addresses[1].value", message: 'expected an IPv4 or IPv6 address, got "my-lb"' }
    ])
  })

  it("reports weight -1", () => {
    expect(issuesOf(route({ rules: [{ backendRefs: [{ name: "s", port: 80, weight: -1 }] }] }))).toEqual([
      { path: "spec.rules[0].backendRefs[0].weight", message: "expected a value between 0 and 1000000, got -1" }
    ])
  })

  it("reports too many parentRefs", () => {
    const parentRefs = Array.from({ length: 33 }, (_, i) => ({ name: `g${i}` }))
    expect(issuesOf(route({ parentRefs }))).toEqual([
      { path: "spec.parentRefs", message: "expected at most 32 items, got 33 items" }
    ])
  })

  it("reports every issue of an object, not just the first", () => {
    const issues = issuesOf(
      route({
        parentRefs: [{ name: "" }],
        rules: [
          {
            matches: [{ path: { type: "Regex" }, headers: [{ name: "bad header", value: "v" }] }],
            filters: [{ type: "RequestRedirect", requestRedirect: { statusCode: 300 } }],
            backendRefs: [{ name: "s", port: 80, weight: 1.5 }]
          }
        ]
      })
    )
    expect(issues.map((issue) => issue.path)).toEqual([
      "spec.parentRefs[0].name",
      "spec.rules[0].matches[0].path.type",
      "spec.rules[0].matches[0].headers[0].name",
      "spec.rules[0].filters[0].requestRedirect.statusCode",
      "spec.rules[0].backendRefs[0].weight"
    ])
    expect(issues[3]?.message).toBe("expected one of 301, 302, 303, 307, 308, got 300")
    expect(issues[4]?.message).toBe("expected an integer, got 1.5")
  })

  it("reports wrong types and bad metadata with their paths", () => {
    expect(
      issuesOf({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "s", labels: { "app.kubernetes.io/name": 5 } },
        spec: { ports: [{ port: 80, targetPort: true }] }
      })
    ).toEqual([
      { path: 'metadata.labels["app.kubernetes.io/name"]', message: "expected a string, got 5" },
      { path: "spec.ports[0].targetPort", message: "expected an integer or a string, got true" }
    ])
    expect(issuesOf({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { "tls.crt": "abc" } })).toEqual(
      [{ path: 'data["tls.crt"]', message: 'expected a base64 encoded string, got "abc"' }]
    )
    expect(issuesOf({ apiVersion: "v1", kind: "ConfigMap", metadata: "cm" })).toEqual([
      { path: "metadata", message: 'expected an object, got "cm"' }
    ])
  })

  it("reports an unserved version of a kind it reads", () => {
    expect(
      issuesOf({
        apiVersion: "gateway.networking.k8s.io/v1alpha1",
        kind: "GRPCRoute",
        metadata: { name: "r" },
        spec: {}
      })
    ).toEqual([
      {
        path: "apiVersion",
        message: 'expected one of gateway.networking.k8s.io/v1, got "gateway.networking.k8s.io/v1alpha1"'
      }
    ])
  })

  it("reports non-objects and a missing apiVersion or kind", () => {
    for (const raw of [null, 5, "Gateway", [1]]) {
      const outcome = decodeResource(raw)
      expect(outcome).toMatchObject({ _tag: "Invalid", kind: "" })
      expect(outcome._tag === "Invalid" ? outcome.issues[0]?.path : undefined).toBe("")
    }
    expect(decodeResource([])).toEqual({
      _tag: "Invalid",
      kind: "",
      issues: [{ path: "", message: "expected an object, got an array of 0 items" }]
    })
    expect(decodeResource({ apiVersion: G, metadata: { name: "x", namespace: "y" } })).toEqual({
      _tag: "Invalid",
      kind: "",
      namespace: "y",
      name: "x",
      issues: [{ path: "kind", message: "missing required field" }]
    })
    expect(decodeResource({ kind: "Gateway" })).toEqual({
      _tag: "Invalid",
      kind: "Gateway",
      issues: [{ path: "apiVersion", message: "missing required field" }]
    })
    expect(decodeResource({ apiVersion: 1, kind: "Gateway" })).toEqual({
      _tag: "Invalid",
      kind: "Gateway",
      issues: [{ path: "apiVersion", message: "expected a non-empty string, got 1" }]
    })
  })
})
