import { execFileSync, spawnSync } from "node:child_process"
import { fromBinary, fromJson, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { fleetNameOf } from "../../src/reconcilers/Gateway.ts"
import { bootstrapJson, makeBootstrap, parseHostPort } from "../../src/xds/Bootstrap.ts"
import { BootstrapSchema } from "../../src/xds/proto/envoy/config/bootstrap/v3/bootstrap_pb.ts"
import { ApiConfigSource_ApiType } from "../../src/xds/proto/envoy/config/core/v3/config_source_pb.ts"
import { registry } from "../../src/xds/Registry.ts"

describe("parseHostPort", () => {
  it("accepts host:port, IPv4, IPv6 in brackets and DNS names", () => {
    expect(parseHostPort("127.0.0.1:18000")).toEqual({ host: "127.0.0.1", port: 18000 })
    expect(parseHostPort("[::1]:18000")).toEqual({ host: "::1", port: 18000 })
    expect(parseHostPort("portico.envoy-gateway-system:18000")).toEqual({
      host: "portico.envoy-gateway-system",
      port: 18000
    })
  })
  it("rejects a missing or out-of-range port", () => {
    for (const bad of ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":18000", "::1:18000"]) {
      expect(parseHostPort(bad)).toBeUndefined()
    }
  })
})

describe("bootstrap", () => {
  const fleet = fleetNameOf("default", "eg")

  it("names the fleet in node.cluster and uses delta ADS to the given server", () => {
    const b = makeBootstrap({ fleet, host: "127.0.0.1", port: 18000 })
    expect(b.node?.cluster).toBe(fleet)
    expect(b.node?.id).toBe(`${fleet}-0`)
    expect(b.dynamicResources?.adsConfig?.apiType).toBe(ApiConfigSource_ApiType.DELTA_GRPC)
    expect(b.dynamicResources?.ldsConfig?.configSourceSpecifier.case).toBe("ads")
    expect(b.dynamicResources?.cdsConfig?.configSourceSpecifier.case).toBe("ads")
    const xds = b.staticResources?.clusters.find((c) => c.name === "xds_cluster")
    const address = xds?.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier
    expect(address?.case).toBe("endpoint")
    expect(Object.keys(xds?.typedExtensionProtocolOptions ?? {})).toEqual([
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ])
  })

  it("round-trips through binary and canonical JSON with the real protos", () => {
    const b = makeBootstrap({ fleet, host: "xds.example.internal", port: 18000, nodeId: "a" })
    expect(fromBinary(BootstrapSchema, toBinary(BootstrapSchema, b))).toEqual(b)
    const json = bootstrapJson({ fleet, host: "xds.example.internal", port: 18000, nodeId: "a" })
    expect(fromJson(BootstrapSchema, json as never, { registry })).toEqual(b)
  })

  it("uses DNS for a hostname and a static address for an IP", () => {
    const json = (host: string) => JSON.stringify(bootstrapJson({ fleet, host, port: 18000 }))
    expect(json("xds.example.internal")).toContain('"type":"STRICT_DNS"')
    expect(json("10.0.0.1")).not.toContain("STRICT_DNS")
  })

  it("serves readiness on 19003 from the admin's /ready (admin on loopback only)", () => {
    const text = JSON.stringify(bootstrapJson({ fleet, host: "127.0.0.1", port: 18000 }))
    expect(text).toContain('"port_value":19003')
    expect(text).toContain('"path":"/ready"')
    expect(text).toMatch(/"admin":\{"address":\{"socket_address":\{"address":"127\.0\.0\.1","port_value":19000/)
  })
})

describe("portico bootstrap", () => {
  const run = (args: ReadonlyArray<string>) =>
    spawnSync(process.execPath, ["src/main.ts", "bootstrap", ...args], { encoding: "utf8" })

  it("prints YAML for a Gateway that parses back into a Bootstrap", () => {
    const out = execFileSync(process.execPath, ["src/main.ts", "bootstrap", "--gateway", "default/eg"], {
      encoding: "utf8"
    })
    const doc = parse(out)
    expect(doc.node.cluster).toBe(fleetNameOf("default", "eg"))
    expect(() => fromJson(BootstrapSchema, doc, { registry })).not.toThrow()
  })

  it("rejects a malformed --gateway and --xds-address with a clear message", () => {
    const bad = run(["--gateway", "eg"])
    expect(bad.status).not.toBe(0)
    expect(bad.stderr + bad.stdout).toContain("NAMESPACE/NAME")
    const badAddr = run(["--gateway", "default/eg", "--xds-address", "nowhere"])
    expect(badAddr.status).not.toBe(0)
    expect(badAddr.stderr + badAddr.stdout).toContain("host:port")
  })
})
