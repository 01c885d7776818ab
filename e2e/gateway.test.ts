/**
 * The Gateway itself: its status.addresses is the address MetalLB gave the fleet's LoadBalancer
 * Service (from the pool kind/up.sh carved out of docker's kind network), and deleting the Gateway
 * removes its fleet (Deployment, Service, ConfigMap, ServiceAccount).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { echoBackend, gateway } from "./support/backends.ts"
import { eventually, expectStatus, httpGet } from "./support/http.ts"
import {
  apply,
  CONFIG_MAP,
  DEPLOYMENT,
  dispose,
  field,
  fleetSelector,
  GATEWAY,
  gatewayAddress,
  get,
  IP_ADDRESS_POOL,
  list,
  METALLB_NAMESPACE,
  METALLB_POOL,
  remove,
  SERVICE,
  SERVICE_ACCOUNT,
  testNamespace,
  waitFor
} from "./support/kube.ts"
import { namespaceFor } from "./support/names.ts"

const toInt = (ip: string): number => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0)

/** Whether an IPv4 address is in one of MetalLB's `spec.addresses` entries (CIDR or first-last). */
const inPool = (ip: string, ranges: ReadonlyArray<string>): boolean =>
  ranges.some((range) => {
    if (range.includes("/")) {
      const [base = "", bits = "32"] = range.split("/")
      const size = 2 ** (32 - Number(bits))
      const start = toInt(base) - (toInt(base) % size)
      return toInt(ip) >= start && toInt(ip) < start + size
    }
    const [first = "", last = ""] = range.split("-")
    return toInt(ip) >= toInt(first) && toInt(ip) <= toInt(last)
  })

describe("Gateway", () => {
  let namespace: Awaited<ReturnType<typeof testNamespace>>

  beforeAll(async () => {
    namespace = await testNamespace(namespaceFor("gateway"))
    await apply(echoBackend(namespace.name, "backend"))
  })
  afterAll(async () => {
    await namespace?.drop()
    await dispose()
  })

  it("reports the MetalLB address of its fleet's LoadBalancer Service in status.addresses", async () => {
    await apply([gateway(namespace.name, "addresses", [{ name: "http", protocol: "HTTP", port: 80 }])])
    const address = await gatewayAddress(namespace.name, "addresses")
    const pool = await get(IP_ADDRESS_POOL, { namespace: METALLB_NAMESPACE, name: METALLB_POOL })
    const ranges = field(pool, "spec", "addresses")
    expect(Array.isArray(ranges)).toBe(true)
    expect(inPool(address, (ranges as Array<unknown>).map(String))).toBe(true)

    const services = await list(SERVICE, { labelSelector: fleetSelector(namespace.name, "addresses") })
    const loadBalancers = services.filter((s) => field(s, "spec", "type") === "LoadBalancer")
    expect(loadBalancers).toHaveLength(1)
    expect(field(loadBalancers[0], "status", "loadBalancer", "ingress", 0, "ip")).toBe(address)

    // The address is Envoy's: an unrouted request gets Envoy's 404, not a refused connection.
    await eventually("GET / through the new address -> 404", async () =>
      expectStatus(await httpGet({ address, host: "nothing.example.com" }), 404)
    )
  })

  it("removes its fleet when it is deleted", async () => {
    await apply([gateway(namespace.name, "doomed", [{ name: "http", protocol: "HTTP", port: 80 }])])
    await gatewayAddress(namespace.name, "doomed")
    const selector = fleetSelector(namespace.name, "doomed")
    const kinds = [DEPLOYMENT, SERVICE, CONFIG_MAP, SERVICE_ACCOUNT]
    const fleet = async () => (await Promise.all(kinds.map((kind) => list(kind, { labelSelector: selector })))).flat()
    expect((await fleet()).map((o) => o.kind).sort()).toEqual(
      expect.arrayContaining(["ConfigMap", "Deployment", "Service", "ServiceAccount"])
    )

    await remove(GATEWAY, { namespace: namespace.name, name: "doomed" })
    await waitFor("the fleet of Gateway doomed to be deleted", async () => {
      const left = await fleet()
      return left.length === 0 ? true : undefined
    })
    expect(await fleet()).toEqual([])
  })
})
