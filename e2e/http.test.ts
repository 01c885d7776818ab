/**
 * HTTPRoute filters and traffic splitting, as in Envoy Gateway's traffic docs, each on its own
 * hostname of one Gateway: request header modifier, weighted backends (8/2), redirect, URL rewrite,
 * request mirror and response header modifier. Backends `backend` and `backend-2` are echo servers.
 */
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { KubeObject } from "../src/providers/kubernetes/KubeApi.ts"
import { echoBackend, gateway } from "./support/backends.ts"
import { echoOf, eventually, expectStatus, httpGet } from "./support/http.ts"
import {
  apply,
  dispose,
  GATEWAY_API,
  gatewayAddress,
  podLogs,
  testNamespace,
  waitFor,
  waitForDeployment
} from "./support/kube.ts"
import { namespaceFor } from "./support/names.ts"

const GATEWAY_NAME = "http-filters"

const backendRef = (name: string, weight?: number) => ({
  name,
  port: 3000,
  ...(weight !== undefined ? { weight } : {})
})

const route = (
  namespace: string,
  name: string,
  hostname: string,
  rule: { readonly [key: string]: unknown }
): KubeObject => ({
  apiVersion: GATEWAY_API,
  kind: "HTTPRoute",
  metadata: { name, namespace },
  spec: { parentRefs: [{ name: GATEWAY_NAME }], hostnames: [hostname], rules: [rule] }
})

const routes = (ns: string): ReadonlyArray<KubeObject> => [
  route(ns, "header", "header.example.com", {
    filters: [
      { type: "RequestHeaderModifier", requestHeaderModifier: { add: [{ name: "Added-Header", value: "foo" }] } }
    ],
    backendRefs: [backendRef("backend")]
  }),
  route(ns, "weights", "weights.example.com", {
    backendRefs: [backendRef("backend", 8), backendRef("backend-2", 2)]
  }),
  route(ns, "redirect", "redirect.example.com", {
    filters: [
      {
        type: "RequestRedirect",
        requestRedirect: { scheme: "https", hostname: "www.example.com", statusCode: 301 }
      }
    ]
  }),
  route(ns, "rewrite", "rewrite.example.com", {
    matches: [{ path: { type: "PathPrefix", value: "/prefix" } }],
    filters: [
      {
        type: "URLRewrite",
        urlRewrite: { hostname: "rewritten.example.com", path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } }
      }
    ],
    backendRefs: [backendRef("backend")]
  }),
  route(ns, "mirror", "mirror.example.com", {
    filters: [{ type: "RequestMirror", requestMirror: { backendRef: backendRef("backend-2") } }],
    backendRefs: [backendRef("backend")]
  }),
  route(ns, "response-header", "response-header.example.com", {
    filters: [
      {
        type: "ResponseHeaderModifier",
        responseHeaderModifier: {
          set: [{ name: "X-Header-Set", value: "overwritten" }],
          add: [{ name: "X-Header-Add", value: "added" }],
          remove: ["X-Header-Remove"]
        }
      }
    ],
    backendRefs: [backendRef("backend")]
  })
]

