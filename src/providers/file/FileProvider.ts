/**
 * The file provider of standalone mode: a folder of multi-document Gateway API YAML, watched and
 * re-read on change, as a stream of batches for the pipeline.
 *
 * Bad input never loses accepted configuration, the way an API server would refuse it:
 * - a file that does not parse keeps serving its last good documents (until it parses again or is
 *   deleted), and the error names the file, line and column;
 * - an object that violates its kind's schema keeps serving its last good version (same kind,
 *   namespace and name), and the error names the file, document, object and field. An invalid
 *   object never seen valid is left out (the translator reports it).
 * Fixing the file recovers without a restart.
 *
 * Change detection: file system events (recursive watch of the folder) trigger a re-scan after a
 * short quiet period; a slow periodic re-scan catches what events miss (editors that replace
 * files, network file systems). A batch is emitted only when what the pipeline would see changed.
 */
import { createHash } from "node:crypto"
import { Context, Duration, Effect, FileSystem, Layer, Option, Schedule, Stream } from "effect"
import { decodeResource } from "../../api/Resource.ts"
import { type Document, DocumentSourceError, Documents, formatLocation } from "./Documents.ts"

/** An input problem, for logs and the admin /status: where (file...) and what. */
export interface SourceError {
  readonly source: string
  readonly message: string
}

/** What the pipeline gets: every object of the folder (last good versions kept), with origins. */
export interface FileBatch {
  readonly documents: ReadonlyArray<Document>
  /** Problems of this read; the documents already carry the last good versions. */
  readonly errors: ReadonlyArray<SourceError>
  /** The document files read. */
  readonly files: number
}

export interface FileProviderOptions {
  /** Quiet period after a file system event before re-reading. Default 100 ms. */
  readonly debounce?: Duration.Input
  /** Re-scan interval without events. Default 5 s. */
  readonly rescan?: Duration.Input
}

interface FileState {
  readonly hash: string
  readonly documents: ReadonlyArray<Document>
}

const sha = (text: string): string => createHash("sha256").update(text).digest("hex")

const identity = (object: { readonly [key: string]: unknown }): string | undefined => {
  const metadata = object.metadata as { name?: unknown; namespace?: unknown } | undefined
  if (typeof object.kind !== "string" || typeof metadata?.name !== "string") return undefined
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : ""
  return `${String(object.apiVersion)}/${object.kind}/${namespace}/${metadata.name}`
}

/**
 * The state of a watched folder between reads: the last good documents of each file and the last
 * valid version of each object. `next` folds one read of the folder into it. Pure apart from
 * the state it keeps.
 */
export class FolderState {
  private files = new Map<string, FileState>()
  private lastValid = new Map<string, Document>()

  /**
   * Folds one read in: `texts` maps each document file present now to its text, or to an error
   * when it could not be read.
   */
  next(
    texts: ReadonlyMap<string, { readonly text: string } | { readonly error: string }>,
    parse: (file: string, text: string) => Effect.Effect<Array<Document>, { readonly message: string }>
  ): Effect.Effect<FileBatch> {
    return Effect.gen({ self: this }, function* () {
      const errors: Array<SourceError> = []
      const files = new Map<string, FileState>()
      for (const [file, read] of texts) {
        const before = this.files.get(file)
        if ("error" in read) {
          errors.push({
            source: file,
            message: `${read.error}${before === undefined ? "" : "; serving its last good version"}`
          })
          if (before !== undefined) files.set(file, before)
          continue
        }
        const hash = sha(read.text)
        if (before !== undefined && before.hash === hash) {
          files.set(file, before)
          continue
        }
        const parsed = yield* Effect.result(parse(file, read.text))
        if (parsed._tag === "Success") {
          files.set(file, { hash, documents: parsed.success })
        } else {
          errors.push({
            source: file,
            message: `${parsed.failure.message}${before === undefined ? "" : "; serving its last good version"}`
          })
          if (before !== undefined) files.set(file, { hash: before.hash, documents: before.documents })
        }
      }
      this.files = files
      // Object level: an invalid object serves its last valid version.
      const documents: Array<Document> = []
      const lastValid = new Map<string, Document>()
      for (const file of [...files.keys()].sort()) {
        for (const document of files.get(file)?.documents ?? []) {
          const id = identity(document.object)
          const outcome = decodeResource(document.object)
          if (outcome._tag !== "Invalid" || id === undefined) {
            if (id !== undefined && outcome._tag === "Decoded") lastValid.set(id, document)
            documents.push(document)
            continue
          }
          const previous = this.lastValid.get(id)
          const subject = `${outcome.kind} ${outcome.namespace === undefined ? (outcome.name ?? "(unnamed)") : `${outcome.namespace}/${outcome.name ?? "(unnamed)"}`}`
          for (const issue of outcome.issues) {
            errors.push({
              source: formatLocation(document),
              message: `${subject}: ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}${
                previous === undefined ? "" : "; serving its last valid version"
              }`
            })
          }
          if (previous !== undefined) {
            lastValid.set(id, previous)
            documents.push(previous)
          }
        }
      }
      this.lastValid = lastValid
      return { documents, errors, files: files.size }
    })
  }
}

