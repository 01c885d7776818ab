/**
 * `portico translate`: the offline translator (like `egctl x translate`). Reads Kubernetes YAML
 * from files, directories or stdin, runs the translation pipeline once, and prints every Gateway
 * API object with the status Portico computes, and the IR per Envoy fleet.
 *
 * Output is one sequence of documents: the objects (as `translateObjects` returns them, sorted),
 * then one `kind: IR` document, then (`--to xds`) one `kind: XdsConfig` document per fleet with
 * its Envoy resources. `-o yaml` prints them as a multi-document YAML stream; `-o json`
 * prints one JSON `kind: List` whose `items` are the same documents. Conditions lose their
 * `lastTransitionTime`, so the same input always prints the same bytes.
 *
 * Exit codes: 0 when translation ran (even if statuses report problems); 1 when the input cannot
 * be read (missing file, YAML syntax, a document that is not an object) or objects violate their
 * kind's schema (each printed to stderr as `FILE: document N: KIND NAMESPACE/NAME: PATH: MESSAGE`).
 */
import { Console, Effect, Option, Predicate, Runtime, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { stringify } from "yaml"
import { Documents, formatLocation } from "../providers/file/Documents.ts"
import {
  DEFAULT_CONTROLLER_NAME,
  type KubeObject,
  type TranslateError,
  type TranslateResult,
  translateObjects
} from "../reconcilers/Translate.ts"
import { xdsConfigDocument } from "../xds/translate/ConfigDump.ts"
import { translateFleet } from "../xds/translate/Fleet.ts"

/** What to print: the objects with their status, the IR, the Envoy resources, or several. */
export type Target = "status" | "ir" | "xds"
export type OutputFormat = "yaml" | "json"

const TARGETS: ReadonlyArray<Target> = ["status", "ir", "xds"]

/** Parses `--to` (`status`, `ir`, `xds`, comma-separated); `None` when it names anything else. */
export const parseTargets = (value: string): Option.Option<ReadonlyArray<Target>> => {
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "")
  if (names.length === 0) return Option.none()
  const targets = TARGETS.filter((target) => names.includes(target))
  return names.every((name) => TARGETS.some((target) => target === name)) ? Option.some(targets) : Option.none()
}

/** Where an input object came from: its file, document and List item (see `Documents`). */
export interface Origin {
  readonly file: string
  readonly index: number
  readonly item?: number
}

/** `FILE: document N: KIND NAMESPACE/NAME: FIELD.PATH: MESSAGE` (document counted from 1). */
export const formatTranslateError = (error: TranslateError, origins: ReadonlyArray<Origin>): string => {
  const origin = origins[error.index]
  const where = origin === undefined ? `object ${error.index + 1}` : formatLocation(origin)
  const name = error.name ?? "(unnamed)"
  const subject = `${error.kind === "" ? "(no kind)" : error.kind} ${error.namespace === undefined ? name : `${error.namespace}/${name}`}`
  return [where, subject, ...(error.path === "" ? [] : [error.path]), error.message].join(": ")
}

/** `note: ignored 3 objects of kinds apps/v1/Deployment, v1/ServiceAccount`, or nothing. */
export const formatIgnoredNote = (
  ignored: ReadonlyArray<string>,
  inputs: ReadonlyArray<unknown>
): Option.Option<string> => {
  if (ignored.length === 0) return Option.none()
  const count = inputs.filter(
    (input) => Predicate.isObject(input) && ignored.includes(`${String(input.apiVersion)}/${String(input.kind)}`)
  ).length
  const objects = count === 1 ? "1 object" : `${count} objects`
  const kinds = ignored.length === 1 ? "kind" : "kinds"
  return Option.some(`note: ignored ${objects} of ${kinds} ${ignored.join(", ")}`)
}

const withoutTransitionTimes = (value: unknown, inConditions = false): unknown => {
  if (Array.isArray(value)) return value.map((element) => withoutTransitionTimes(element, inConditions))
  if (!Predicate.isObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    if (inConditions && key === "lastTransitionTime") continue
    out[key] = withoutTransitionTimes(field, key === "conditions")
  }
  return out
}

/** The object with `lastTransitionTime` removed from every condition of its status. */
export const stripTransitionTimes = (object: KubeObject): KubeObject =>
  object.status === undefined ? object : { ...object, status: withoutTransitionTimes(object.status) }

/** The IR as one document: `kind: IR` followed by the IR's own fields (e.g. `fleets`). */
export const irDocument = (ir: unknown): Record<string, unknown> =>
  Predicate.isObject(ir) ? Object.assign({ kind: "IR" }, ir, { kind: "IR" }) : { kind: "IR", ir }

/** The IR as printed: private keys are never shown, only their size (the Secret holds them). */
export const redactSecrets = (ir: TranslateResult["ir"]): TranslateResult["ir"] => ({
  ...ir,
  xds: {
    fleets: ir.xds.fleets.map((fleet) => ({
      ...fleet,
      secrets: fleet.secrets.map((secret) =>
        secret.type === "TlsCertificate"
          ? { ...secret, privateKey: `[redacted: ${secret.privateKey.length} bytes, see Secret ${secret.name}]` }
          : secret
      )
    }))
  }
})

/**
 * The documents to print, in order: objects (with status), the IR document, then one
 * `kind: XdsConfig` per fleet (its listeners, routes, clusters, endpoints and secrets as Envoy's
 * canonical JSON; private keys redacted like the IR's).
 */
