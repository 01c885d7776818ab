/**
 * Every manifest of the Gateway API v1.6.1 conformance suite was accepted by a real API server, so
 * every Gateway API document in it must decode: a failure here means a schema is stricter than
 * the CRDs. The suite's placeholders are substituted the way the suite does before applying.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import { type DecodeOutcome, decodeResource, isGatewayApiKind } from "../../src/api/Resource.ts"

const repoRoot = resolve(import.meta.dirname, "../..")
const gatewayApiDir = resolve(repoRoot, process.env.GATEWAY_API_DIR ?? "../shared/gateway-api")
const conformanceDir = join(gatewayApiDir, "conformance")

const yamlFilesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) return yamlFilesUnder(path)
      return /\.ya?ml$/.test(entry.name) ? [path] : []
    })
    .sort()

/** The suite substitutes these before it applies a manifest. */
const substitutions: ReadonlyArray<readonly [string, string]> = [
  ["{GATEWAY_CLASS_NAME}", "portico"],
  ["{GATEWAY_CONTROLLER_NAME}", "portico.dev/gateway-controller"],
  ["PLACEHOLDER_UNUSABLE_ADDRS", "192.0.2.1"],
  ["PLACEHOLDER_USABLE_ADDRS", "10.0.0.1"]
]

const documentsOf = (file: string): Array<unknown> => {
  let text = readFileSync(file, "utf8")
  for (const [placeholder, value] of substitutions) text = text.replaceAll(placeholder, value)
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`)
    const value: unknown = document.toJS()
    return value === null || value === undefined ? [] : [value]
  })
}

const describeOutcome = (outcome: DecodeOutcome): string =>
  outcome._tag === "Invalid"
    ? `${outcome.kind} ${outcome.namespace ?? ""}/${outcome.name ?? ""}: ${outcome.issues
        .map((issue) => `${issue.path}: ${issue.message}`)
        .join("; ")}`
    : outcome._tag

const files = existsSync(conformanceDir)
  ? [
      join(conformanceDir, "base", "manifests.yaml"),
      join(conformanceDir, "mesh", "manifests.yaml"),
      ...yamlFilesUnder(join(conformanceDir, "tests"))
    ].filter((file) => existsSync(file))
  : []

const decodedKinds = new Map<string, number>()

describe("conformance manifests", () => {
  it("finds the Gateway API conformance manifests", () => {
    expect(existsSync(conformanceDir), `no conformance manifests in ${conformanceDir} (set GATEWAY_API_DIR)`).toBe(true)
    expect(files.length).toBeGreaterThan(100)
  })

  it.each(files.map((file) => [relative(conformanceDir, file), file] as const))(
    "every document of %s decodes",
    (_, file) => {
      const outcomes = documentsOf(file).map(decodeResource)
      const invalid = outcomes.filter((outcome) => outcome._tag === "Invalid").map(describeOutcome)
      expect(invalid).toEqual([])
      for (const outcome of outcomes) {
        if (outcome._tag === "Decoded") {
          decodedKinds.set(outcome.resource.kind, (decodedKinds.get(outcome.resource.kind) ?? 0) + 1)
        } else if (outcome._tag === "Ignored") {
          expect(isGatewayApiKind(outcome.kind) && outcome.apiVersion.startsWith("gateway.networking.k8s.io/")).toBe(
            false
          )
        }
      }
    }
  )

  it("covered every kind that Portico reads", () => {
    for (const kind of [
      "GatewayClass",
      "Gateway",
      "HTTPRoute",
      "GRPCRoute",
      "TLSRoute",
      "TCPRoute",
      "UDPRoute",
      "ReferenceGrant",
      "BackendTLSPolicy",
      "ListenerSet",
      "Namespace",
      "Service",
      "EndpointSlice",
      "Secret",
      "ConfigMap"
    ]) {
      expect(decodedKinds.get(kind) ?? 0, kind).toBeGreaterThan(0)
    }
  })
})
