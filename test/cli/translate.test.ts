import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Option } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseAllDocuments, parse as parseYaml } from "yaml"
import {
  formatIgnoredNote,
  formatTranslateError,
  irDocument,
  outputDocuments,
  parseTargets,
  renderDocuments,
  stripTransitionTimes
} from "../../src/cli/TranslateCommand.ts"
import type { KubeObject, TranslateResult } from "../../src/reconcilers/Translate.ts"

const repo = fileURLToPath(new URL("../..", import.meta.url))
const main = join(repo, "src/main.ts")
const standalone = join(repo, "examples/standalone")

const portico = (args: ReadonlyArray<string>, input?: string) => {
  const run = spawnSync(process.execPath, [main, ...args], {
    cwd: repo,
    encoding: "utf8",
    ...(input === undefined ? { stdio: ["ignore", "pipe", "pipe"] } : { input })
  })
  return { code: run.status, stdout: run.stdout, stderr: run.stderr }
}

const kindsAndNames = (documents: ReadonlyArray<unknown>) =>
  documents.map((document) => {
    const object = document as { kind?: string; metadata?: { name?: string } }
    return `${object.kind}/${object.metadata?.name ?? ""}`
  })

const yamlDocuments = (text: string): Array<unknown> => {
  const stream = parseAllDocuments(text)
  for (const document of stream) expect(document.errors).toEqual([])
  return stream.map((document) => document.toJS())
}