export const outputDocuments = (result: TranslateResult, targets: ReadonlyArray<Target>): Array<unknown> => [
  ...(targets.includes("status") ? result.objects.map(stripTransitionTimes) : []),
  ...(targets.includes("ir") ? [irDocument(redactSecrets(result.ir))] : []),
  ...(targets.includes("xds") ? result.ir.xds.fleets.map((fleet) => xdsConfigDocument(translateFleet(fleet))) : [])
]

/** Renders documents as a YAML stream or as one JSON `kind: List`; ends with a newline unless empty. */
export const renderDocuments = (documents: ReadonlyArray<unknown>, format: OutputFormat): string =>
  format === "json"
    ? `${JSON.stringify({ apiVersion: "v1", kind: "List", items: documents }, null, 2)}\n`
    : // YAML 1.1 quoting: strings like "on", "yes" and timestamps stay strings for kubectl and PyYAML too.
      documents
        .map((document) => stringify(document, { lineWidth: 0, aliasDuplicateObjects: false, version: "1.1" }))
        .join("---\n")

/**
 * The command failed and has already told the user why on stderr: exit 1 without the runtime
 * logging the failure a second time.
 */
export class TranslateFailed extends Schema.TaggedError<TranslateFailed>()("TranslateFailed", {
  message: Schema.String
}) {
  override readonly [Runtime.errorReported] = false
}

const fileFlag = Flag.String("file").pipe(
  Flag.withAlias("f"),
  Flag.withMetavar("FILE|DIR|-"),
  Flag.withDescription(
    "Kubernetes YAML/JSON to read: a file, a directory (every *.yaml, *.yml, *.json below it, sorted by path), or - for stdin. Repeat to read several; objects are translated together, in order."
  ),
  Flag.atLeast(1)
)

const outputFlag = Flag.Literals("output", ["yaml", "json"]).pipe(
  Flag.withAlias("o"),
  Flag.withDescription(
    "Output format: yaml (a multi-document stream) or json (one kind: List of the same documents); default yaml"
  ),
  Flag.withDefault("yaml")
)

const toFlag = Flag.String("to").pipe(
  Flag.withMetavar("status,ir,xds"),
  Flag.withDescription(
    "What to print, comma-separated: status (every Gateway API object with the status Portico computes), ir (one kind: IR document with the IR per Envoy fleet), xds (one kind: XdsConfig document per fleet with its Envoy listeners, routes, clusters, endpoints and secrets); default status,ir"
  ),
  Flag.withDefault("status,ir"),
  Flag.filterMap(parseTargets, () => "status, ir, xds, or several of them comma-separated (status,ir)")
)

const controllerNameFlag = Flag.String("controller-name").pipe(
  Flag.withDescription(`The controllerName of the GatewayClasses Portico owns; default ${DEFAULT_CONTROLLER_NAME}`),
  Flag.withDefault(DEFAULT_CONTROLLER_NAME),
  Flag.filter(
    (name) => name.trim() !== "",
    () => "--controller-name must not be empty"
  )
)

const translate = Effect.fn("translate")(
  function* (input: {
    readonly file: ReadonlyArray<string>
    readonly output: OutputFormat
    readonly to: ReadonlyArray<Target>
    readonly controllerName: string
  }) {
    const documents = yield* Documents
    const read = yield* documents.read(input.file)
    const objects = read.map((document) => document.object)
    const result = translateObjects(objects, { controllerName: input.controllerName })
    if (result.errors.length > 0) {
      for (const error of result.errors) yield* Console.error(formatTranslateError(error, read))
      const invalidObjects = new Set(result.errors.map((e) => e.index)).size
      const count = `${invalidObjects === 1 ? "1 invalid object" : `${invalidObjects} invalid objects`} (${result.errors.length === 1 ? "1 error" : `${result.errors.length} errors`})`
      return yield* new TranslateFailed({ message: `${count}; nothing translated` })
    }
    if (read.length === 0) yield* Console.error(`note: no objects in ${input.file.join(", ")}`)
    const note = formatIgnoredNote(result.ignored, objects)
    if (Option.isSome(note)) yield* Console.error(note.value)
    const rendered = renderDocuments(outputDocuments(result, input.to), input.output)
    if (rendered !== "") yield* Console.log(rendered.endsWith("\n") ? rendered.slice(0, -1) : rendered)
  },
  Effect.catch((error) =>
    Effect.andThen(
      Console.error(`error: ${error.message}`),
      Effect.fail(error._tag === "TranslateFailed" ? error : new TranslateFailed({ message: error.message }))
    )
  )
)

export const translateCommand = Command.make(
  "translate",
  { file: fileFlag, output: outputFlag, to: toFlag, controllerName: controllerNameFlag },
  translate
).pipe(
  Command.withDescription(
    "Translate Gateway API YAML offline: print every Gateway API object with the status Portico computes, the IR per Envoy fleet, and (--to xds) each fleet's Envoy resources. Exits 1 when the input cannot be read or an object violates its schema; 0 otherwise, whatever the statuses say."
  ),
  Command.withExamples([
    { command: "portico translate -f examples/standalone", description: "Translate a directory of YAML" },
    {
      command: "portico translate -f gateway.yaml -f routes.yaml --to status",
      description: "Only the objects with their status, from two files"
    },
    {
      command: "kubectl get gateway,httproute -A -o yaml | portico translate -f - --to ir -o json",
      description: "Read stdin, print the IR as JSON"
    },
    {
      command: "portico translate -f examples/standalone --to xds",
      description: "Print the Envoy listeners, routes, clusters, endpoints and secrets of each fleet"
    },
    {
      command: "portico translate -f manifests/ --controller-name example.com/gateway-controller",
      description: "Own the GatewayClasses of another controllerName"
    }
  ]),
  Command.provide(Documents.layer)
)
