/**
 * `portico serve`: the long-running control plane. Standalone (`--provider file`, the default):
 * watch a folder of Gateway API YAML, run the pipeline on every change, serve xDS to Envoy (and
 * to proxyless gRPC clients) on 127.0.0.1:18000.
 */
import { Config, Effect, Layer, Option, Schema, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { kubernetesLayer, pipelineStatusSource } from "../App.ts"
import { AdminServer } from "../admin/AdminServer.ts"
import { runController } from "../Controller.ts"
import { CONTROLLER_NAMESPACE } from "../charts/ControllerInstall.ts"
import { Pipeline, type PipelineView } from "../Pipeline.ts"
import { Documents } from "../providers/file/Documents.ts"
import { type FileBatch, FileProvider, type FileProviderOptions } from "../providers/file/FileProvider.ts"
import { DEFAULT_CONTROLLER_NAME } from "../reconcilers/Translate.ts"
import { AdsServer } from "../xds/AdsServer.ts"
import { DEFAULT_XDS_ADDRESS, parseHostPort } from "../xds/Bootstrap.ts"
import { SnapshotCache } from "../xds/SnapshotCache.ts"

const HostPort = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) => parseHostPort(s) !== undefined || "expected host:port, e.g. 127.0.0.1:18000")
  )
)

export interface StandaloneOptions {
  readonly path: string
  readonly xdsAddress: string
  readonly controllerName: string
  /** How the folder is watched (defaults: 100 ms quiet period, re-scan every 5 s). */
  readonly watch?: FileProviderOptions
  /** The admin HTTP server (health, metrics, config dump, statuses). */
  readonly adminAddress: string
}

/**
 * Standalone's admin address: not 19000, which the Envoy started next to it (`portico bootstrap`)
 * binds for its own admin on the same machine.
 */
export const STANDALONE_ADMIN_ADDRESS = "127.0.0.1:19100"

/** One line per applied batch: what changed and how many problems. */
export const summarize = (view: PipelineView, batch: FileBatch): string => {
  const changed = view.changedFleets.length === 0 ? "no fleet changed" : `updated ${view.changedFleets.join(", ")}`
  const problems = view.errors.length === 0 ? "no problems" : `${view.errors.length} problem(s), see above`
  return `generation ${view.generation}: ${batch.files} file(s), ${view.objects.length} Gateway API object(s), ${view.fleets.length} fleet(s); ${changed}; ${problems}`
}

/** Runs the standalone loop until interrupted: file batches -> pipeline -> snapshot cache -> ADS. */
export const runStandalone = (options: StandaloneOptions) =>
  Effect.gen(function* () {
    const ads = yield* AdsServer
    const provider = yield* FileProvider
    const pipeline = yield* Pipeline
    const admin = yield* AdminServer
    yield* Effect.logInfo(
      `serving xDS (ADS, SotW and delta) on ${ads.address}; admin on http://${admin.address} (/status, /config_dump, /metrics); watching ${options.path}`
    )
    yield* provider.watch(options.path, options.watch).pipe(
      Stream.runForEach((batch) =>
        Effect.gen(function* () {
          const { view } = yield* pipeline.apply({
            objects: batch.documents.map((document) => document.object),
            origins: batch.documents,
            sourceErrors: batch.errors
          })
          for (const error of view.errors)
            yield* Effect.logWarning(
              error.message.startsWith(error.source) ? error.message : `${error.source}: ${error.message}`
            )
          yield* Effect.logInfo(summarize(view, batch))
        })
      )
    )
  })

/** The layers of standalone mode (file provider, pipeline, snapshot cache, ADS and admin servers). */
export const standaloneLayer = (options: StandaloneOptions) =>
  Layer.mergeAll(
    FileProvider.layer.pipe(Layer.provide(Documents.layer)),
    AdsServer.layer({ address: options.xdsAddress }),
    AdminServer.layer({ address: options.adminAddress }).pipe(Layer.provide(pipelineStatusSource))
  ).pipe(
    Layer.provideMerge(Pipeline.layer({ controllerName: options.controllerName })),
    Layer.provideMerge(SnapshotCache.layer)
  )

/** Default listen addresses in a cluster: all interfaces (the Service routes to the pod). */
export const CLUSTER_XDS_ADDRESS = "0.0.0.0:18000"
export const CLUSTER_ADMIN_ADDRESS = "0.0.0.0:19000"

