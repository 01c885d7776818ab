/**
 * TLS at the Gateway, as in Envoy Gateway's secure-gateways and TLS passthrough docs:
 * - HTTPS listeners terminate TLS with certificate Secrets generated here (a test CA signs one
 *   certificate per hostname); each SNI gets its own certificate and the request reaches the echo
 *   backend in plaintext;
 * - a TLS listener in Passthrough mode hands the TLS stream to a TLSRoute's backend, which terminates
 *   it itself (the echo server's HTTPS port) and reports the SNI it saw.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { KubeObject } from "../src/providers/kubernetes/KubeApi.ts"
import { certificateAuthority, signedCertificate, tlsSecret } from "../test/support/certs.ts"
import { echoBackend, gateway } from "./support/backends.ts"
import { echoOf, eventually, expectStatus, httpsGet } from "./support/http.ts"
import { apply, dispose, GATEWAY_API, gatewayAddress, testNamespace, waitForDeployment } from "./support/kube.ts"
import { namespaceFor } from "./support/names.ts"

const GATEWAY_NAME = "tls"
const CA_LABEL = "portico e2e gateway CA"
const PASSTHROUGH_CA_LABEL = "portico e2e backend CA"
const PASSTHROUGH_PORT = 8443

const httpRoute = (namespace: string, name: string, hostname: string, sectionName: string): KubeObject => ({
  apiVersion: GATEWAY_API,
  kind: "HTTPRoute",
  metadata: { name, namespace },
  spec: {
    parentRefs: [{ name: GATEWAY_NAME, sectionName }],
    hostnames: [hostname],
    rules: [{ backendRefs: [{ name: "backend", port: 3000 }] }]
  }
})

describe("TLS", () => {
  let namespace: Awaited<ReturnType<typeof testNamespace>>
  let address: string
  let caPem: string
  let passthroughCaPem: string

  beforeAll(async () => {
    namespace = await testNamespace(namespaceFor("tls"))
    const ns = namespace.name
    const ca = await certificateAuthority(CA_LABEL)
    const passthroughCa = await certificateAuthority(PASSTHROUGH_CA_LABEL)
    caPem = ca.certPem
    passthroughCaPem = passthroughCa.certPem
    const www = await signedCertificate(CA_LABEL, ["www.example.com"], "server")
    const secure = await signedCertificate(CA_LABEL, ["secure.example.com"], "server")
    const passthrough = await signedCertificate(PASSTHROUGH_CA_LABEL, ["passthrough.example.com"], "server")
    await apply([
      tlsSecret(ns, "www-cert", www) as KubeObject,
      tlsSecret(ns, "secure-cert", secure) as KubeObject,
      tlsSecret(ns, "passthrough-cert", passthrough) as KubeObject,
      ...echoBackend(ns, "backend"),
      ...echoBackend(ns, "passthrough-backend", { tlsSecret: "passthrough-cert" }),
      gateway(ns, GATEWAY_NAME, [
        {
          name: "https-www",
          protocol: "HTTPS",
          port: 443,
          hostname: "www.example.com",
          tls: { mode: "Terminate", certificateRefs: ["www-cert"] }
        },
        {
          name: "https-secure",
          protocol: "HTTPS",
          port: 443,
          hostname: "secure.example.com",
          tls: { mode: "Terminate", certificateRefs: ["secure-cert"] }
        },
        {
          name: "tls-passthrough",
          protocol: "TLS",
          port: PASSTHROUGH_PORT,
          hostname: "passthrough.example.com",
          tls: { mode: "Passthrough" }
        }
      ]),
      httpRoute(ns, "www", "www.example.com", "https-www"),
      httpRoute(ns, "secure", "secure.example.com", "https-secure"),
      {
        apiVersion: GATEWAY_API,
        kind: "TLSRoute",
        metadata: { name: "passthrough", namespace: ns },
        spec: {
          parentRefs: [{ name: GATEWAY_NAME, sectionName: "tls-passthrough" }],
          hostnames: ["passthrough.example.com"],
          rules: [{ backendRefs: [{ name: "passthrough-backend", port: 443 }] }]
        }
      }
    ])
    await waitForDeployment(ns, "backend")
    await waitForDeployment(ns, "passthrough-backend")
    address = await gatewayAddress(ns, GATEWAY_NAME)
  })
  afterAll(async () => {
    await namespace?.drop()
    await dispose()
  })

  it.each(["www.example.com", "secure.example.com"])(
    "terminates TLS for SNI %s with that host's certificate and routes to the backend",
    async (host) => {
      const response = await eventually(`GET https://${host}/`, async () =>
        expectStatus(await httpsGet({ address, host, ca: caPem, path: "/tls" }), 200)
      )
      expect(response.certificate?.subjectaltname).toBe(`DNS:${host}`)
      const echo = echoOf(response)
      expect(echo.host).toBe(host)
      expect(echo.path).toBe("/tls")
      expect(echo.pod).toMatch(/^backend-/)
      // Terminated at Envoy: the backend itself saw plaintext.
      expect(echo.tls).toBeUndefined()
    }
  )

  it("has no valid certificate for an SNI no listener serves", async () => {
    await expect(httpsGet({ address, host: "other.example.com", ca: caPem, timeoutMs: 5_000 })).rejects.toThrow()
  })

  it("passes TLS through to the TLSRoute backend, which sees the client's SNI", async () => {
    const response = await eventually("GET https://passthrough.example.com:8443/", async () =>
      expectStatus(
        await httpsGet({ address, port: PASSTHROUGH_PORT, host: "passthrough.example.com", ca: passthroughCaPem }),
        200
      )
    )
    // The certificate is the backend's own (signed by the backend CA, never given to the Gateway).
    expect(response.certificate?.subjectaltname).toBe("DNS:passthrough.example.com")
    const echo = echoOf(response)
    expect(echo.pod).toMatch(/^passthrough-backend-/)
    expect(echo.tls?.serverName).toBe("passthrough.example.com")
  })
})
