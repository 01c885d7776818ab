/**
 * GRPCRoute, as in Envoy Gateway's gRPC routing doc: a route for host grpc.example.com matching
 * method GrpcEcho/Echo sends calls to the echo server's gRPC mode; other methods of the service
 * match no rule and fail with UNIMPLEMENTED at the Gateway.
 */
import { status } from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { echoBackend, gateway } from "./support/backends.ts"
import { GRPC_ECHO_SERVICE, grpcEcho } from "./support/grpc.ts"
import { eventually } from "./support/http.ts"
import { apply, dispose, GATEWAY_API, gatewayAddress, testNamespace, waitForDeployment } from "./support/kube.ts"
import { namespaceFor } from "./support/names.ts"

const GATEWAY_NAME = "grpc"
const HOST = "grpc.example.com"

describe("GRPCRoute", () => {
  let namespace: Awaited<ReturnType<typeof testNamespace>>
  let address: string

  beforeAll(async () => {
    namespace = await testNamespace(namespaceFor("grpc"))
    const ns = namespace.name
    await apply([
      ...echoBackend(ns, "grpc-backend", { grpc: true }),
      gateway(ns, GATEWAY_NAME, [{ name: "http", protocol: "HTTP", port: 80 }]),
      {
        apiVersion: GATEWAY_API,
        kind: "GRPCRoute",
        metadata: { name: "echo", namespace: ns },
        spec: {
          parentRefs: [{ name: GATEWAY_NAME }],
          hostnames: [HOST],
          rules: [
            {
              matches: [{ method: { type: "Exact", service: GRPC_ECHO_SERVICE, method: "Echo" } }],
              backendRefs: [{ name: "grpc-backend", port: 8080 }]
            }
          ]
        }
      }
    ])
    await waitForDeployment(ns, "grpc-backend")
    address = await gatewayAddress(ns, GATEWAY_NAME)
  })
  afterAll(async () => {
    await namespace?.drop()
    await dispose()
  })

  it("routes GrpcEcho/Echo for grpc.example.com to the gRPC echo backend", async () => {
    const echo = await eventually("GrpcEcho/Echo via the Gateway", () => grpcEcho({ address, authority: HOST }))
    expect(echo.method).toBe(`/${GRPC_ECHO_SERVICE}/Echo`)
    expect(echo.authority).toBe(HOST)
    expect(echo.namespace).toBe(namespace.name)
    expect(echo.pod).toMatch(/^grpc-backend-/)
  })

  it("answers UNIMPLEMENTED for a method no rule matches", async () => {
    await eventually("GrpcEcho/EchoTwo -> UNIMPLEMENTED", async () => {
      const outcome = await grpcEcho({ address, authority: HOST, method: "EchoTwo" }).then(
        () => "answered",
        (error: { code?: number }) => error.code
      )
      if (outcome !== status.UNIMPLEMENTED) throw new Error(`expected UNIMPLEMENTED, got ${String(outcome)}`)
    })
  })
})