let dir = ""

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portico-translate-"))
  mkdirSync(join(dir, "input"))
  writeFileSync(join(dir, "input/gateway.yaml"), readFileSync(join(standalone, "gateway.yaml")))
  writeFileSync(join(dir, "input/route.yaml"), readFileSync(join(standalone, "httproute.yaml")))
  writeFileSync(
    join(dir, "broken.yaml"),
    "kind: GatewayClass\n---\nkind: Gateway\nspec:\n  listeners: [\n    {port: 80\n"
  )
  writeFileSync(join(dir, "sequence.yaml"), "- a\n- b\n")
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe("portico translate", () => {
  it("translates the standalone example: exit 0, every object, then the IR", () => {
    const run = portico(["translate", "-f", standalone])
    expect(run.stderr).not.toMatch(/error/i)
    expect(run.code).toBe(0)
    const documents = yamlDocuments(run.stdout)
    const printed = kindsAndNames(documents)
    for (const expected of ["GatewayClass/eg", "Gateway/eg", "HTTPRoute/backend"]) expect(printed).toContain(expected)
    expect(printed.at(-1)).toBe("IR/")
  })

  it("prints the same bytes every time", () => {
    const first = portico(["translate", "-f", standalone])
    const second = portico(["translate", "-f", standalone])
    expect(first.code).toBe(0)
    expect(second.stdout).toBe(first.stdout)
  })

  it("reads several -f in order", () => {
    const run = portico([
      "translate",
      "-f",
      join(dir, "input/route.yaml"),
      "-f",
      join(dir, "input/gateway.yaml"),
      "--to",
      "status"
    ])
    expect(run.code).toBe(0)
    expect(kindsAndNames(yamlDocuments(run.stdout)).sort()).toEqual([
      "Gateway/eg",
      "GatewayClass/eg",
      "HTTPRoute/backend"
    ])
  })

  it("-o json prints one kind: List of the same documents", () => {
    const yaml = portico(["translate", "-f", join(dir, "input")])
    const json = portico(["translate", "-f", join(dir, "input"), "-o", "json"])
    expect(json.code).toBe(0)
    const list = JSON.parse(json.stdout) as { apiVersion: string; kind: string; items: Array<unknown> }
    expect(list.apiVersion).toBe("v1")
    expect(list.kind).toBe("List")
    expect(list.items).toEqual(yamlDocuments(yaml.stdout))
  })

  it("--to ir prints only the IR document; --to status only the objects", () => {
    const ir = portico(["translate", "-f", join(dir, "input"), "--to", "ir"])
    expect(ir.code).toBe(0)
    const irDocs = yamlDocuments(ir.stdout)
    expect(irDocs).toHaveLength(1)
    expect((irDocs[0] as { kind: string }).kind).toBe("IR")

    const status = portico(["translate", "-f", join(dir, "input"), "--to", "status", "-o", "json"])
    expect(status.code).toBe(0)
    const items = (JSON.parse(status.stdout) as { items: Array<unknown> }).items
    expect(kindsAndNames(items)).not.toContain("IR/")
    expect(kindsAndNames(items)).toContain("HTTPRoute/backend")
  })

  it("rejects an unknown --to", () => {
    const run = portico(["translate", "-f", join(dir, "input"), "--to", "envoy"])
    expect(run.code).not.toBe(0)
    expect(run.stdout).not.toContain("apiVersion:")
    expect(run.stdout + run.stderr).toContain("--to")
  })

  it("reads stdin for -f -", () => {
    const input = readFileSync(join(standalone, "gateway.yaml"), "utf8")
    const run = portico(["translate", "-f", "-", "--to", "status", "-o", "json"], input)
    expect(run.code).toBe(0)
    expect(kindsAndNames((JSON.parse(run.stdout) as { items: Array<unknown> }).items).sort()).toEqual([
      "Gateway/eg",
      "GatewayClass/eg"
    ])
  })

  it("exits 1 on a YAML syntax error, naming file, document and line, with no stack trace", () => {
    const file = join(dir, "broken.yaml")
    const run = portico(["translate", "-f", file])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe("")
    expect(run.stderr).toMatch(
      new RegExp(
        `^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: document 2 \\(line \\d+, column \\d+\\): .+\\n$`
      )
    )
  })

  it("exits 1 on objects that violate their schema, one line per field, nothing on stdout", () => {
    const file = join(dir, "invalid.yaml")
    writeFileSync(
      file,
      [
        "apiVersion: gateway.networking.k8s.io/v1",
        "kind: Gateway",
        "metadata: {name: eg, namespace: default}",
        "spec:",
        "  gatewayClassName: eg",
        "  listeners: [{name: http, protocol: HTTP, port: 0}]",
        "---",
        "apiVersion: gateway.networking.k8s.io/v1",
        "kind: HTTPRoute",
        "metadata: {name: r}",
        "spec:",
        "  rules: [{matches: [{path: {type: Foo, value: /}}], backendRefs: [{name: x, port: 80, weight: -1}]}]",
        ""
      ].join("\n")
    )
    const run = portico(["translate", "-f", file])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe("")
    expect(run.stderr.split("\n").filter((l) => l !== "")).toEqual([
      `${file}: document 1: Gateway default/eg: spec.listeners[0].port: expected a value between 1 and 65535, got 0`,
      `${file}: document 2: HTTPRoute default/r: spec.rules[0].matches[0].path.type: expected one of Exact, PathPrefix, RegularExpression, got "Foo"`,
      `${file}: document 2: HTTPRoute default/r: spec.rules[0].backendRefs[0].weight: expected a value between 0 and 1000000, got -1`,
      "error: 2 invalid objects (3 errors); nothing translated"
    ])
  })

  it("exits 1 on a syntax error read from stdin", () => {
    const run = portico(["translate", "-f", "-"], "a: [\n")
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^error: <stdin>: document 1 \(line \d+, column \d+\): /)
  })

  it("exits 1 on a document that is not an object", () => {
    const run = portico(["translate", "-f", join(dir, "sequence.yaml")])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(
      `error: ${join(dir, "sequence.yaml")}: document 1: expected a Kubernetes object (a mapping), found a sequence\n`
    )
  })

  it("exits 1 with a clear message on a missing file", () => {
    const missing = join(dir, "missing.yaml")
    const run = portico(["translate", "-f", join(dir, "input"), "-f", missing])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe("")
    expect(run.stderr).toBe(`error: no such file or directory: ${missing}\n`)
  })

  it("requires -f", () => {
    const run = portico(["translate"])
    expect(run.code).not.toBe(0)
    expect(run.stdout + run.stderr).toContain("--file")
  })

  it("--help explains every flag, with examples", () => {
    const run = portico(["translate", "--help"])
    expect(run.code).toBe(0)
    for (const flag of [
      "--file, -f",
      "--output, -o",
      "--to",
      "--controller-name",
      "EXAMPLES",
      "portico translate -f"
    ]) {
      expect(run.stdout).toContain(flag)
    }
  })
})

