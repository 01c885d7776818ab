/**
 * `portico serve`: the long-running control plane. Standalone (`--provider file`, the default):
 * watch a folder of Gateway API YAML, run the pipeline on every change, serve xDS to Envoy (and
 * to proxyless gRPC clients) on 127.0.0.1:18000.
 */
import { Effect, Layer, Schema, Stream } from "effect"
import { Command, Flag } from "effect/cli"
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
}

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
    yield* Effect.logInfo(`serving xDS (ADS, SotW and delta) on ${ads.address}; watching ${options.path}`)
    yield* provider.watch(options.path, options.watch).pipe(
      Stream.runForEach((batch) =>
        Effect.gen(function* () {
          const view = yield* pipeline.apply({
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

/** The layers of standalone mode (file provider, pipeline, snapshot cache, ADS server). */
export const standaloneLayer = (options: StandaloneOptions) =>
  Layer.mergeAll(
    FileProvider.layer.pipe(Layer.provide(Documents.layer)),
    AdsServer.layer({ address: options.xdsAddress })
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
    controllerName: Flag.String("controller-name").pipe(
      Flag.withDescription(`The GatewayClass controllerName Portico answers to (default ${DEFAULT_CONTROLLER_NAME})`),
      Flag.withDefault(DEFAULT_CONTROLLER_NAME)
    )
  },
  Effect.fnUntraced(function* ({ path, xdsAddress, controllerName }) {
    const options: StandaloneOptions = { path, xdsAddress, controllerName }
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