describe("HTTPRoute filters and weights", () => {
  let namespace: Awaited<ReturnType<typeof testNamespace>>
  let address: string
  const get = (host: string, path = "/", headers: { readonly [name: string]: string } = {}) =>
    httpGet({ address, host, path, headers })

  beforeAll(async () => {
    namespace = await testNamespace(namespaceFor("http"))
    const ns = namespace.name
    await apply([
      ...echoBackend(ns, "backend"),
      ...echoBackend(ns, "backend-2"),
      gateway(ns, GATEWAY_NAME, [{ name: "http", protocol: "HTTP", port: 80 }]),
      ...routes(ns)
    ])
    await waitForDeployment(ns, "backend")
    await waitForDeployment(ns, "backend-2")
    address = await gatewayAddress(ns, GATEWAY_NAME)
  })
  afterAll(async () => {
    await namespace?.drop()
    await dispose()
  })

  it("RequestHeaderModifier adds Added-Header: foo, seen by the backend", async () => {
    const echo = await eventually("GET / (Host: header.example.com)", async () => {
      const answer = echoOf(expectStatus(await get("header.example.com"), 200))
      if (answer.headers["Added-Header"]?.[0] !== "foo") throw new Error(`headers: ${JSON.stringify(answer.headers)}`)
      return answer
    })
    expect(echo.headers["Added-Header"]).toEqual(["foo"])
    expect(echo.pod).toMatch(/^backend-(?!2-)/)
  })

  it("weights 8/2 split 200 requests about 80/20 between backend and backend-2", async () => {
    // Both backends are in the split before counting: 20 answers in a row, from both of them.
    await eventually("both weighted backends answer", async () => {
      const pods = new Set<string>()
      for (let i = 0; i < 20; i++) pods.add(echoOf(expectStatus(await get("weights.example.com"), 200)).pod)
      if (![...pods].some((pod) => pod.startsWith("backend-2-"))) throw new Error(`only ${[...pods].join(", ")}`)
    })
    const counts = { backend: 0, "backend-2": 0 }
    for (let i = 0; i < 200; i++) {
      const echo = echoOf(expectStatus(await get("weights.example.com", `/weights/${i}`), 200))
      if (echo.pod.startsWith("backend-2-")) counts["backend-2"] += 1
      else counts.backend += 1
    }
    // 160 expected; the binomial spread (sd ~5.7) stays well inside 140..180.
    expect(counts.backend + counts["backend-2"]).toBe(200)
    expect(counts.backend).toBeGreaterThanOrEqual(140)
    expect(counts.backend).toBeLessThanOrEqual(180)
  })

  it("RequestRedirect answers 301 to https://www.example.com with the path kept", async () => {
    const response = await eventually("GET /some/path (Host: redirect.example.com) -> 301", async () =>
      expectStatus(await get("redirect.example.com", "/some/path"), 301)
    )
    expect(response.headers.location).toBe("https://www.example.com/some/path")
  })

  it("URLRewrite replaces the host and the /prefix path prefix", async () => {
    const echo = await eventually("GET /prefix/one (Host: rewrite.example.com)", async () => {
      const answer = echoOf(expectStatus(await get("rewrite.example.com", "/prefix/one"), 200))
      if (answer.path !== "/one") throw new Error(`path ${answer.path}`)
      return answer
    })
    expect(echo.path).toBe("/one")
    expect(echo.host).toBe("rewritten.example.com")
  })

  it("RequestMirror sends a copy to backend-2 while backend answers", async () => {
    await eventually("GET / (Host: mirror.example.com)", async () =>
      echoOf(expectStatus(await get("mirror.example.com", "/warmup"), 200))
    )
    const path = `/mirror/${randomUUID()}`
    const echo = echoOf(expectStatus(await get("mirror.example.com", path), 200))
    expect(echo.pod).toMatch(/^backend-(?!2-)/)
    const logs = await waitFor(
      `backend-2 to log the mirrored request ${path}`,
      async () => {
        const text = await podLogs(namespace.name, "app=backend-2")
        return text.includes(`request made to ${path} `) ? text : undefined
      },
      60_000
    )
    expect(logs).toContain(path)
  })

  it("ResponseHeaderModifier sets, adds and removes response headers", async () => {
    const response = await eventually("GET / (Host: response-header.example.com)", async () => {
      // The echo server sets the response headers named in X-Echo-Set-Header.
      const answer = expectStatus(
        await get("response-header.example.com", "/", {
          "X-Echo-Set-Header": "X-Header-Set:original,X-Header-Remove:gone"
        }),
        200
      )
      if (answer.headers["x-header-add"] !== "added") throw new Error(`headers: ${JSON.stringify(answer.headers)}`)
      return answer
    })
    expect(response.headers["x-header-set"]).toBe("overwritten")
    expect(response.headers["x-header-add"]).toBe("added")
    expect(response.headers["x-header-remove"]).toBeUndefined()
  })
})
