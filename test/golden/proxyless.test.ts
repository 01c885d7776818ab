/**
 * Golden tests of what proxyless gRPC clients are served (src/xds/Proxyless.ts): every
 * `test/golden/proxyless/<case>.in.yaml` (Gateway API YAML) runs through the whole pipeline and
 * `<case>.out.yaml` holds, per fleet, the API listeners, their route configurations and the
 * clusters and endpoints those routes name, as config-dump JSON, plus `grpcRejections`: every one
 * of those resources that gRPC's own validators (grpc-js-xds 1.14.1, test/support/grpcValidation.ts)
 * would NACK, with the error. Today only clusters with upstream TLS are rejected (gRPC accepts
 * certificates only through certificate provider instances); a rejection anywhere else is a bug.
 *
 * Every resource also passes the protocol checks of test/support/xds.ts. `UPDATE_GOLDEN=1
 * node_modules/.bin/vitest run test/golden/proxyless` rewrites the outputs; review them.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { renderDocuments } from "../../src/cli/TranslateCommand.ts"
import { parseDocuments } from "../../src/providers/file/Documents.ts"
import { DEFAULT_CONTROLLER_NAME, translateObjects } from "../../src/reconcilers/Translate.ts"
import { proxylessResources } from "../../src/xds/Proxyless.ts"
import type { FleetResources } from "../../src/xds/Resources.ts"
import { xdsConfigDocument } from "../../src/xds/translate/ConfigDump.ts"
import { translateFleet } from "../../src/xds/translate/Fleet.ts"
import { grpcRejection } from "../support/grpcValidation.ts"
import { assertRoundTrip } from "../support/xds.ts"

const repo = fileURLToPath(new URL("../..", import.meta.url))
const CASES_DIR = "test/golden/proxyless"
const casesPath = join(repo, CASES_DIR)
const update = process.env.UPDATE_GOLDEN === "1"

/** The clusters the routes of `resources` name (single or weighted). */
const namedClusters = (resources: Pick<FleetResources, "routes">): ReadonlySet<string> => {
  const names = new Set<string>()
  for (const config of resources.routes)
    for (const vh of config.virtualHosts)
      for (const route of vh.routes) {
        if (route.action.case !== "route") continue
        const specifier = route.action.value.clusterSpecifier
        if (specifier.case === "cluster") names.add(specifier.value)
        if (specifier.case === "weightedClusters") for (const c of specifier.value.clusters) names.add(c.name)
      }
  return names
}

/** What a gRPC client of the fleet is served: API listeners, their routes, and what those name. */
const servedToGrpc = (fleetResources: FleetResources, extra: ReturnType<typeof proxylessResources>): FleetResources => {
  const clusters = namedClusters(extra)
  return {
    fleet: fleetResources.fleet,
    listeners: extra.listeners,
    routes: extra.routes,
    clusters: [...fleetResources.clusters, ...extra.clusters].filter((c) => clusters.has(c.name)),
    endpoints: [...fleetResources.endpoints, ...extra.endpoints].filter((e) => clusters.has(e.clusterName)),
    // gRPC reads no SDS; the fleet's secrets are here because the TLS clusters name them.
    secrets: clusters.size === 0 ? [] : fleetResources.secrets
  }
}

const rejections = (served: FleetResources): Array<{ readonly resource: string; readonly error: string }> => [
  ...served.listeners.map((r) => ({ resource: `listener ${r.name}`, error: grpcRejection("listener", r) })),
  ...served.routes.map((r) => ({ resource: `route ${r.name}`, error: grpcRejection("route", r) })),
  ...served.clusters.map((r) => ({ resource: `cluster ${r.name}`, error: grpcRejection("cluster", r) })),
  ...served.endpoints.map((r) => ({ resource: `endpoint ${r.clusterName}`, error: grpcRejection("endpoint", r) }))
].flatMap(({ resource, error }) => (error === undefined ? [] : [{ resource, error }]))

const runCase = (name: string) => {
  const file = `${CASES_DIR}/${name}.in.yaml`
  const parsed = parseDocuments(file, readFileSync(join(casesPath, `${name}.in.yaml`), "utf8"))
  if (Result.isFailure(parsed)) throw new Error(`${file}: ${parsed.failure.message}`)
  const result = translateObjects(
    parsed.success.map((document) => document.object),
    { controllerName: DEFAULT_CONTROLLER_NAME }
  )
  expect(result.errors, `${file}: schema errors`).toEqual([])
  const fleets = result.ir.xds.fleets.map((fleet) => {
    const resources = translateFleet(fleet)
    const served = servedToGrpc(resources, proxylessResources(fleet))
    return { served, rejections: rejections(served) }
  })
  const text = renderDocuments(
    fleets.map(({ served, rejections }) => ({ ...xdsConfigDocument(served), grpcRejections: rejections })),
    "yaml"
  )
  return { fleets, text }
}

const cases = readdirSync(casesPath)
  .filter((file) => file.endsWith(".in.yaml"))
  .map((file) => file.slice(0, -".in.yaml".length))
  .sort()

describe("proxyless gRPC golden cases", () => {
  it("has cases, each .out.yaml belongs to a case", () => {
    expect(cases.length).toBeGreaterThanOrEqual(6)
    const outputs = readdirSync(casesPath).filter((file) => file.endsWith(".out.yaml"))
    expect(outputs.filter((file) => !cases.includes(file.slice(0, -".out.yaml".length)))).toEqual([])
  })

  it.each(cases)("%s", (name) => {
    const input = readFileSync(join(casesPath, `${name}.in.yaml`), "utf8")
    expect(input.startsWith("# "), `${name}.in.yaml must start with a comment saying what it checks`).toBe(true)
    const { fleets, text } = runCase(name)
    for (const { served, rejections } of fleets) {
      assertRoundTrip(served)
      // gRPC rejects nothing but upstream TLS clusters (see the module comment).
      for (const rejection of rejections) {
        expect(rejection.resource).toMatch(/^cluster /)
        expect(rejection.error).toContain("ca_certificate_provider_instance unset")
      }
    }
    const outPath = join(casesPath, `${name}.out.yaml`)
    if (update) {
      writeFileSync(outPath, text)
      return
    }
    if (!existsSync(outPath)) expect.fail(`${CASES_DIR}/${name}.out.yaml is missing: create it with UPDATE_GOLDEN=1`)
    expect(text).toBe(readFileSync(outPath, "utf8"))
  })
})
