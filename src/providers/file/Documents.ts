/**
 * Kubernetes YAML documents from files, directories and standard input.
 *
 * `portico translate` reads its input through this service, and so does the file provider of
 * `portico serve`. A source is a file (any extension), a directory (every `*.yaml`, `*.yml` and
 * `*.json` file below it, recursively, sorted by path; entries whose name starts with `.` are
 * skipped, which also keeps out the `..data` links of a mounted ConfigMap), or `-` for stdin.
 *
 * Each YAML document becomes one {@link Document}; empty and `null` documents are skipped and a
 * `kind: List` document (or a typed list such as `GatewayList`) is expanded into its items.
 * Documents are parsed as YAML 1.2 (JSON is YAML), with merge keys (`<<`) and unique keys.
 *
 * In data, document and item indexes count from 0; in messages they count from 1, like lines
 * and columns (`examples/x.yaml: document 3 (line 14, column 3): ...`).
 */
import { Context, Effect, FileSystem, Layer, Option, Path, Predicate, Result, Schema, Stdio, Stream } from "effect"
import type { PlatformError } from "effect/PlatformError"
import { LineCounter, parseAllDocuments } from "yaml"

/** One Kubernetes object read from a source. */
export interface Document {
  /** The file it came from, as named by the source (`dir/x.yaml`), or {@link STDIN_NAME}. */
  readonly file: string
  /** Index of the YAML document within the file, counting from 0 (empty documents count too). */
  readonly index: number
  /** Index within the `items` of a List document, counting from 0, when expanded from one. */
  readonly item?: number
  /** The object: a YAML mapping, as plain data. */
  readonly object: { readonly [key: string]: unknown }
}

/** The name under which documents read from stdin (source `-`) are reported. */
export const STDIN_NAME = "<stdin>"

/** The source that names standard input. */
export const STDIN_SOURCE = "-"

/** File extensions read from a directory (compared case-insensitively). */
export const DOCUMENT_EXTENSIONS: ReadonlyArray<string> = [".yaml", ".yml", ".json"]

/** `FILE: document N` or `FILE: document N, item M`, counting from 1. */
export const formatLocation = (location: {
  readonly file: string
  readonly index: number
  readonly item?: number | undefined
}): string =>
  `${location.file}: document ${location.index + 1}${location.item === undefined ? "" : `, item ${location.item + 1}`}`

/** A document that is not valid YAML (or JSON). */
export class DocumentSyntaxError extends Schema.TaggedError<DocumentSyntaxError>()("DocumentSyntaxError", {
  file: Schema.String,
  /** Document index within the file, from 0. */
  index: Schema.Number,
  /** 1-based line of the error. */
  line: Schema.Number,
  /** 1-based column of the error. */
  column: Schema.Number,
  /** The YAML parser's message. */
  reason: Schema.String
}) {
  override get message(): string {
    return `${formatLocation(this)} (line ${this.line}, column ${this.column}): ${this.reason}`
  }
}

/** A document that is valid YAML but not a Kubernetes object (not a mapping). */
export class DocumentShapeError extends Schema.TaggedError<DocumentShapeError>()("DocumentShapeError", {
  file: Schema.String,
  index: Schema.Number,
  item: Schema.optionalKey(Schema.Number),
  /** What was found instead, e.g. `a sequence`. */
  found: Schema.String
}) {
  override get message(): string {
    return `${formatLocation(this)}: expected a Kubernetes object (a mapping), found ${this.found}`
  }
}

/** A source that cannot be read: missing, not permitted, or otherwise failing. */
export class DocumentSourceError extends Schema.TaggedError<DocumentSourceError>()("DocumentSourceError", {
  path: Schema.String,
  /** `NotFound`, `PermissionDenied`, another platform error tag, or `Usage` (sources named wrongly). */
  reason: Schema.String,
  /** The platform's description, for reasons without a message of their own. */
  detail: Schema.String
}) {
  override get message(): string {
    switch (this.reason) {
      case "NotFound":
        return `no such file or directory: ${this.path}`
      case "PermissionDenied":
        return `permission denied: ${this.path}`
      case "Usage":
        return this.detail
      default:
        return `cannot read ${this.path}: ${this.detail}`
    }
  }
}

export type DocumentParseError = DocumentSyntaxError | DocumentShapeError
export type DocumentsError = DocumentParseError | DocumentSourceError

const describeValue = (value: unknown): string =>
  Array.isArray(value) ? "a sequence" : `a ${typeof value === "string" ? "string" : "scalar"} (${String(value)})`

const listItemDefaults = (list: { readonly [key: string]: unknown }): { readonly [key: string]: unknown } => {
  const kind = list.kind
  // A typed list (`GatewayList`) may omit apiVersion/kind on its items, as API responses do.
  if (typeof kind !== "string" || kind === "List") return {}
  return { apiVersion: list.apiVersion, kind: kind.slice(0, -"List".length) }
}

const isList = (object: { readonly [key: string]: unknown }): boolean =>
  object.kind === "List" ||
  (typeof object.kind === "string" && object.kind.endsWith("List") && Array.isArray(object.items))

