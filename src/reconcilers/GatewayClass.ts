/**
 * GatewayClass reconciler: which classes are ours, and their status
 * (Accepted, SupportedVersion). Pure.
 */
import type { GatewayClass } from "../api/gatewayapi/GatewayClass.ts"
import { type Condition, ConditionType, makeCondition, Reason } from "../status/Conditions.ts"
import { GATEWAY_API_BUNDLE_VERSION } from "../Version.ts"
import type { ResourceSnapshot } from "./Snapshot.ts"

export interface GatewayClassResult {
  /** Names of the classes that are ours and Accepted. */
  readonly accepted: ReadonlySet<string>
  /** Names of every class that is ours (accepted or not). */
  readonly ours: ReadonlySet<string>
  readonly statuses: ReadonlyArray<{ readonly object: GatewayClass; readonly conditions: ReadonlyArray<Condition> }>
}

/** parametersRef kinds Portico understands (EnvoyProxy lands with the policy APIs). */
const SUPPORTED_PARAMETERS = new Set<string>()

export const reconcileGatewayClasses = (snapshot: ResourceSnapshot, controllerName: string): GatewayClassResult => {
  const accepted = new Set<string>()
  const ours = new Set<string>()
  const statuses: Array<{ object: GatewayClass; conditions: ReadonlyArray<Condition> }> = []
  for (const gc of snapshot.gatewayClasses) {
    if (gc.spec.controllerName !== controllerName) continue
    ours.add(gc.metadata.name)
    const gen = gc.metadata.generation
    const ref = gc.spec.parametersRef
    let acceptedCondition: Condition
    if (ref !== undefined && !SUPPORTED_PARAMETERS.has(`${ref.group}/${ref.kind}`)) {
      acceptedCondition = makeCondition(
        ConditionType.Accepted,
        "False",
        Reason.InvalidParameters,
        `parametersRef ${ref.group === "" ? "" : `${ref.group}/`}${ref.kind} ${ref.namespace === undefined ? "" : `${ref.namespace}/`}${ref.name} is not supported: Portico reads no parameters of this kind`,
        gen
      )
    } else {
      accepted.add(gc.metadata.name)
      acceptedCondition = makeCondition(ConditionType.Accepted, "True", Reason.Accepted, "Valid GatewayClass", gen)
    }
    statuses.push({
      object: gc,
      conditions: [
        acceptedCondition,
        makeCondition(
          ConditionType.SupportedVersion,
          "True",
          Reason.SupportedVersion,
          `Gateway API ${GATEWAY_API_BUNDLE_VERSION} is supported`,
          gen
        )
      ]
    })
  }
  return { accepted, ours, statuses }
}
