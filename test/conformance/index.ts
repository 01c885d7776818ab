/**
 * The Gateway API conformance status check, for debugging one test from a
 * scratch script:
 *
 *   import { failedExpectations } from "./test/conformance/index.ts"
 *   console.log((await failedExpectations("HTTPRouteSimpleSameNamespace")).join("\n"))
 */
export { loadExpectations } from "./Expectations.ts"
export { CONTROLLER_NAME, SUITE_GATEWAY_CLASS, UNUSABLE_ADDRESSES, USABLE_ADDRESSES } from "./Input.ts"
export {
  type ExpectationResult,
  failedExpectations,
  failureMessages,
  type RunOptions,
  runConformanceTest,
  runSetup,
  SETUP_TEST_NAME,
  type TestReport,
  type Translate
} from "./Runner.ts"
