/**
 * Runs one conformance test's status expectations against translateObjects:
 * builds the input, evaluates the implicit and listed expectations on the
 * initial output, applies the mutations in order (re-running translate after
 * each) and evaluates the expectations marked afterMutation on the state they
 * refer to. Data-plane expectations (requests, weights) are only counted.
 */
import { type TranslateError, type TranslateOptions, translateObjects } from "../../src/reconcilers/Translate.ts"
import { type CheckResult, evaluateStatus, labelOf, type Outcome } from "./Checks.ts"
import { type ConformanceTest, findTest, loadExpectations } from "./Expectations.ts"
import {
  currentGenerationProblems,
  type ImplicitExpectation,
  implicitExpectations,
  setupExpectations
} from "./Implicit.ts"
import { applySetup, CONTROLLER_NAME, initialWorkingSet } from "./Input.ts"
import { applyMutation } from "./Mutations.ts"
import { describeRef, type Rec, WorkingSet } from "./Objects.ts"
import { StateView } from "./Status.ts"

export interface ExpectationResult {
  /** `statuses[3]`, `routes[0]`, `waitNamespacesReady`, ... */
  readonly id: string
  readonly label: string
  readonly implicit: boolean
  readonly afterMutation?: string
  readonly outcome: Outcome
  readonly problems: ReadonlyArray<string>
}

export interface DataPlaneCounts {
  readonly requests: number
  readonly weights: number
  readonly mirrorDistribution: number
  readonly infrastructure: number
}

export interface TestReport {
  readonly name: string
  /** Why the test body returns at once (skipIfSupported / skipUnlessSupported), if it does. */
  readonly skipped?: string
  readonly results: ReadonlyArray<ExpectationResult>
  /** Mutations not applied, objects translate rejected: context for the failures. */
  readonly notes: ReadonlyArray<string>
  readonly dataPlane: DataPlaneCounts
  /** Every checkable status expectation holds. */
  readonly passed: boolean
}

/**
 * Features Portico does not claim. Empty: Portico claims every feature, so
 * tests with skipIfSupported (e.g. TLSRouteListenerTerminateNotSupported,
 * which only runs for implementations without TLSRouteModeTerminate) return at
 * once, and tests with skipUnlessSupported run.
 */
export const UNCLAIMED_FEATURES: ReadonlySet<string> = new Set<string>()

const claims = (feature: string): boolean => !UNCLAIMED_FEATURES.has(feature)

export const skipReason = (test: ConformanceTest): string | undefined => {
  const claimed = (test.skipIfSupported ?? []).filter(claims)
  if (claimed.length > 0) return `skipIfSupported: Portico claims ${claimed.join(", ")}`
  const missing = (test.skipUnlessSupported ?? []).filter((f) => !claims(f))
  if (missing.length > 0) return `skipUnlessSupported: Portico does not claim ${missing.join(", ")}`
  return undefined
}

export const dataPlaneCounts = (test: ConformanceTest): DataPlaneCounts => ({
  requests: test.requests?.length ?? 0,
  weights: test.weights === undefined ? 0 : 1,
  mirrorDistribution: test.mirrorDistribution === undefined ? 0 : 1,
  infrastructure: test.infrastructure === undefined ? 0 : 1
})

/** The function under test (translateObjects unless a caller substitutes another, e.g. to test this harness). */
export type Translate = (
  objects: ReadonlyArray<unknown>,
  options: TranslateOptions
) => { readonly objects: ReadonlyArray<unknown>; readonly errors: ReadonlyArray<TranslateError> }

export interface RunOptions {
  readonly translate?: Translate
}

type State = { readonly view: StateView } | { readonly error: string }

/** translate on a snapshot of `set`; the errors it reports about our input become notes. */
const translateState = (translate: Translate, set: WorkingSet, notes: Array<string>, when: string): State => {
  const input: Array<Rec> = set.snapshot()
  try {
    const out = translate(input, { controllerName: CONTROLLER_NAME })
    for (const e of out.errors) {
      notes.push(
        `${when}: translate rejected ${describeRef({ kind: e.kind, namespace: e.namespace, name: e.name ?? `#${e.index}` })} at ${e.path}: ${e.message}`
      )
    }
    return { view: new StateView(input, out.objects) }
  } catch (error) {
    return { error: `translateObjects threw ${when}: ${error instanceof Error ? error.message : String(error)}` }
  }
}

const evaluateOn = (state: State | undefined, evaluate: (view: StateView) => CheckResult): CheckResult => {
  if (state === undefined) return { outcome: "fail", problems: ["the state it refers to could not be reached"] }
  if ("error" in state) return { outcome: "fail", problems: [state.error] }
  return evaluate(state.view)
}

const passedAll = (results: ReadonlyArray<ExpectationResult>): boolean => results.every((r) => r.outcome !== "fail")

