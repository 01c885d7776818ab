/**
 * What the infrastructure says about a Gateway, folded into the status the reconcilers computed
 * (pure). The reconcilers decide whether a Gateway can be programmed; only the cluster knows
 * whether its fleet's Service got an address. So, in the Kubernetes provider:
 * - a Gateway the reconcilers call Programmed whose Service has no address yet is
 *   Programmed False/`AddressNotAssigned` (until the load balancer answers), with no addresses;
 * - once assigned, `status.addresses` are the Service's (IPAddress or Hostname), in its order;
 * - a Gateway already not programmed keeps its condition and gets the addresses that exist.
 * Without infrastructure information (standalone mode, or not applied yet) the status is unchanged.
 */
import { type Condition, ConditionType, makeCondition, Reason } from "./Conditions.ts"

export interface AssignedAddresses {
  /** The fleet Service's addresses (load balancer ingress, or cluster IP for ClusterIP Services). */
  readonly addresses: ReadonlyArray<{ readonly type: "IPAddress" | "Hostname"; readonly value: string }>
  readonly assigned: boolean
  /** The Service, for the message: `namespace/name`. */
  readonly service: string
}

interface GatewayStatusShape {
  readonly conditions?: ReadonlyArray<Condition>
  readonly addresses?: ReadonlyArray<{ readonly type?: string; readonly value: string }>
  readonly [key: string]: unknown
}

const isProgrammed = (c: Condition): boolean => c.type === ConditionType.Programmed && c.status === "True"

export const withAssignedAddresses = (status: unknown, infra: AssignedAddresses | undefined): unknown => {
  if (infra === undefined || typeof status !== "object" || status === null) return status
  const s = status as GatewayStatusShape
  const conditions = s.conditions ?? []
  const programmed = conditions.find(isProgrammed)
  if (programmed !== undefined && !infra.assigned) {
    return {
      ...s,
      addresses: [],
      conditions: conditions.map((c) =>
        c === programmed
          ? makeCondition(
              ConditionType.Programmed,
              "False",
              Reason.AddressNotAssigned,
              `waiting for an address: Service ${infra.service} has none assigned yet`,
              c.observedGeneration
            )
          : c
      )
    }
  }
  return { ...s, addresses: infra.addresses.map((a) => ({ type: a.type, value: a.value })) }
}
