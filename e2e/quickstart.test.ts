/**
 * Envoy Gateway's quickstart, unchanged: examples/quickstart.yaml applied, then
 * `curl --header "Host: www.example.com" http://$GATEWAY_HOST/get` answers 200 from the echo pod.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { quickstart } from "./support/backends.ts"
import { echoOf, eventually, expectStatus, httpGet } from "./support/http.ts"
import { apply, dispose, gatewayAddress, testNamespace, waitForDeployment } from "./support/kube.ts"
import { namespaceFor } from "./support/names.ts"

describe("quickstart", () => {
  let namespace: Awaited<ReturnType<typeof testNamespace>>
  let address: string

  beforeAll(async () => {
    namespace = await testNamespace(namespaceFor("quickstart"))
    await apply(quickstart(namespace.name))
    await waitForDeployment(namespace.name, "backend")
    address = await gatewayAddress(namespace.name, "eg")
  })
  afterAll(async () => {
    await namespace?.drop()
    await dispose()
  })

  it("answers GET /get for Host www.example.com with 200 from the echo pod", async () => {
    const echo = await eventually("GET /get (Host: www.example.com)", async () =>
      echoOf(expectStatus(await httpGet({ address, host: "www.example.com", path: "/get" }), 200))
    )
    expect(echo.path).toBe("/get")
    expect(echo.host).toBe("www.example.com")
    expect(echo.method).toBe("GET")
    expect(echo.namespace).toBe(namespace.name)
    expect(echo.pod).toMatch(/^backend-/)
    expect(Object.keys(echo.headers).length).toBeGreaterThan(0)
  })

  it("answers 404 for a host no route claims", async () => {
    await eventually("GET / (Host: unknown.example.com) -> 404", async () =>
      expectStatus(await httpGet({ address, host: "unknown.example.com" }), 404)
    )
  })
})
