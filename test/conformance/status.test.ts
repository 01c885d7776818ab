/**
 * Gateway API v1.6.1 conformance, status part: one test per conformance test of
 * expectations.yaml (GATEWAY_API_DIR), checking every status expectation of it
 * against translateObjects. Tests listed in known-failures.txt must fail; a
 * listed test that passes fails the suite, so the list always equals reality.
 * UPDATE_KNOWN_FAILURES=1 rewrites the list from the results of a full run.
 */
import { afterAll, describe, it } from "vitest"
import { loadExpectations } from "./Expectations.ts"
import { KNOWN_FAILURES_FILE, readKnownFailures, writeKnownFailures } from "./KnownFailures.ts"
import {
  dataPlaneCounts,
  failureMessages,
  runConformanceTest,
  runSetup,
  SETUP_TEST_NAME,
  skipReason,
  type TestReport
} from "./Runner.ts"

const expectations = loadExpectations()
const known = readKnownFailures()
const updating = process.env.UPDATE_KNOWN_FAILURES === "1"
const reports = new Map<string, TestReport>()
const runnable = expectations.tests.filter((t) => skipReason(t) === undefined)

const verdict = (report: TestReport): void => {
  reports.set(report.name, report)
  if (updating) return
  const listed = known.has(report.name)
  if (listed && report.passed) {
    throw new Error(
      `remove ${report.name} from known-failures.txt: all its checkable status expectations hold now (${KNOWN_FAILURES_FILE})`
    )
  }
  if (!listed && !report.passed) {
    const notes = report.notes.map((n) => `${report.name}: note: ${n}`)
    throw new Error([...failureMessages(report), ...notes].join("\n"))
  }
}

const sum = (pick: (r: TestReport) => number): number => [...reports.values()].reduce((n, r) => n + pick(r), 0)

const summary = (): ReadonlyArray<string> => {
  const tests = [...reports.values()].filter((r) => r.name !== SETUP_TEST_NAME && r.skipped === undefined)
  const results = tests.flatMap((r) => r.results)
  const checked = results.filter((r) => r.outcome !== "unchecked")
  const held = checked.filter((r) => r.outcome === "pass").length
  const unchecked = results.filter((r) => r.outcome === "unchecked")
  const skipped = [...reports.values()].filter((r) => r.skipped !== undefined)
  const setup = reports.get(SETUP_TEST_NAME)
  const implicit = checked.filter((r) => r.implicit).length
  return [
    `conformance status: ${tests.filter((r) => r.passed).length}/${tests.length} tests pass, ${held}/${checked.length} status expectations hold`,
    `  (${checked.length - implicit} listed + ${implicit} implicit expectations; suite setup ${setup === undefined ? "not run" : setup.passed ? "holds" : "fails"}; ${known.size} entries in known-failures.txt)`,
    ...(skipped.length === 0 ? [] : [`  skipped: ${skipped.map((r) => `${r.name} (${r.skipped})`).join(", ")}`]),
    ...(unchecked.length === 0
      ? []
      : [
          `  not checkable here: ${unchecked.length} (${[...new Set(unchecked.flatMap((r) => r.problems))].join("; ")})`
        ]),
    `  data plane, not checked here: ${sum((r) => r.dataPlane.requests)} requests, ${sum((r) => r.dataPlane.weights)} weighted-distribution checks, ${sum((r) => r.dataPlane.mirrorDistribution)} mirror-distribution checks, ${sum((r) => r.dataPlane.infrastructure)} infrastructure checks`
  ]
}

describe("Gateway API conformance: status", () => {
  it(SETUP_TEST_NAME, async () => {
    verdict(await runSetup())
  })

  for (const test of expectations.tests) {
    const skipped = skipReason(test)
    if (skipped !== undefined) {
      it.skip(`${test.name} (${skipped})`, () => {})
      reports.set(test.name, {
        name: test.name,
        skipped,
        results: [],
        notes: [],
        dataPlane: dataPlaneCounts(test),
        passed: true
      })
      continue
    }
    it(test.name, async () => {
      verdict(await runConformanceTest(test.name))
    })
  }

  it("known-failures.txt names only tests that run", () => {
    if (updating) return
    const names = new Set([SETUP_TEST_NAME, ...runnable.map((t) => t.name)])
    const stale = [...known.keys()].filter((name) => !names.has(name))
    if (stale.length > 0) throw new Error(`remove from known-failures.txt (no such runnable test): ${stale.join(", ")}`)
  })

  afterAll(() => {
    console.log(summary().join("\n"))
    if (!updating) return
    const ran = runnable.filter((t) => reports.has(t.name)).length
    if (ran !== runnable.length || !reports.has(SETUP_TEST_NAME)) {
      console.log(
        `UPDATE_KNOWN_FAILURES: not rewriting ${KNOWN_FAILURES_FILE}: only ${ran}/${runnable.length} tests ran`
      )
      return
    }
    const failing = [...reports.values()].filter((r) => !r.passed)
    writeKnownFailures(failing)
    console.log(`UPDATE_KNOWN_FAILURES: wrote ${failing.length} entries to ${KNOWN_FAILURES_FILE}`)
  })
})