export const serveCommand = Command.make(
  "serve",
  {
    provider: Flag.Literals("provider", ["auto", "file", "kubernetes"]).pipe(
      Flag.withDescription(
        "Where resources come from: file (standalone: a folder of Gateway API YAML) or kubernetes (watch the cluster). auto (default): kubernetes inside a cluster or with --kubeconfig, else file"
      ),
      Flag.withDefault("auto")
    ),
    path: Flag.String("path").pipe(
      Flag.withAlias("p"),
      Flag.withDescription("The folder (or file) of Gateway API YAML to watch, with --provider file"),
      Flag.withDefault("examples/standalone")
    ),
    kubeconfig: Flag.String("kubeconfig").pipe(
      Flag.withDescription(
        "kubeconfig file for --provider kubernetes (default: in-cluster config, else ~/.kube/config)"
      ),
      Flag.optional
    ),
    namespace: Flag.String("namespace").pipe(
      Flag.withDescription(
        `The controller's namespace: its leader Lease, and every fleet with --layout controller-namespace (default ${CONTROLLER_NAMESPACE})`
      ),
      Flag.withDefault(CONTROLLER_NAMESPACE)
    ),
    layout: Flag.Literals("layout", ["gateway-namespace", "controller-namespace"]).pipe(
      Flag.withDescription(
        "Where fleets live: gateway-namespace (default; each in its Gateway's namespace, GEP-1762) or controller-namespace (Envoy Gateway's layout)"
      ),
      Flag.withDefault("gateway-namespace")
    ),
    leaderElection: Flag.Boolean("leader-election").pipe(
      Flag.withDescription(
        "Elect one replica (Lease) to write statuses and infrastructure (default true; --no-leader-election for a single replica)"
      ),
      Flag.withDefault(true)
    ),
    xdsAddress: Flag.String("xds-address").pipe(
      Flag.withDescription(
        `host:port the ADS server listens on (default ${DEFAULT_XDS_ADDRESS} standalone, plaintext: keep it on loopback; ${CLUSTER_XDS_ADDRESS} with kubernetes)`
      ),
      Flag.withSchema(HostPort),
      Flag.optional
    ),
    adminAddress: Flag.String("admin-address").pipe(
      Flag.withDescription(
        `host:port of the admin HTTP server: /healthz /readyz /metrics /status /config_dump (default ${STANDALONE_ADMIN_ADDRESS} standalone, where the Envoy next to it uses 19000; ${CLUSTER_ADMIN_ADDRESS} with kubernetes)`
      ),
      Flag.withSchema(HostPort),
      Flag.optional
    ),
    controllerName: Flag.String("controller-name").pipe(
      Flag.withDescription(`The GatewayClass controllerName Portico answers to (default ${DEFAULT_CONTROLLER_NAME})`),
      Flag.withDefault(DEFAULT_CONTROLLER_NAME)
    )
  },
  Effect.fnUntraced(function* (flags) {
    const inCluster = Option.isSome(yield* Config.option(Config.String("KUBERNETES_SERVICE_HOST")))
    const provider =
      flags.provider === "auto"
        ? inCluster || Option.isSome(flags.kubeconfig)
          ? "kubernetes"
          : "file"
        : flags.provider
    if (provider === "file") {
      const options: StandaloneOptions = {
        path: flags.path,
        xdsAddress: Option.getOrElse(flags.xdsAddress, () => DEFAULT_XDS_ADDRESS),
        adminAddress: Option.getOrElse(flags.adminAddress, () => STANDALONE_ADMIN_ADDRESS),
        controllerName: flags.controllerName
      }
      return yield* runStandalone(options).pipe(Effect.provide(standaloneLayer(options)))
    }
    yield* Effect.logInfo(
      `provider kubernetes: controller ${flags.controllerName}, namespace ${flags.namespace}, layout ${flags.layout}`
    )
    yield* runController().pipe(
      Effect.provide(
        kubernetesLayer({
          controllerName: flags.controllerName,
          xdsAddress: Option.getOrElse(flags.xdsAddress, () => CLUSTER_XDS_ADDRESS),
          adminAddress: Option.getOrElse(flags.adminAddress, () => CLUSTER_ADMIN_ADDRESS),
          namespace: flags.namespace,
          layout: flags.layout === "controller-namespace" ? "ControllerNamespace" : "GatewayNamespace",
          leaderElection: flags.leaderElection,
          ...(Option.isSome(flags.kubeconfig) ? { kubeconfig: flags.kubeconfig.value } : {})
        })
      )
    )
  })
).pipe(
  Command.withDescription(
    "Run the control plane: watch Gateway API resources, translate them, and serve xDS to Envoy until interrupted"
  ),
  Command.withExamples([
    {
      command: "portico serve --path examples/standalone",
      description: "Standalone: serve the quickstart folder on 127.0.0.1:18000 (edit files; changes apply live)"
    },
    {
      command: "portico bootstrap --gateway default/eg > bootstrap.yaml && envoy -c bootstrap.yaml",
      description: "Then, in another shell, start an Envoy for Gateway default/eg against it"
    }
  ])
)
