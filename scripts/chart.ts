/**
 * `make chart`: writes the controller's Helm chart (src/charts/HelmChart.ts) to `release/chart/`
 * and, with `--package`, packages it with helm (scripts/helm.sh) into `release/portico-<version>.tgz`.
 *
 *   node scripts/chart.ts [--out DIR] [--crds DIR] [--package]
 *
 * `--out` (default release/chart) is emptied first, so a file the chart no longer has does not linger.
 * `--crds` (default crds/) holds our CRDs, read as `portico synth` reads them; they go to `crds/`.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { renderHelmChart } from "../src/charts/HelmChart.ts"
import { readCrds } from "../src/cli/SynthCommand.ts"
import { Documents } from "../src/providers/file/Documents.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")

const { values } = parseArgs({
  options: {
    out: { type: "string", default: join(root, "release", "chart") },
    crds: { type: "string", default: join(root, "crds") },
    package: { type: "boolean", default: false }
  },
  strict: true
})

const out = resolve(values.out)
/** A path as the user would type it: relative to the working directory when below it. */
const shown = (path: string): string => {
  const rel = relative(process.cwd(), path)
  return rel === "" ? "." : rel.startsWith("..") ? path : rel
}
const crds = await Effect.runPromise(
  readCrds(resolve(values.crds)).pipe(Effect.provide(Documents.layer), Effect.provide(NodeServices.layer))
)
const files = renderHelmChart({ crds })

rmSync(out, { recursive: true, force: true })
for (const file of files) {
  const path = join(out, file.path)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, file.content)
}
console.log(`wrote ${shown(out)}/: ${files.length} files (${crds.length} CRDs)`)

if (values.package) {
  const helm = execFileSync("bash", [join(root, "scripts", "helm.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"]
  }).trim()
  execFileSync(helm, ["lint", "--strict", out], { stdio: "inherit" })
  execFileSync(helm, ["package", out, "--destination", dirname(out)], { stdio: "inherit" })
  console.log(
    `install with: helm install portico ${relative(process.cwd(), out)} -n envoy-gateway-system --create-namespace`
  )
}
