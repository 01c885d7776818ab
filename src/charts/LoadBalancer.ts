/**
 * What a fleet's Service says about its Gateway's address (pure): the Service object as the API
 * server serves it, mapped to the Gateway's `status.addresses` and its `Programmed` condition.
 *
 * - A LoadBalancer Service has an address once its load balancer answers: every entry of
 *   `status.loadBalancer.ingress` (what a cloud controller or MetalLB writes through the status
 *   subresource) is one address, `IPAddress` when it has an `ip`, else `Hostname`. No entry yet
 *   means not assigned: Programmed False / `AddressNotAssigned`.
 * - A ClusterIP or NodePort Service (`FleetOptions.service.type`) has no load balancer; its cluster
 *   IPs (`spec.clusterIPs`, else `spec.clusterIP`; never the headless `None`) are the addresses,
 *   assigned as soon as the API server allocates them, i.e. when the Service is created.
 * - No Service (not applied yet, or a Gateway without ports): not assigned.
 *
 * The Service type is read from the object itself, not from configuration, so a Service applied
 * under an older configuration is still read correctly. The result is the `AssignedAddresses`
 * that `withAssignedAddresses` (src/status/GatewayAddresses.ts) folds into a Gateway status.
 */
import { Option, Schema } from "effect"
import { type Condition, ConditionType, makeCondition, Reason } from "../status/Conditions.ts"
import type { AssignedAddresses } from "../status/GatewayAddresses.ts"

/** One entry of a Gateway's `status.addresses`. */
export type GatewayAddress = AssignedAddresses["addresses"][number]

/** A fleet Service's addresses, with a sentence saying why they are (not) assigned. */
export interface ServiceAddresses extends AssignedAddresses {
  readonly message: string
}

const Ingress = Schema.Struct({
  ip: Schema.optionalKey(Schema.String),
  hostname: Schema.optionalKey(Schema.String)
})

/** The parts of a core/v1 Service this module reads (other keys are ignored). */
const ServiceView = Schema.Struct({
  metadata: Schema.Struct({ name: Schema.String, namespace: Schema.optionalKey(Schema.String) }),
  spec: Schema.optionalKey(
    Schema.Struct({
      type: Schema.optionalKey(Schema.String),
      clusterIP: Schema.optionalKey(Schema.String),
      clusterIPs: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.String)))
    })
  ),
  status: Schema.optionalKey(
    Schema.Struct({
      loadBalancer: Schema.optionalKey(
        Schema.Struct({ ingress: Schema.optionalKey(Schema.NullOr(Schema.Array(Ingress))) })
      )
    })
  )
})
const decodeService = Schema.decodeUnknownOption(ServiceView)

const serviceKey = (namespace: string | undefined, name: string): string =>
  namespace === undefined ? name : `${namespace}/${name}`

/** Distinct addresses, first occurrence wins (the Service's order is kept). */
const distinct = (addresses: ReadonlyArray<GatewayAddress>): ReadonlyArray<GatewayAddress> => {
  const seen = new Set<string>()
  return addresses.filter((a) => {
    const key = `${a.type}/${a.value}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** What a Gateway gets while its fleet has no Service (not applied yet, or no ports). */
export const missingService = (namespace: string, name: string, why = "does not exist yet"): ServiceAddresses => {
  const service = serviceKey(namespace, name)
  return { addresses: [], assigned: false, service, message: `Service ${service} ${why}` }
}

/** The addresses of a fleet Service (see the module doc); an object that is not a Service has none. */
export const serviceAddresses = (service: unknown): ServiceAddresses => {
  const decoded = decodeService(service)
  if (Option.isNone(decoded)) {
    return { addresses: [], assigned: false, service: "", message: "not a Service object" }
  }
  const { metadata, spec, status } = decoded.value
  const key = serviceKey(metadata.namespace, metadata.name)
  const type = spec?.type ?? "ClusterIP"
  if (type === "LoadBalancer") {
    const addresses = distinct(
      (status?.loadBalancer?.ingress ?? []).flatMap((entry): ReadonlyArray<GatewayAddress> => {
        if (entry.ip !== undefined && entry.ip !== "") return [{ type: "IPAddress", value: entry.ip }]
        if (entry.hostname !== undefined && entry.hostname !== "") return [{ type: "Hostname", value: entry.hostname }]
        return []
      })
    )
    return addresses.length > 0
      ? { addresses, assigned: true, service: key, message: `load balancer of Service ${key} assigned` }
      : { addresses, assigned: false, service: key, message: `Service ${key} has no load balancer address yet` }
  }
  if (type === "ClusterIP" || type === "NodePort") {
    const ips = spec?.clusterIPs ?? (spec?.clusterIP === undefined ? [] : [spec.clusterIP])
    const addresses = distinct(
      ips.filter((ip) => ip !== "" && ip !== "None").map((ip): GatewayAddress => ({ type: "IPAddress", value: ip }))
    )
    return addresses.length > 0
      ? { addresses, assigned: true, service: key, message: `cluster IP of Service ${key} assigned` }
      : { addresses, assigned: false, service: key, message: `Service ${key} has no cluster IP` }
  }
  return { addresses: [], assigned: false, service: key, message: `Service ${key} of type ${type} has no address` }
}

/**
 * The `Programmed` condition the fleet's addresses call for: True/`Programmed` once assigned,
 * else False/`AddressNotAssigned` with the reason in the message. Only meaningful for a Gateway
 * the reconcilers consider programmable (see `withAssignedAddresses`).
 */
export const programmedCondition = (infra: ServiceAddresses, observedGeneration: number): Condition =>
  infra.assigned
    ? makeCondition(
        ConditionType.Programmed,
        "True",
        Reason.Programmed,
        `Address assigned to the Gateway: ${infra.addresses.map((a) => a.value).join(", ")}`,
        observedGeneration
      )
    : makeCondition(
        ConditionType.Programmed,
        "False",
        Reason.AddressNotAssigned,
        `No address assigned to the Gateway yet: ${infra.message}`,
        observedGeneration
      )
