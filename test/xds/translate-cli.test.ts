/**
 * `portico translate --to xds`: one `kind: XdsConfig` document per fleet, after the objects and
 * the IR when those are asked for too; YAML or JSON; the same bytes as the xDS golden files; every
 * printed resource decodes with the real protos; private keys never printed.
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { fromJson, type JsonValue } from "@bufbuild/protobuf"
import { AnySchema } from "@bufbuild/protobuf/wkt"
import { Option } from "effect"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import { parseTargets } from "../../src/cli/TranslateCommand.ts"
import { registry, unpack } from "../../src/xds/Registry.ts"

const repo = fileURLToPath(new URL("../..", import.meta.url))

const portico = (args: ReadonlyArray<string>) => {
  const run = spawnSync(process.execPath, [join(repo, "src/main.ts"), ...args], {
    cwd: repo,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  })
  return { code: run.status, stdout: run.stdout, stderr: run.stderr }
}

const yamlDocuments = (text: string): Array<Record<string, unknown>> =>
  parseAllDocuments(text).map((d) => {
    expect(d.errors).toEqual([])
    return d.toJS() as Record<string, unknown>
  })

const RESOURCE_LISTS = ["listeners", "routes", "clusters", "endpoints", "secrets"] as const

/** Every printed resource is `Any` JSON the registry decodes. */
const expectDecodable = (document: Record<string, unknown>) => {
  for (const list of RESOURCE_LISTS) {
    for (const resource of document[list] as ReadonlyArray<JsonValue>) {
      const any = fromJson(AnySchema, resource, { registry })
      expect(unpack(any)).toBeDefined()
    }
  }
}

describe("portico translate --to xds", () => {
  it("parses xds as a target, alone or with the others", () => {
    expect(parseTargets("xds")).toEqual(Option.some(["xds"]))
    expect(parseTargets("xds,status")).toEqual(Option.some(["status", "xds"]))
    expect(parseTargets("status,ir,xds")).toEqual(Option.some(["status", "ir", "xds"]))
    expect(parseTargets("envoy")).toEqual(Option.none())
  })

  it("prints one XdsConfig per fleet for the standalone example", () => {
    const run = portico(["translate", "-f", join(repo, "examples/standalone"), "--to", "xds"])
    expect(run.stderr).toBe("")
    expect(run.code).toBe(0)
    const documents = yamlDocuments(run.stdout)
    expect(documents.map((d) => [d.kind, d.fleet])).toEqual([["XdsConfig", "envoy-default-eg-e41e7b31"]])
    const [document] = documents
    if (document === undefined) throw new Error("no document")
    expectDecodable(document)
    expect((document.listeners as ReadonlyArray<Record<string, unknown>>).map((l) => l.name)).toEqual([
      "default/eg/http"
    ])
    expect((document.clusters as ReadonlyArray<Record<string, unknown>>).map((c) => c.name)).toEqual([
      "httproute/default/backend/rule/0"
    ])
  })

  it("prints the objects, the IR, then the fleets' resources, as JSON too", () => {
    const run = portico(["translate", "-f", join(repo, "examples/standalone"), "--to", "xds,ir,status", "-o", "json"])
    expect(run.code).toBe(0)
    const items = (JSON.parse(run.stdout) as { items: Array<Record<string, unknown>> }).items
    expect(items.map((i) => i.kind).slice(-2)).toEqual(["IR", "XdsConfig"])
    expect(items.map((i) => i.kind)).toContain("HTTPRoute")
    const last = items.at(-1)
    if (last === undefined) throw new Error("no items")
    expectDecodable(last)
  })

  it("prints what the golden file holds, and no private key", () => {
    const input = join(repo, "test/golden/xds/https-terminate.in.yaml")
    const run = portico(["translate", "-f", input, "--to", "xds"])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(readFileSync(join(repo, "test/golden/xds/https-terminate.out.yaml"), "utf8"))
    const key = /-----BEGIN PRIVATE KEY-----\n\s*(\S+)/.exec(readFileSync(input, "utf8"))?.[1]
    expect(key).toBeDefined()
    expect(run.stdout).not.toContain(key)
    expect(run.stdout).toContain('inlineString: "[redacted: 241 bytes, see Secret default/www-cert]"')
  })

  it("rejects an unknown target, naming the valid ones", () => {
    const run = portico(["translate", "-f", join(repo, "examples/standalone"), "--to", "envoy"])
    expect(run.code).not.toBe(0)
    expect(run.stdout + run.stderr).toContain("xds")
  })
})