/** A batch's identity: the documents' content and the errors (to skip re-reads that changed nothing). */
const fingerprint = (batch: FileBatch): string =>
  sha(JSON.stringify([batch.documents.map((d) => [d.file, d.index, d.item, d.object]), batch.errors]))

export class FileProvider extends Context.Service<
  FileProvider,
  {
    /**
     * Batches of `folder` (a directory or one file): the first at once, then one per change.
     * Fails when the folder itself cannot be read at start; later read errors become batch errors.
     */
    readonly watch: (folder: string, options?: FileProviderOptions) => Stream.Stream<FileBatch, DocumentSourceError>
  }
>()("portico/providers/file/FileProvider") {
  static readonly layer = Layer.effect(
    FileProvider,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const documents = yield* Documents

      const readFolder = Effect.fn("FileProvider.read")(function* (folder: string) {
        const files = yield* documents.files(folder)
        const texts = new Map<string, { readonly text: string } | { readonly error: string }>()
        for (const file of files) {
          const text = yield* fs.readFileString(file).pipe(
            Effect.map((text) => ({ text })),
            Effect.catch((error) => Effect.succeed({ error: `cannot read: ${error.message}` }))
          )
          // A file that vanished between listing and reading is simply gone.
          if ("error" in text && !(yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false)))) continue
          texts.set(file, text)
        }
        return texts
      })

      const watch = (folder: string, options: FileProviderOptions = {}) =>
        Stream.unwrap(
          Effect.gen(function* () {
            // The folder must exist at start: a typo should fail fast, not serve nothing.
            yield* documents.files(folder)
            const state = new FolderState()
            let last: string | undefined
            const read = Effect.gen(function* () {
              const texts = yield* readFolder(folder).pipe(
                Effect.catch((error) =>
                  Effect.succeed(
                    new Map([[folder, { error: `${error.reason}: ${error.detail}` }]]) as Map<
                      string,
                      { readonly error: string }
                    >
                  )
                )
              )
              const batch = yield* state.next(texts, (file, text) => documents.parse(file, text))
              const print = fingerprint(batch)
              if (print === last) return Option.none<FileBatch>()
              last = print
              return Option.some(batch)
            })
            const debounce = options.debounce ?? Duration.millis(100)
            const events = fs.watch(folder, { recursive: true }).pipe(
              Stream.map(() => "event" as const),
              // Without events (a platform that cannot watch), the re-scan still works.
              Stream.catch(() => Stream.empty),
              Stream.debounce(debounce)
            )
            const ticks = Stream.fromSchedule(Schedule.spaced(options.rescan ?? Duration.seconds(5))).pipe(
              Stream.map(() => "tick" as const)
            )
            return Stream.concat(Stream.make("start" as const), Stream.merge(events, ticks)).pipe(
              Stream.mapEffect(() => read),
              Stream.filter(Option.isSome),
              Stream.map((batch) => batch.value)
            )
          })
        )

      return { watch }
    })
  )
}

export { DocumentSourceError }
