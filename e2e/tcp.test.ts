/**
 * TCPRoute, as in Envoy Gateway's TCP routing doc: a TCP listener forwards the byte stream to the
 * route's backend (here an HTTP echo server, so the bytes are an HTTP request and the answer shows
 * it arrived unchanged: the Host header is the client's, not rewritten by any HTTP layer).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { echoBackend, gateway } from "./support/backends.ts"
import { echoOf, eventually, expectStatus, httpGet } from "./support/http.ts"
import { apply, dispose, GATEWAY_API, gatewayAddress, testNamespace, waitForDeployment } from "./support/kube.ts"
import { namespaceFor } from "./support/names.ts"

const GATEWAY_NAME = "tcp"
const TCP_PORT = 9000

describe("TCPRoute", () => {
  let namespace: Awaited<ReturnType<typeof testNamespace>>
  let address: string

  beforeAll(async () => {
    namespace = await testNamespace(namespaceFor("tcp"))
    const ns = namespace.name
    await apply([
      ...echoBackend(ns, "tcp-backend"),
      gateway(ns, GATEWAY_NAME, [{ name: "tcp", protocol: "TCP", port: TCP_PORT }]),
      {
        apiVersion: GATEWAY_API,
        kind: "TCPRoute",
        metadata: { name: "echo", namespace: ns },
        spec: {
          parentRefs: [{ name: GATEWAY_NAME, sectionName: "tcp" }],
          rules: [{ backendRefs: [{ name: "tcp-backend", port: 3000 }] }]
        }
      }
    ])
    await waitForDeployment(ns, "tcp-backend")
    address = await gatewayAddress(ns, GATEWAY_NAME)
  })
  afterAll(async () => {
    await namespace?.drop()
    await dispose()
  })

  it("forwards a TCP connection on port 9000 to the TCPRoute backend", async () => {
    const echo = await eventually(`a connection to ${TCP_PORT}`, async () =>
      echoOf(expectStatus(await httpGet({ address, port: TCP_PORT, host: "anything.invalid", path: "/tcp" }), 200))
    )
    expect(echo.pod).toMatch(/^tcp-backend-/)
    expect(echo.host).toBe("anything.invalid")
    expect(echo.path).toBe("/tcp")
    // No HTTP layer in between: Envoy's HTTP connection manager would have added these.
    expect(echo.headers["X-Request-Id"]).toBeUndefined()
    expect(echo.headers["X-Envoy-Expected-Rq-Timeout-Ms"]).toBeUndefined()
  })
})
