/**
 * How an IR destination becomes clusters and a traffic split. Pure.
 *
 * Cluster names (DESIGN.md section 2 names a cluster after its route rule):
 * - a destination with one backend: one cluster named after the destination
 *   (`httproute/<ns>/<name>/rule/<i>`);
 * - a destination with several backends: one cluster per valid backend, named
 *   `<destination>/backend/<i>` (`i` = the backendRef's index in the rule), and the route splits
 *   traffic between them by weight. A cluster is per backend because what makes a cluster (its
 *   endpoints, HTTP/2, TLS to the backend) is per backend; the index keeps names stable when
 *   weights change. Weight-0 backends still get their cluster (no traffic, but warm for the
 *   next weight shift);
 * - UDP: udp_proxy routes to one cluster, so a UDP destination is always one cluster named after
 *   the destination, with one locality per backend weighted by the backend's weight.
 *
 * Invalid backends (`invalid` set: not found, not permitted, ...) get no cluster. Their share of
 * the traffic goes to INVALID_BACKEND_CLUSTER, a cluster name that is never defined: Envoy answers
 * a request routed to an unknown cluster with the route's `cluster_not_found_response_code`, which
 * Route.ts sets to 500 (Gateway API: "the proportion of requests that would otherwise have been
 * routed to an invalid backend MUST receive a 500"); tcp_proxy and udp_proxy close the connection /
 * drop the datagrams of that share.
 */
import type { DestinationIR, DestinationSettingIR } from "../../ir/Xds.ts"
import { INVALID_BACKEND_CLUSTER } from "../Resources.ts"

export { INVALID_BACKEND_CLUSTER }

/** One backend of a cluster, with its weight in the destination. */
export interface ClusterBackend {
  readonly setting: DestinationSettingIR
  readonly weight: number
}

/** A cluster to emit: its name and the backends whose endpoints it holds. */
export interface ClusterPlan {
  readonly name: string
  readonly backends: ReadonlyArray<ClusterBackend>
  /** More than one backend: one locality per backend, weighted (UDP only). */
  readonly localityWeighted: boolean
}

/** One share of the traffic: a cluster and its weight (`setting` unset for the invalid share). */
export interface TrafficShare {
  readonly cluster: string
  readonly weight: number
  readonly setting?: DestinationSettingIR
}

export interface DestinationPlan {
  readonly clusters: ReadonlyArray<ClusterPlan>
  /** Shares with weight > 0: valid backends in backendRef order, then the invalid share if any. */
  readonly shares: ReadonlyArray<TrafficShare>
  /** The summed weight of invalid backends (their share answers 500). */
  readonly invalidWeight: number
}

/** The cluster name of the backend at `index` of `destination`. */
export const backendClusterName = (destination: DestinationIR, index: number): string =>
  destination.settings.length === 1 ? destination.name : `${destination.name}/backend/${index}`

const invalidShare = (settings: ReadonlyArray<DestinationSettingIR>): number =>
  settings.filter((s) => s.invalid !== undefined).reduce((sum, s) => sum + s.weight, 0)

/** HTTP and TCP: one cluster per valid backend, a share per backend with weight > 0. */
export const planDestination = (destination: DestinationIR): DestinationPlan => {
  const clusters: Array<ClusterPlan> = []
  const shares: Array<TrafficShare> = []
  destination.settings.forEach((setting, index) => {
    if (setting.invalid !== undefined) return
    const name = backendClusterName(destination, index)
    clusters.push({ name, backends: [{ setting, weight: setting.weight }], localityWeighted: false })
    if (setting.weight > 0) shares.push({ cluster: name, weight: setting.weight, setting })
  })
  const invalidWeight = invalidShare(destination.settings)
  if (invalidWeight > 0) shares.push({ cluster: INVALID_BACKEND_CLUSTER, weight: invalidWeight })
  return { clusters, shares, invalidWeight }
}

/** UDP: one cluster for the whole destination (weighted localities when several backends). */
export const planUdpDestination = (destination: DestinationIR): DestinationPlan => {
  const backends = destination.settings
    .filter((setting) => setting.invalid === undefined && setting.weight > 0)
    .map((setting) => ({ setting, weight: setting.weight }))
  const invalidWeight = invalidShare(destination.settings)
  if (backends.length === 0) {
    return { clusters: [], shares: [{ cluster: INVALID_BACKEND_CLUSTER, weight: 1 }], invalidWeight }
  }
  const cluster: ClusterPlan = { name: destination.name, backends, localityWeighted: backends.length > 1 }
  return { clusters: [cluster], shares: [{ cluster: destination.name, weight: 1 }], invalidWeight }
}
