/**
 * A rule's backendRefs as one weighted destination: every ref resolved, the
 * invalid ones kept with their weight so their share answers 500, and the
 * first failure reported as the route's ResolvedRefs reason. Pure.
 */
import type { DestinationIR, DestinationSettingIR, HeaderMutationIR } from "../ir/Xds.ts"
import { type BackendRefInput, resolveBackendRef, type Transport } from "./Backends.ts"
import type { ResourceSnapshot } from "./Snapshot.ts"

export interface RefFailure {
  readonly reason: string
  readonly message: string
}

export interface WeightedRef extends BackendRefInput {
  readonly weight?: number
}

export const buildDestination = (
  snapshot: ResourceSnapshot,
  route: { readonly kind: string; readonly namespace: string },
  name: string,
  refs: ReadonlyArray<WeightedRef>,
  transport: Transport,
  perBackend?: (index: number) => { requestHeaders?: HeaderMutationIR; responseHeaders?: HeaderMutationIR }
): { readonly destination: DestinationIR; readonly failures: ReadonlyArray<RefFailure> } => {
  const failures: Array<RefFailure> = []
  const settings: Array<DestinationSettingIR> = refs.map((ref, i) => {
    const r = resolveBackendRef(snapshot, route, ref, transport)
    const extra = perBackend?.(i) ?? {}
    const weight = ref.weight ?? 1
    if (!r.ok) {
      if (r.reportInStatus !== false) failures.push({ reason: r.reason, message: r.message })
      return {
        weight,
        backend: r.backend,
        invalid: { reason: r.reason, message: r.message },
        protocol: transport === "UDP" ? "UDP" : transport === "TCP" ? "TCP" : transport === "GRPC" ? "HTTP2" : "HTTP",
        endpoints: [],
        ...extra
      }
    }
    return {
      weight,
      backend: r.backend,
      protocol: r.protocol,
      ...(r.appProtocol === undefined ? {} : { appProtocol: r.appProtocol }),
      endpoints: r.endpoints,
      ...(r.tls === undefined ? {} : { tls: r.tls }),
      ...extra
    }
  })
  return { destination: { name, settings }, failures }
}