describe("translate output", () => {
  const origins = [
    { file: "a.yaml", index: 0 },
    { file: "b.yaml", index: 2 },
    { file: "list.yaml", index: 0, item: 3 }
  ]

  it("formats schema errors as FILE: document N: KIND NAMESPACE/NAME: PATH: MESSAGE", () => {
    expect(
      formatTranslateError(
        {
          index: 1,
          kind: "Gateway",
          namespace: "default",
          name: "eg",
          path: "spec.listeners[0].port",
          message: "Expected a value between 1 and 65535, got 0"
        },
        origins
      )
    ).toBe(
      "b.yaml: document 3: Gateway default/eg: spec.listeners[0].port: Expected a value between 1 and 65535, got 0"
    )
    expect(
      formatTranslateError({ index: 2, kind: "GatewayClass", name: "eg", path: "spec", message: "is missing" }, origins)
    ).toBe("list.yaml: document 1, item 4: GatewayClass eg: spec: is missing")
    expect(formatTranslateError({ index: 0, kind: "HTTPRoute", path: "", message: "bad" }, origins)).toBe(
      "a.yaml: document 1: HTTPRoute (unnamed): bad"
    )
    expect(formatTranslateError({ index: 9, kind: "", path: "metadata", message: "bad" }, origins)).toBe(
      "object 10: (no kind) (unnamed): metadata: bad"
    )
  })

  it("notes ignored kinds with the number of objects", () => {
    const inputs = [
      { apiVersion: "apps/v1", kind: "Deployment" },
      { apiVersion: "apps/v1", kind: "Deployment" },
      { apiVersion: "v1", kind: "ServiceAccount" },
      { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway" }
    ]
    expect(formatIgnoredNote(["apps/v1/Deployment", "v1/ServiceAccount"], inputs)).toEqual(
      Option.some("note: ignored 3 objects of kinds apps/v1/Deployment, v1/ServiceAccount")
    )
    expect(formatIgnoredNote(["v1/ServiceAccount"], inputs)).toEqual(
      Option.some("note: ignored 1 object of kind v1/ServiceAccount")
    )
    expect(formatIgnoredNote([], inputs)).toEqual(Option.none())
  })

  it("never prints a private key: the IR shows its size and the Secret instead", () => {
    const ir: TranslateResult["ir"] = {
      xds: {
        fleets: [
          {
            name: "envoy-default-eg-00000000",
            gateway: { namespace: "default", name: "eg" },
            listeners: [],
            secrets: [
              { name: "default/cert", type: "TlsCertificate", certificateChain: "CHAIN", privateKey: "SECRET-KEY" },
              { name: "default/eg/https/client-ca", type: "CaBundle", caCertificates: "CA" }
            ]
          }
        ]
      },
      infra: { fleets: [] }
    }
    const printed = renderDocuments(
      outputDocuments({ objects: [], errors: [], ignored: [], ir, statuses: new Map() }, ["ir"]),
      "yaml"
    )
    expect(printed).not.toContain("SECRET-KEY")
    expect(printed).toContain('privateKey: "[redacted: 10 bytes, see Secret default/cert]"')
    expect(printed).toContain("certificateChain: CHAIN")
    expect(printed).toContain("caCertificates: CA")
  })

  it("parses --to", () => {
    expect(parseTargets("status,ir")).toEqual(Option.some(["status", "ir"]))
    expect(parseTargets("ir, status")).toEqual(Option.some(["status", "ir"]))
    expect(parseTargets("ir")).toEqual(Option.some(["ir"]))
    expect(parseTargets("status,envoy")).toEqual(Option.none())
    expect(parseTargets(",")).toEqual(Option.none())
  })

  it("removes lastTransitionTime from every condition, and nothing else", () => {
    const condition = {
      type: "Accepted",
      status: "True",
      reason: "Accepted",
      lastTransitionTime: "2025-01-01T00:00:00Z"
    }
    const { lastTransitionTime: _, ...stripped } = condition
    const object: KubeObject = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "eg", namespace: "default", annotations: { lastTransitionTime: "kept" } },
      spec: { lastTransitionTime: "kept" },
      status: {
        conditions: [condition],
        listeners: [{ name: "http", conditions: [condition], attachedRoutes: 1 }],
        parents: [{ conditions: [condition, stripped] }]
      }
    }
    expect(stripTransitionTimes(object)).toEqual({
      ...object,
      status: {
        conditions: [stripped],
        listeners: [{ name: "http", conditions: [stripped], attachedRoutes: 1 }],
        parents: [{ conditions: [stripped, stripped] }]
      }
    })
    expect(object.status).toHaveProperty("conditions.0.lastTransitionTime")
  })

  it("renders the IR as one kind: IR document with the IR's fields", () => {
    expect(irDocument({ fleets: [{ name: "envoy-default-eg-1234abcd" }] })).toEqual({
      kind: "IR",
      fleets: [{ name: "envoy-default-eg-1234abcd" }]
    })
    expect(Object.keys(irDocument({ fleets: [], kind: "x" }))).toEqual(["kind", "fleets"])
    expect(irDocument([1])).toEqual({ kind: "IR", ir: [1] })
  })

  it("renders YAML streams and JSON lists of the same documents", () => {
    const shared = { a: 1 }
    const result: TranslateResult = {
      objects: [
        { apiVersion: "v1", kind: "A", metadata: { name: "a" }, spec: shared },
        { apiVersion: "v1", kind: "B", metadata: { name: "b" }, spec: shared }
      ],
      errors: [],
      ignored: [],
      ir: { xds: { fleets: [] }, infra: { fleets: [] } },
      statuses: new Map()
    }
    const documents = outputDocuments(result, ["status", "ir"])
    const yaml = renderDocuments(documents, "yaml")
    expect(yaml).not.toContain("&") // shared objects are repeated, not aliased
    expect(yamlDocuments(yaml)).toEqual(documents)
    expect(JSON.parse(renderDocuments(documents, "json"))).toEqual({ apiVersion: "v1", kind: "List", items: documents })
    expect(parseYaml(renderDocuments(outputDocuments(result, ["ir"]), "yaml"))).toEqual({
      kind: "IR",
      xds: { fleets: [] },
      infra: { fleets: [] }
    })
    expect(renderDocuments([], "yaml")).toBe("")
  })
})
