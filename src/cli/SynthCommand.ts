/**
 * `portico synth -o DIR`: writes the controller's install manifest, `DIR/install.yaml`
 * (ControllerInstall chart: namespace, RBAC, Deployment, xDS Service, and our CRDs from `crds/`).
 * `make manifests` runs it into `release/`.
 */
import { Console, Effect, FileSystem, Path } from "effect"
import { Command, Flag } from "effect/cli"
import { synthInstall } from "../charts/ControllerInstall.ts"
import { renderManifestsYaml } from "../charts/Manifest.ts"
import { Documents } from "../providers/file/Documents.ts"

/** The CustomResourceDefinitions below `dir` (other documents, e.g. a README, are skipped). */
export const readCrds = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(dir))) return []
    const documents = yield* Documents
    const read = yield* documents.read([dir])
    return read.map((d) => d.object).filter((o) => o.kind === "CustomResourceDefinition")
  })

export const synthCommand = Command.make(
  "synth",
  {
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Directory to write install.yaml into (created if missing)"),
      Flag.withDefault("release")
    ),
    image: Flag.String("image").pipe(
      Flag.withDescription("The controller image (default ghcr.io/portico/portico:<version>)"),
      Flag.optional
    ),
    replicas: Flag.Int("replicas").pipe(
      Flag.withDescription("Controller replicas; all serve xDS, a Lease elects the one that writes (default 1)"),
      Flag.withDefault(1)
    ),
    crds: Flag.String("crds").pipe(
      Flag.withDescription("Directory of our own CRDs to include (default crds/)"),
      Flag.withDefault("crds")
    )
  },
  Effect.fnUntraced(function* ({ output, image, replicas, crds }) {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const definitions = yield* readCrds(crds).pipe(Effect.provide(Documents.layer))
    const manifests = synthInstall({
      replicas,
      crds: definitions,
      ...(image._tag === "Some" ? { image: image.value } : {})
    })
    yield* fs.makeDirectory(output, { recursive: true })
    const file = path.join(output, "install.yaml")
    yield* fs.writeFileString(file, renderManifestsYaml(manifests))
    yield* Console.log(
      `wrote ${file}: ${manifests.length} objects (${definitions.length} CRDs); apply with: kubectl apply --server-side -f ${file}`
    )
  })
).pipe(
  Command.withDescription("Write the controller's install manifest (namespace, RBAC, Deployment, Service, CRDs)"),
  Command.withExamples([
    { command: "portico synth -o release", description: "Write release/install.yaml (what `make manifests` does)" },
    {
      command: "portico synth -o out --image registry.local/portico:dev --replicas 2",
      description: "A custom image, two replicas (leader election picks the writer)"
    }
  ])
)
