/**
 * `portico serve`: the long-running control plane. Standalone (`--provider file`, the default):
 * watch a folder of Gateway API YAML, run the pipeline on every change, serve xDS to Envoy (and
 * to proxyless gRPC clients) on 127.0.0.1:18000.
 */
import { Effect, Layer, Schema, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { AdminServer } from "../admin/AdminServer.ts"
import { StatusSource } from "../admin/StatusSource.ts"
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

/** The pipeline's view as the admin server's /status and /readyz see it. */
export const pipelineStatusSource = Layer.effect(
  StatusSource,
  Effect.map(Effect.service(Pipeline), (pipeline) => ({
    current: Effect.map(pipeline.view, (view) => ({
      ready: view.ready,
      ...(view.ready ? {} : { reason: "waiting for the first read of the resources" }),
      generation: view.generation,
      errors: view.errors,
      objects: view.objects
    }))
  }))
)

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

export const serveCommand = Command.make(
  "serve",
  {
    provider: Flag.Literals("provider", ["file"]).pipe(
      Flag.withDescription("Where resources come from: file (standalone: a folder of Gateway API YAML)"),
      Flag.withDefault("file")
    ),
    path: Flag.String("path").pipe(
      Flag.withAlias("p"),
      Flag.withDescription("The folder (or file) of Gateway API YAML to watch, with --provider file"),
      Flag.withDefault("examples/standalone")
    ),
    xdsAddress: Flag.String("xds-address").pipe(
      Flag.withDescription(
        `host:port the ADS server listens on (default ${DEFAULT_XDS_ADDRESS}; standalone serves plaintext, keep it on loopback)`
      ),
      Flag.withSchema(HostPort),
      Flag.withDefault(DEFAULT_XDS_ADDRESS)
    ),
    adminAddress: Flag.String("admin-address").pipe(
      Flag.withDescription(
        `host:port of the admin HTTP server: /healthz /readyz /metrics /status /config_dump (default ${STANDALONE_ADMIN_ADDRESS}; the Envoy next to it uses 19000)`
      ),
      Flag.withSchema(HostPort),
      Flag.withDefault(STANDALONE_ADMIN_ADDRESS)
    ),
    controllerName: Flag.String("controller-name").pipe(
      Flag.withDescription(`The GatewayClass controllerName Portico answers to (default ${DEFAULT_CONTROLLER_NAME})`),
      Flag.withDefault(DEFAULT_CONTROLLER_NAME)
    )
  },
  Effect.fnUntraced(function* ({ path, xdsAddress, adminAddress, controllerName }) {
    const options: StandaloneOptions = { path, xdsAddress, adminAddress, controllerName }
    yield* runStandalone(options).pipe(Effect.provide(standaloneLayer(options)))
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