/** Expands a List (recursively) into its items; any other object into itself. */
const expand = (
  file: string,
  index: number,
  item: number | undefined,
  object: { readonly [key: string]: unknown },
  out: Array<Document>
): DocumentShapeError | undefined => {
  if (!isList(object)) {
    out.push(item === undefined ? { file, index, object } : { file, index, item, object })
    return undefined
  }
  const items = object.items ?? []
  if (!Array.isArray(items)) {
    return new DocumentShapeError({ file, index, found: `a List whose items is ${describeValue(items)}` })
  }
  const defaults = listItemDefaults(object)
  for (const [position, value] of items.entries()) {
    const at = item ?? position
    if (value === null || value === undefined) continue
    if (!Predicate.isObject(value))
      return new DocumentShapeError({ file, index, item: at, found: describeValue(value) })
    const failure = expand(file, index, at, { ...defaults, ...value }, out)
    if (failure !== undefined) return failure
  }
  return undefined
}

/**
 * Parses one file's text into its documents, in order. Pure: the file name is only used in
 * the documents and errors. Fails on the first document with a syntax error or that is not a
 * mapping.
 */
export const parseDocuments = (file: string, text: string): Result.Result<Array<Document>, DocumentParseError> => {
  const lineCounter = new LineCounter()
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text
  const parsed = parseAllDocuments(source, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true })
  const syntaxError = (index: number, offset: number, reason: string) => {
    const { line, col } = lineCounter.linePos(offset)
    return new DocumentSyntaxError({ file, index, line, column: col, reason })
  }
  if ("empty" in parsed) {
    const first = parsed.errors[0]
    return first === undefined ? Result.succeed([]) : Result.fail(syntaxError(0, first.pos[0], first.message))
  }
  const out: Array<Document> = []
  for (const [index, doc] of parsed.entries()) {
    const first = doc.errors[0]
    if (first !== undefined) return Result.fail(syntaxError(index, first.pos[0], first.message))
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: 100 })
    } catch (cause) {
      // e.g. too many alias expansions ("billion laughs")
      const reason = cause instanceof Error ? cause.message : String(cause)
      return Result.fail(syntaxError(index, doc.range[0], reason))
    }
    if (value === null || value === undefined) continue
    if (!Predicate.isObject(value))
      return Result.fail(new DocumentShapeError({ file, index, found: describeValue(value) }))
    const failure = expand(file, index, undefined, value, out)
    if (failure !== undefined) return Result.fail(failure)
  }
  return Result.succeed(out)
}

const hasDocumentExtension = (file: string): boolean => {
  const lower = file.toLowerCase()
  return DOCUMENT_EXTENSIONS.some((extension) => lower.endsWith(extension))
}

const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const sourceError = (path: string) => (error: PlatformError) =>
  new DocumentSourceError({ path, reason: error.reason._tag, detail: error.message })

export class Documents extends Context.Service<
  Documents,
  {
    /**
     * Reads every source in order (file, directory, or `-` for stdin) and returns their
     * documents, in order. Stdin can be named once.
     */
    readonly read: (sources: ReadonlyArray<string>) => Effect.Effect<Array<Document>, DocumentsError>
    /**
     * The files a source stands for: itself for a file, the sorted document files below a
     * directory; `-` stands for stdin. What a watcher watches.
     */
    readonly files: (source: string) => Effect.Effect<Array<string>, DocumentSourceError>
    /** Parses one file's text; see {@link parseDocuments}. */
    readonly parse: (file: string, text: string) => Effect.Effect<Array<Document>, DocumentParseError>
  }
>()("portico/providers/file/Documents") {
  static readonly layer = Layer.effect(
    Documents,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const stdio = yield* Stdio.Stdio

      const files = Effect.fn("Documents.files")(function* (source: string) {
        if (source === STDIN_SOURCE) return [STDIN_SOURCE]
        const info = yield* fs.stat(source).pipe(Effect.mapError(sourceError(source)))
        if (info.type !== "Directory") return [source]
        const entries = yield* fs.readDirectory(source, { recursive: true }).pipe(Effect.mapError(sourceError(source)))
        const candidates = entries
          .filter((entry) => hasDocumentExtension(entry))
          .filter((entry) => !entry.split(/[\\/]/).some((segment) => segment.startsWith(".")))
          .map((entry) => path.join(source, entry))
          .sort(byPath)
        const found: Array<string> = []
        for (const candidate of candidates) {
          // A directory may be named x.yaml, a link may dangle, a file may go between listing
          // and stat (a watcher reads while editors write): keep what stats as a file.
          const entry = yield* fs.stat(candidate).pipe(
            Effect.map(Option.some),
            Effect.catchIf(
              (error) => error.reason._tag === "NotFound",
              () => Effect.succeedNone
            ),
            Effect.mapError(sourceError(candidate))
          )
          if (Option.isSome(entry) && entry.value.type === "File") found.push(candidate)
        }
        return found
      })

      const parse = (file: string, text: string) => Effect.fromResult(parseDocuments(file, text))

      const readStdin = stdio.stdin.pipe(Stream.decodeText(), Stream.mkString, Effect.mapError(sourceError(STDIN_NAME)))

      const read = Effect.fn("Documents.read")(function* (sources: ReadonlyArray<string>) {
        if (sources.filter((source) => source === STDIN_SOURCE).length > 1) {
          return yield* new DocumentSourceError({
            path: STDIN_SOURCE,
            reason: "Usage",
            detail: "stdin (-) can be read only once; name it in one -f"
          })
        }
        const out: Array<Document> = []
        for (const source of sources) {
          for (const file of yield* files(source)) {
            const text =
              file === STDIN_SOURCE
                ? yield* readStdin
                : yield* fs.readFileString(file, "utf8").pipe(Effect.mapError(sourceError(file)))
            out.push(...(yield* parse(file === STDIN_SOURCE ? STDIN_NAME : file, text)))
          }
        }
        return out
      })

      return Documents.of({ read, files, parse })
    })
  )
}
