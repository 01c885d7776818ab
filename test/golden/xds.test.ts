/**
 * Golden tests of the xDS translators: every `test/golden/xds/<case>.in.yaml` is translated to
 * Envoy resources and compared with `<case>.out.yaml`, the `kind: XdsConfig` documents (one per
 * fleet) that `portico translate -f <case>.in.yaml --to xds` prints.
 *
 * An input is either Gateway API YAML (run through the whole pipeline, as the CLI does) or one
 * `kind: IR` document in the shape `portico translate --to ir` prints (only its `xds.fleets` are
 * read), for IR the reconcilers do not produce today but the translators must handle.
 *
 * Every case also checks protocol truth (test/support/xds.ts: binary and JSON round trips, PGV,
 * Envoy's own checks) and determinism (two translations, same bytes). `UPDATE_GOLDEN=1
 * node_modules/.bin/vitest run test/golden/xds` rewrites the outputs; review them against
 * Envoy's API docs before keeping them. Each `.in.yaml` starts with a comment saying what it checks.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import { outputDocuments, renderDocuments } from "../../src/cli/TranslateCommand.ts"
import type { FleetXds } from "../../src/ir/Xds.ts"
import { parseDocuments } from "../../src/providers/file/Documents.ts"
import { DEFAULT_CONTROLLER_NAME, translateObjects } from "../../src/reconcilers/Translate.ts"
import { xdsConfigDocument } from "../../src/xds/translate/ConfigDump.ts"
import { translateFleet } from "../../src/xds/translate/Fleet.ts"
import { assertRoundTrip } from "../support/xds.ts"

const repo = fileURLToPath(new URL("../..", import.meta.url))
const CASES_DIR = "test/golden/xds"
const casesPath = join(repo, CASES_DIR)
const update = process.env.UPDATE_GOLDEN === "1"

interface IrDocument {
  readonly kind: "IR"
  readonly xds: { readonly fleets: ReadonlyArray<FleetXds> }
}

const isIrDocument = (value: unknown): value is IrDocument =>
  typeof value === "object" &&
  value !== null &&
  (value as { kind?: unknown }).kind === "IR" &&
  Array.isArray((value as { xds?: { fleets?: unknown } }).xds?.fleets)

/** The fleets of a case, and the text `portico translate --to xds` prints for them. */
const runCase = (name: string): { readonly fleets: ReadonlyArray<FleetXds>; readonly text: string } => {
  const file = `${CASES_DIR}/${name}.in.yaml`
  const text = readFileSync(join(casesPath, `${name}.in.yaml`), "utf8")
  const parsed = parseDocuments(file, text)
  if (Result.isFailure(parsed)) throw new Error(`${file}: ${parsed.failure.message}`)
  const objects = parsed.success.map((document) => document.object)
  const ir = (objects as ReadonlyArray<unknown>).filter(isIrDocument)[0]
  if (ir !== undefined) {
    // An IR input (written by hand, in the printed IR's shape): the translators alone.
    return { fleets: ir.xds.fleets, text: renderDocuments(ir.xds.fleets.map((f) => xdsConfigDocument(translateFleet(f))), "yaml") }
  }
  const result = translateObjects(objects, { controllerName: DEFAULT_CONTROLLER_NAME })
  expect(result.errors, `${file}: schema errors`).toEqual([])
  return { fleets: result.ir.xds.fleets, text: renderDocuments(outputDocuments(result, ["xds"]), "yaml") }
}

const cases = readdirSync(casesPath)
  .filter((file) => file.endsWith(".in.yaml"))
  .map((file) => file.slice(0, -".in.yaml".length))
  .sort()

describe("xDS golden cases", () => {
  it("has at least 40 cases, each .out.yaml belongs to a case", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40)
    const outputs = readdirSync(casesPath).filter((file) => file.endsWith(".out.yaml"))
    const orphans = outputs.filter((file) => !cases.includes(file.slice(0, -".out.yaml".length)))
    expect(orphans, "every .out.yaml needs its .in.yaml (delete the stale ones)").toEqual([])
  })

  it.each(cases)("%s", (name) => {
    const input = readFileSync(join(casesPath, `${name}.in.yaml`), "utf8")
    expect(input.startsWith("# "), `${name}.in.yaml must start with a comment header saying what it checks`).toBe(true)
    const { fleets, text } = runCase(name)
    expect(fleets.length, "the case produces at least one fleet").toBeGreaterThan(0)
    for (const fleet of fleets) assertRoundTrip(translateFleet(fleet))
    // The printed documents are valid YAML, one per fleet.
    const printed = parseAllDocuments(text)
    for (const document of printed) expect(document.errors).toEqual([])
    expect(printed.map((d) => (d.toJS() as { fleet?: string }).fleet)).toEqual(fleets.map((f) => f.name))
    const outPath = join(casesPath, `${name}.out.yaml`)
    if (update) {
      writeFileSync(outPath, text)
      return
    }
    if (!existsSync(outPath)) {
      expect.fail(`${CASES_DIR}/${name}.out.yaml is missing: create it with UPDATE_GOLDEN=1, then review it`)
    }
    expect(text).toBe(readFileSync(outPath, "utf8"))
  })

  it("translates the same input to the same bytes twice", () => {
    for (const name of cases) expect(runCase(name).text).toBe(runCase(name).text)
  })
})
