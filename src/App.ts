/**
 * Layer wiring of `portico serve --provider kubernetes` (no logic here). Every replica runs the
 * provider, pipeline, snapshot cache, ADS and admin servers; the LeaderElection gates the
 * InfraApplier's rounds (Controller.ts) and the StatusWriter's writes.
 */
import { Effect, Layer } from "effect"
import { AdminServer } from "./admin/AdminServer.ts"
import { StatusSource } from "./admin/StatusSource.ts"
import { CONTROLLER_NAMESPACE } from "./charts/ControllerInstall.ts"
import type { FleetLayout } from "./charts/EnvoyFleet.ts"
import { InfraApplier } from "./charts/InfraApplier.ts"
import { Pipeline } from "./Pipeline.ts"
import { KubeClient } from "./providers/kubernetes/KubeClient.ts"
import { LeaderElection } from "./providers/kubernetes/LeaderElection.ts"
import { KubernetesProvider } from "./providers/kubernetes/Provider.ts"
import { StatusWriter } from "./status/StatusWriter.ts"
import { AdsServer } from "./xds/AdsServer.ts"
import { ControllerCa } from "./xds/ControllerCa.ts"
import { SnapshotCache } from "./xds/SnapshotCache.ts"
import { fleetNamespaceByLayout, XdsAuth } from "./xds/XdsAuth.ts"

export interface KubernetesOptions {
  readonly controllerName: string
  readonly xdsAddress: string
  readonly adminAddress: string
  /** A kubeconfig file; default: in-cluster config, else the default kubeconfig. */
  readonly kubeconfig?: string
  /** The controller's namespace (Lease; fleets in the Envoy Gateway layout). */
  readonly namespace?: string
  readonly layout?: FleetLayout
  /** false: this replica always leads (one replica, or tests). */
  readonly leaderElection?: boolean
  /**
   * Secure xDS (default true): ADS over TLS from the controller's CA, each Envoy's ServiceAccount
   * token verified (TokenReview) and bound to its own fleet; the CA bundle and token wiring go
   * into every fleet's bootstrap. false: plaintext and unauthenticated (debugging only).
   */
  readonly secureXds?: boolean
}

/** The pipeline's view as /status and /readyz see it: ready after the first applied snapshot. */
export const pipelineStatusSource = Layer.effect(
  StatusSource,
  Effect.map(Effect.service(Pipeline), (pipeline) => ({
    current: Effect.map(pipeline.view, (view) => ({
      ready: view.ready,
      ...(view.ready ? {} : { reason: "waiting for the initial list of every watched kind" }),
      generation: view.generation,
      errors: view.errors,
      objects: view.objects
    }))
  }))
)

export const kubernetesLayer = (options: KubernetesOptions) => {
  const namespace = options.namespace ?? CONTROLLER_NAMESPACE
  const kube = options.kubeconfig === undefined ? KubeClient.layerDefault : KubeClient.layerFromFile(options.kubeconfig)
  const election =
    options.leaderElection === false ? LeaderElection.layerAlwaysLeader : LeaderElection.layer({ namespace })
  const writer = Layer.unwrap(
    Effect.map(Effect.service(LeaderElection), (e) =>
      StatusWriter.layer({ controllerName: options.controllerName, leader: e.isLeader })
    )
  )
  const core = Pipeline.layer({ controllerName: options.controllerName }).pipe(Layer.provideMerge(SnapshotCache.layer))
  const layout = options.layout ?? "GatewayNamespace"
  const plainAds = Layer.mergeAll(
    AdsServer.layer({ address: options.xdsAddress }),
    InfraApplier.layer({ controllerNamespace: namespace, layout })
  )
  // Secure: the CA (shared by replicas through its Secret) serves ADS and goes into bootstraps.
  const secureAds = Layer.unwrap(
    Effect.gen(function* () {
      const ca = yield* ControllerCa
      const auth = yield* XdsAuth
      const serving = yield* ca.serving
      const bundle = yield* ca.bundle
      return Layer.mergeAll(
        AdsServer.layer({
          address: options.xdsAddress,
          tls: { ...serving, updates: ca.servingChanges },
          authenticate: auth.authenticate
        }),
        InfraApplier.layer({ controllerNamespace: namespace, layout, xdsCaPem: bundle })
      )
    })
  ).pipe(
    Layer.provide(
      Layer.mergeAll(
        ControllerCa.layer({ namespace }),
        XdsAuth.layer({ fleetNamespaceOf: fleetNamespaceByLayout(layout, namespace) })
      )
    )
  )
  return Layer.mergeAll(
    KubernetesProvider.layer(),
    options.secureXds === false ? plainAds : secureAds,
    writer,
    AdminServer.layer({ address: options.adminAddress }).pipe(Layer.provide(pipelineStatusSource))
  ).pipe(Layer.provideMerge(election), Layer.provideMerge(core), Layer.provideMerge(kube))
}
