import { describe, expect, it } from "vitest"
import { decodeResource, type Resource } from "../../src/api/Resource.ts"

const G = "gateway.networking.k8s.io/v1"

const decoded = (raw: unknown): Resource => {
  const outcome = decodeResource(raw)
  if (outcome._tag !== "Decoded") throw new Error(`expected Decoded, got ${JSON.stringify(outcome)}`)
  return outcome.resource
}

const route = (spec: unknown) => {
  const resource = decoded({ apiVersion: G, kind: "HTTPRoute", metadata: { name: "r", namespace: "ns" }, spec })
  if (resource.kind !== "HTTPRoute") throw new Error("not an HTTPRoute")
  return resource
}

const gateway = (spec: unknown) => {
  const resource = decoded({ apiVersion: G, kind: "Gateway", metadata: { name: "g", namespace: "ns" }, spec })
  if (resource.kind !== "Gateway") throw new Error("not a Gateway")
  return resource
}

const prefixSlash = { type: "PathPrefix", value: "/" }

describe("CRD defaults", () => {
  it("HTTPRoute spec.rules defaults to one rule matching every path", () => {
    expect(route({}).spec.rules).toEqual([{ matches: [{ path: prefixSlash }] }])
  })

  it("HTTPRoute rule matches default to a PathPrefix / match", () => {
    expect(route({ rules: [{ backendRefs: [{ name: "s", port: 80 }] }] }).spec.rules[0]?.matches).toEqual([
      { path: prefixSlash }
    ])
  })

  it("a match without a path gets PathPrefix /; a path gets type PathPrefix and value /", () => {
    const rule = route({
      rules: [{ matches: [{ method: "GET" }, { path: {} }, { path: { value: "/api" } }, { path: { type: "Exact" } }] }]
    }).spec.rules[0]
    expect(rule?.matches).toEqual([
      { path: prefixSlash, method: "GET" },
      { path: prefixSlash },
      { path: { type: "PathPrefix", value: "/api" } },
      { path: { type: "Exact", value: "/" } }
    ])
  })

  it("header and query param matches default to Exact", () => {
    const match = route({
      rules: [{ matches: [{ headers: [{ name: "x-a", value: "1" }], queryParams: [{ name: "q", value: "2" }] }] }]
    }).spec.rules[0]?.matches[0]
    expect(match?.headers).toEqual([{ type: "Exact", name: "x-a", value: "1" }])
    expect(match?.queryParams).toEqual([{ type: "Exact", name: "q", value: "2" }])
  })

  it('backendRefs default to group "", kind Service and weight 1', () => {
    const spec = route({ rules: [{ backendRefs: [{ name: "s", port: 80 }] }] }).spec
    expect(spec.rules[0]?.backendRefs).toEqual([{ group: "", kind: "Service", name: "s", port: 80, weight: 1 }])
  })

  it("parentRefs default to the Gateway kind of gateway.networking.k8s.io", () => {
    expect(route({ parentRefs: [{ name: "g" }] }).spec.parentRefs).toEqual([
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "g" }
    ])
  })

  it("filters: redirect statusCode 302, CORS maxAge 5, mirror fraction denominator 100, mirror backend kind Service", () => {
    const filters = route({
      rules: [
        {
          filters: [
            { type: "RequestRedirect", requestRedirect: { scheme: "https" } },
            { type: "CORS", cors: { allowOrigins: ["https://example.com"] } },
            {
              type: "RequestMirror",
              requestMirror: { backendRef: { name: "m", port: 80 }, fraction: { numerator: 1 } }
            }
          ]
        }
      ]
    }).spec.rules[0]?.filters
    expect(filters?.[0]?.requestRedirect).toEqual({ scheme: "https", statusCode: 302 })
    expect(filters?.[1]?.cors).toEqual({ allowOrigins: ["https://example.com"], maxAge: 5 })
    expect(filters?.[2]?.requestMirror).toEqual({
      backendRef: { group: "", kind: "Service", name: "m", port: 80 },
      fraction: { numerator: 1, denominator: 100 }
    })
  })

  it("session persistence defaults to Cookie with a Session lifetime", () => {
    const rule = route({ rules: [{ sessionPersistence: { sessionName: "s", cookieConfig: {} } }] }).spec.rules[0]
    expect(rule?.sessionPersistence).toEqual({
      sessionName: "s",
      type: "Cookie",
      cookieConfig: { lifetimeType: "Session" }
    })
  })

  it("listener allowedRoutes defaults to namespaces from Same", () => {
    const listener = gateway({ gatewayClassName: "c", listeners: [{ name: "l", port: 80, protocol: "HTTP" }] }).spec
      .listeners[0]
    expect(listener?.allowedRoutes).toEqual({ namespaces: { from: "Same" } })
  })

  it("allowedRoutes.namespaces and namespaces.from default to Same; route kinds default their group", () => {
    const listeners = gateway({
      gatewayClassName: "c",
      listeners: [
        { name: "a", port: 80, protocol: "HTTP", allowedRoutes: { kinds: [{ kind: "HTTPRoute" }] } },
        { name: "b", port: 81, protocol: "HTTP", allowedRoutes: { namespaces: {} } }
      ]
    }).spec.listeners
    expect(listeners[0]?.allowedRoutes).toEqual({
      namespaces: { from: "Same" },
      kinds: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }]
    })
    expect(listeners[1]?.allowedRoutes).toEqual({ namespaces: { from: "Same" } })
  })

  it('listener tls mode defaults to Terminate; certificateRefs to group "" and kind Secret', () => {
    const listener = gateway({
      gatewayClassName: "c",
      listeners: [{ name: "l", port: 443, protocol: "HTTPS", tls: { certificateRefs: [{ name: "cert" }] } }]
    }).spec.listeners[0]
    expect(listener?.tls).toEqual({ mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: "cert" }] })
  })

  it("gateway addresses default to IPAddress; allowedListeners to None; frontend validation to AllowValidOnly", () => {
    const spec = gateway({
      gatewayClassName: "c",
      listeners: [{ name: "l", port: 80, protocol: "HTTP" }],
      addresses: [{ value: "10.0.0.1" }],
      allowedListeners: {},
      tls: {
        frontend: { default: { validation: { caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca" }] } } }
      }
    }).spec
    expect(spec.addresses).toEqual([{ type: "IPAddress", value: "10.0.0.1" }])
    expect(spec.allowedListeners).toEqual({ namespaces: { from: "None" } })
    expect(spec.tls?.frontend?.default.validation?.mode).toBe("AllowValidOnly")
  })

  it("GRPCRoute method and header matches default to Exact", () => {
    const resource = decoded({
      apiVersion: G,
      kind: "GRPCRoute",
      metadata: { name: "r" },
      spec: { rules: [{ matches: [{ method: { service: "a.B" }, headers: [{ name: "x", value: "y" }] }] }] }
    })
    if (resource.kind !== "GRPCRoute") throw new Error("not a GRPCRoute")
    expect(resource.spec.rules?.[0]?.matches?.[0]).toEqual({
      method: { type: "Exact", service: "a.B" },
      headers: [{ type: "Exact", name: "x", value: "y" }]
    })
  })

  it("ListenerSet parentRef defaults to a Gateway", () => {
    const resource = decoded({
      apiVersion: G,
      kind: "ListenerSet",
      metadata: { name: "ls" },
      spec: { parentRef: { name: "g" }, listeners: [{ name: "l", port: 80, protocol: "HTTP" }] }
    })
    if (resource.kind !== "ListenerSet") throw new Error("not a ListenerSet")
    expect(resource.spec.parentRef).toEqual({ group: "gateway.networking.k8s.io", kind: "Gateway", name: "g" })
    expect(resource.spec.listeners[0]?.allowedRoutes).toEqual({ namespaces: { from: "Same" } })
  })

  it("metadata.generation defaults to 1", () => {
    expect(route({}).metadata.generation).toBe(1)
  })

  it("Service type defaults to ClusterIP and port protocol to TCP; Secret type to Opaque", () => {
    const service = decoded({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { ports: [{ port: 80 }] }
    })
    if (service.kind !== "Service") throw new Error("not a Service")
    expect(service.spec).toEqual({ type: "ClusterIP", ports: [{ port: 80, protocol: "TCP" }] })
    const secret = decoded({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" } })
    if (secret.kind !== "Secret") throw new Error("not a Secret")
    expect(secret.type).toBe("Opaque")
  })
})
