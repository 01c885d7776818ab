/**
 * The infrastructure IR: what each proxy fleet needs deployed (names, ports,
 * addresses, propagated labels and annotations). Consumed by the cdk8s charts.
 */

export interface InfraIR {
  readonly fleets: ReadonlyArray<FleetInfra>
}

export interface FleetInfra {
  /** `envoy-<gw-ns>-<gw>-<hash8>`. */
  readonly name: string
  readonly gateway: { readonly namespace: string; readonly name: string; readonly gatewayClassName: string }
  /** Service ports: one per distinct (port, transport) of the accepted listeners. */
  readonly ports: ReadonlyArray<{
    readonly name: string
    readonly protocol: "TCP" | "UDP"
    readonly port: number
    /** Listener ports below 1024 map to +10000 in the container. */
    readonly containerPort: number
  }>
  readonly addresses: ReadonlyArray<{ readonly type: string; readonly value: string }>
  /** From Gateway spec.infrastructure, propagated to every generated object. */
  readonly labels: { readonly [key: string]: string }
  readonly annotations: { readonly [key: string]: string }
}

export const containerPortFor = (port: number): number => (port < 1024 ? port + 10000 : port)