const implicitResult = (e: ImplicitExpectation, state: State | undefined): ExpectationResult => ({
  id: e.id,
  label: e.label,
  implicit: true,
  ...evaluateOn(state, e.evaluate)
})

/** observedGeneration current on every condition we wrote, in every state the test reaches. */
const generationResult = (states: ReadonlyArray<State>, mutations: ReadonlyArray<{ readonly id: string }>) => {
  const problems = states.flatMap((state, index) => {
    const when = index === 0 ? "" : `[after ${mutations[index - 1]?.id}] `
    if ("error" in state) return index === 0 ? [state.error] : []
    return currentGenerationProblems(state.view).map((p) => `${when}${p}`)
  })
  return {
    id: "observedGeneration",
    label: "every condition has observedGeneration == metadata.generation",
    implicit: true,
    outcome: problems.length === 0 ? "pass" : "fail",
    problems
  } satisfies ExpectationResult
}

/** Runs the status expectations of the conformance test `name`. */
export const runConformanceTest = async (name: string, options: RunOptions = {}): Promise<TestReport> => {
  const translate = options.translate ?? translateObjects
  const test = findTest(name)
  const dataPlane = dataPlaneCounts(test)
  const skipped = skipReason(test)
  if (skipped !== undefined) return { name, skipped, results: [], notes: [], dataPlane, passed: true }

  const notes: Array<string> = []
  const set = await initialWorkingSet(test)
  const mutations = test.mutations ?? []
  const states: Array<State> = [translateState(translate, set, notes, "initially")]
  let broken: string | undefined
  mutations.forEach((mutation) => {
    if (broken !== undefined) {
      states.push({ error: broken })
      return
    }
    try {
      const outcome = applyMutation(set, mutation)
      if (outcome.note !== undefined) notes.push(`mutation ${mutation.id}: ${outcome.note}`)
      states.push(translateState(translate, set, notes, `after mutation ${mutation.id}`))
    } catch (error) {
      broken = error instanceof Error ? error.message : String(error)
      states.push({ error: broken })
    }
  })

  const results: Array<ExpectationResult> = implicitExpectations(test).map((e) => implicitResult(e, states[0]))
  results.push(generationResult(states, mutations))
  let stateIndex = 0
  ;(test.statuses ?? []).forEach((s, index) => {
    if (s.afterMutation !== undefined) stateIndex = mutations.findIndex((m) => m.id === s.afterMutation) + 1
    const id = `statuses[${index}]`
    const base = {
      id,
      label: labelOf(s),
      implicit: false,
      ...(s.afterMutation === undefined ? {} : { afterMutation: s.afterMutation })
    }
    if (stateIndex === 0 && s.afterMutation !== undefined) {
      results.push({ ...base, outcome: "fail", problems: [`unknown mutation ${s.afterMutation}`] })
      return
    }
    const state = states[stateIndex]
    const before = stateIndex > 0 ? states[stateIndex - 1] : undefined
    const previous = before !== undefined && "view" in before ? before.view : undefined
    results.push({ ...base, ...evaluateOn(state, (view) => evaluateStatus(s, view, previous)) })
  })
  return { name, results, notes, dataPlane, passed: passedAll(results) }
}

/** The pseudo-test of the suite setup (the GatewayClass and the base namespaces, before any test manifest). */
export const SETUP_TEST_NAME = "SuiteSetup"

export const runSetup = async (options: RunOptions = {}): Promise<TestReport> => {
  const set = new WorkingSet()
  await applySetup(set)
  const notes: Array<string> = []
  const state = translateState(options.translate ?? translateObjects, set, notes, "at setup")
  const { infra, appBackend, webBackend } = loadExpectations().namespaces
  const results = setupExpectations([infra, appBackend, webBackend]).map((e) => implicitResult(e, state))
  const dataPlane = { requests: 0, weights: 0, mirrorDistribution: 0, infrastructure: 0 }
  return { name: SETUP_TEST_NAME, results, notes, dataPlane, passed: passedAll(results) }
}

/** One line per failed expectation: `<Test>: <what> [after <mutation>]: <what was wanted and found>`. */
export const failureMessages = (report: TestReport): ReadonlyArray<string> =>
  report.results
    .filter((r) => r.outcome === "fail")
    .map(
      (r) =>
        `${report.name}: ${r.label}${r.afterMutation === undefined ? "" : ` [after ${r.afterMutation}]`}: ${r.problems.join("; ")}`
    )

/** Runs the conformance test `name` (or SuiteSetup) and returns its failed expectations, one message each. */
export const failedExpectations = async (name: string, options: RunOptions = {}): Promise<ReadonlyArray<string>> => {
  const report = name === SETUP_TEST_NAME ? await runSetup(options) : await runConformanceTest(name, options)
  return [...failureMessages(report), ...(report.passed ? [] : report.notes.map((n) => `${name}: note: ${n}`))]
}
