/**
 * test/conformance/known-failures.txt: the conformance tests whose status
 * expectations do not hold yet, one `<TestName>: <short reason>` per line
 * (lines starting with # are comments). The suite keeps it equal to reality.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { TestReport } from "./Runner.ts"

export const KNOWN_FAILURES_FILE = join(dirname(fileURLToPath(import.meta.url)), "known-failures.txt")

const HEADER = [
  "# Gateway API conformance tests whose status expectations do not hold yet: `<TestName>: <short reason>`.",
  "# The conformance suite fails when a listed test passes or an unlisted one fails.",
  "# Regenerate from the current results: UPDATE_KNOWN_FAILURES=1 node_modules/.bin/vitest run test/conformance"
]

/** name -> reason. A missing file is an empty list. */
export const readKnownFailures = (file: string = KNOWN_FAILURES_FILE): ReadonlyMap<string, string> => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch {
    return new Map()
  }
  const out = new Map<string, string>()
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#")) continue
    const colon = line.indexOf(":")
    const name = (colon < 0 ? line : line.slice(0, colon)).trim()
    out.set(name, colon < 0 ? "" : line.slice(colon + 1).trim())
  }
  return out
}

const MAX_REASON = 220

/** A one-line reason: how many expectations fail and the first of them. */
export const shortReason = (report: TestReport): string => {
  const failed = report.results.filter((r) => r.outcome === "fail")
  const first = failed[0]
  const after = first?.afterMutation === undefined ? "" : ` [after ${first.afterMutation}]`
  const firstText = first === undefined ? "fails" : `${first.label}${after}: ${first.problems[0] ?? ""}`
  const reason = `${failed.length}/${report.results.length} expectations fail; first: ${firstText}`.replaceAll(
    "\n",
    " "
  )
  return reason.length <= MAX_REASON ? reason : `${reason.slice(0, MAX_REASON - 3)}...`
}

/** Rewrites the file from `failing` reports, sorted by test name. */
export const writeKnownFailures = (failing: ReadonlyArray<TestReport>, file: string = KNOWN_FAILURES_FILE): void => {
  const lines = [...failing]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((r) => `${r.name}: ${shortReason(r)}`)
  writeFileSync(file, `${[...HEADER, ...lines].join("\n")}\n`)
}
