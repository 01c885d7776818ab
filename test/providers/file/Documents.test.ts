import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Result, Stdio, Stream } from "effect"
import {
  type Document,
  DocumentShapeError,
  DocumentSourceError,
  DocumentSyntaxError,
  Documents,
  formatLocation,
  parseDocuments,
  STDIN_NAME
} from "../../../src/providers/file/Documents.ts"

const live = Documents.layer.pipe(Layer.provide(NodeServices.layer))

const withStdin = (text: string) =>
  Documents.layer.pipe(
    Layer.provide(
      Layer.mergeAll(
        NodeServices.layer,
        Stdio.layerTest({
          stdin: Stream.make(new TextEncoder().encode(text.slice(0, 5)), new TextEncoder().encode(text.slice(5)))
        })
      )
    )
  )

const names = (documents: ReadonlyArray<Document>) =>
  documents.map(
    (document) =>
      `${String(document.object.kind)}/${String((document.object.metadata as { name?: string } | undefined)?.name)}`
  )

const parsed = (file: string, text: string): Array<Document> => {
  const result = parseDocuments(file, text)
  if (Result.isFailure(result)) throw new Error(`unexpected failure: ${result.failure.message}`)
  return result.success
}

const failure = (file: string, text: string) => {
  const result = parseDocuments(file, text)
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  return result.failure
}

let root = ""

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "portico-documents-"))
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  write("tree/b.yaml", "kind: B\nmetadata: {name: b}\n")
  write("tree/a.yml", "kind: A\nmetadata: {name: a}\n---\nkind: A\nmetadata: {name: a2}\n")
  write("tree/c/z.json", '{"kind": "Z", "metadata": {"name": "z"}}')
  write("tree/c/d.YAML", "kind: D\nmetadata: {name: d}\n")
  write("tree/notes.txt", "kind: NotRead\n")
  write("tree/README.md", "# not read\n")
  write("tree/.hidden.yaml", "kind: Hidden\n")
  write("tree/.git/config.yaml", "kind: Hidden\n")
  write("tree/..data/a.yaml", "kind: Hidden\n")
  mkdirSync(join(root, "tree/dir.yaml"))
  write("tree/dir.yaml/inner.yaml", "kind: Inner\nmetadata: {name: inner}\n")
  symlinkSync(join(root, "nowhere.yaml"), join(root, "tree/dangling.yaml"))
  write("empty/notes.txt", "nothing\n")
  write("single.yaml", "kind: Single\nmetadata: {name: s}\n")
  write("broken.yaml", "kind: Ok\n---\nkind: Gateway\nspec:\n  listeners: [\n    {port: 80\n")
  write("scalar.yaml", "kind: Ok\n---\njust a string\n")
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe("parseDocuments", () => {
  it("returns every mapping in order, skipping empty and null documents but counting them", () => {
    const documents = parsed("x.yaml", "---\nkind: A\n---\n---\n# only a comment\n---\nnull\n---\n~\n---\nkind: B\n")
    assert.deepStrictEqual(
      documents.map((document) => [document.index, document.object.kind]),
      [
        [0, "A"],
        [5, "B"]
      ]
    )
    assert.isTrue(documents.every((document) => document.file === "x.yaml" && document.item === undefined))
  })

  it("returns nothing for an empty file or a file of comments", () => {
    assert.deepStrictEqual(parsed("x.yaml", ""), [])
    assert.deepStrictEqual(parsed("x.yaml", "# nothing here\n"), [])
  })

  it("expands a kind: List document into its items", () => {
    const documents = parsed(
      "list.yaml",
      [
        "kind: Before",
        "---",
        "apiVersion: v1",
        "kind: List",
        "items:",
        "  - {apiVersion: v1, kind: Service, metadata: {name: one}}",
        "  - null",
        "  - {apiVersion: v1, kind: Service, metadata: {name: two}}",
        "---",
        "kind: After"
      ].join("\n")
    )
    assert.deepStrictEqual(
      documents.map((document) => [document.index, document.item, document.object.kind]),
      [
        [0, undefined, "Before"],
        [1, 0, "Service"],
        [1, 2, "Service"],
        [2, undefined, "After"]
      ]
    )
  })

  it("fills apiVersion and kind of the items of a typed list, and expands nested lists", () => {
    const documents = parsed(
      "list.yaml",
      [
        "apiVersion: gateway.networking.k8s.io/v1",
        "kind: GatewayList",
        "items:",
        "  - metadata: {name: a}",
        "  - {apiVersion: v1, kind: List, items: [{kind: Inner}]}",
        "  - {apiVersion: gateway.networking.k8s.io/v1beta1, kind: Gateway, metadata: {name: b}}"
      ].join("\n")
    )
    assert.deepStrictEqual(
      documents.map((document) => [document.item, document.object.apiVersion, document.object.kind]),
      [
        [0, "gateway.networking.k8s.io/v1", "Gateway"],
        [1, undefined, "Inner"],
        [2, "gateway.networking.k8s.io/v1beta1", "Gateway"]
      ]
    )
  })

  it("treats an empty List as no objects", () => {
    assert.deepStrictEqual(parsed("x.yaml", "apiVersion: v1\nkind: List\nitems: []\n"), [])
    assert.deepStrictEqual(parsed("x.yaml", "apiVersion: v1\nkind: List\n"), [])
  })

  it("reads JSON, a byte order mark, and merge keys", () => {
    assert.deepStrictEqual(names(parsed("x.json", '{"kind": "K", "metadata": {"name": "n"}}')), ["K/n"])
    assert.deepStrictEqual(names(parsed("x.yaml", "\uFEFFkind: K\nmetadata: {name: n}\n")), ["K/n"])
    const [merged] = parsed("x.yaml", "base: &b {a: 1, b: 2}\nkind: K\nspec:\n  <<: *b\n  b: 3\n")
    assert.deepStrictEqual(merged?.object.spec, { a: 1, b: 3 })
  })

  it("keeps YAML 1.2 scalars: timestamps and yes/no stay strings", () => {
    const [document] = parsed("x.yaml", "kind: K\nmetadata:\n  creationTimestamp: 2024-01-02T03:04:05Z\nvalue: yes\n")
    assert.deepStrictEqual(document?.object.metadata, { creationTimestamp: "2024-01-02T03:04:05Z" })
    assert.strictEqual(document?.object.value, "yes")
  })

  it("reports a syntax error with file, document, line, column and the parser's message", () => {
    const error = failure("examples/x.yaml", "kind: A\n---\nkind: B\nspec:\n  - a\n   b: c\n")
    assert.instanceOf(error, DocumentSyntaxError)
    if (!(error instanceof DocumentSyntaxError)) return
    assert.strictEqual(error.index, 1)
    assert.strictEqual(error.line, 5)
    assert.strictEqual(error.column, 5)
    assert.match(error.message, /^examples\/x\.yaml: document 2 \(line 5, column 5\): \S/)
    assert.include(error.message, error.reason)
  })

  it("reports duplicate keys as a syntax error", () => {
    const error = failure("dup.yaml", "kind: A\nmetadata: {name: a}\nkind: B\n")
    assert.instanceOf(error, DocumentSyntaxError)
    assert.match(error.message, /^dup\.yaml: document 1 \(line 3, column 1\): .*unique/)
  })

  it("rejects documents that are not mappings, naming file and document", () => {
    const sequence = failure("x.yaml", "kind: A\n---\n- a\n- b\n")
    assert.instanceOf(sequence, DocumentShapeError)
    assert.strictEqual(
      sequence.message,
      "x.yaml: document 2: expected a Kubernetes object (a mapping), found a sequence"
    )
    const scalar = failure("x.yaml", "hello\n")
    assert.strictEqual(
      scalar.message,
      "x.yaml: document 1: expected a Kubernetes object (a mapping), found a string (hello)"
    )
  })

  it("rejects List items that are not mappings, naming the item", () => {
    const error = failure("x.yaml", "apiVersion: v1\nkind: List\nitems:\n  - {kind: A}\n  - 42\n")
    assert.instanceOf(error, DocumentShapeError)
    assert.strictEqual(
      error.message,
      "x.yaml: document 1, item 2: expected a Kubernetes object (a mapping), found a scalar (42)"
    )
    const notArray = failure("x.yaml", "apiVersion: v1\nkind: List\nitems: nope\n")
    assert.match(notArray.message, /^x\.yaml: document 1: .*List whose items is a string/)
  })

  it("formats locations counting from 1", () => {
    assert.strictEqual(formatLocation({ file: "f.yaml", index: 0 }), "f.yaml: document 1")
    assert.strictEqual(formatLocation({ file: "f.yaml", index: 2, item: 4 }), "f.yaml: document 3, item 5")
  })
})

describe("Documents", () => {
  it.effect("reads a directory recursively: document files only, sorted by path, hidden entries skipped", () =>
    Effect.gen(function* () {
      const documents = yield* Documents
      const tree = join(root, "tree")
      const read = yield* documents.read([tree])
      assert.deepStrictEqual(
        read.map((document) => [document.file, document.index, names([document])[0]]),
        [
          [join(tree, "a.yml"), 0, "A/a"],
          [join(tree, "a.yml"), 1, "A/a2"],
          [join(tree, "b.yaml"), 0, "B/b"],
          [join(tree, "c/d.YAML"), 0, "D/d"],
          [join(tree, "c/z.json"), 0, "Z/z"],
          [join(tree, "dir.yaml/inner.yaml"), 0, "Inner/inner"]
        ]
      )
      assert.deepStrictEqual(yield* documents.files(tree), [
        join(tree, "a.yml"),
        join(tree, "b.yaml"),
        join(tree, "c/d.YAML"),
        join(tree, "c/z.json"),
        join(tree, "dir.yaml/inner.yaml")
      ])
    }).pipe(Effect.provide(live))
  )

  it.effect("reads sources in the order given, files with any extension", () =>
    Effect.gen(function* () {
      const documents = yield* Documents
      const notes = join(root, "tree/notes.txt")
      const read = yield* documents.read([join(root, "single.yaml"), notes, join(root, "tree/c")])
      assert.deepStrictEqual(names(read), ["Single/s", "NotRead/undefined", "D/d", "Z/z"])
      assert.deepStrictEqual(yield* documents.files(notes), [notes])
    }).pipe(Effect.provide(live))
  )

  it.effect("reads nothing from a directory without document files", () =>
    Effect.gen(function* () {
      const documents = yield* Documents
      assert.deepStrictEqual(yield* documents.read([join(root, "empty")]), [])
    }).pipe(Effect.provide(live))
  )

  it.effect("fails clearly on a missing path", () =>
    Effect.gen(function* () {
      const documents = yield* Documents
      const missing = join(root, "missing.yaml")
      const error = yield* documents.read([join(root, "single.yaml"), missing]).pipe(Effect.flip)
      assert.instanceOf(error, DocumentSourceError)
      assert.strictEqual(error.message, `no such file or directory: ${missing}`)
      if (error._tag === "DocumentSourceError") assert.strictEqual(error.reason, "NotFound")
    }).pipe(Effect.provide(live))
  )

  it.effect("fails on the first document error, naming its file", () =>
    Effect.gen(function* () {
      const documents = yield* Documents
      const broken = join(root, "broken.yaml")
      const syntax = yield* documents.read([broken]).pipe(Effect.flip)
      assert.instanceOf(syntax, DocumentSyntaxError)
      assert.match(
        syntax.message,
        new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: document 2 \\(line \\d+, column \\d+\\): `)
      )
      const shape = yield* documents.read([join(root, "scalar.yaml")]).pipe(Effect.flip)
      assert.instanceOf(shape, DocumentShapeError)
      assert.include(shape.message, "scalar.yaml: document 2: expected a Kubernetes object")
    }).pipe(Effect.provide(live))
  )

  it.effect("reads stdin for -, in its place among the sources", () =>
    Effect.gen(function* () {
      const documents = yield* Documents
      const read = yield* documents.read([join(root, "single.yaml"), "-"])
      assert.deepStrictEqual(names(read), ["Single/s", "FromStdin/one", "FromStdin/two"])
      assert.deepStrictEqual(
        read.slice(1).map((document) => [document.file, document.index]),
        [
          [STDIN_NAME, 0],
          [STDIN_NAME, 1]
        ]
      )
    }).pipe(
      Effect.provide(withStdin("kind: FromStdin\nmetadata: {name: one}\n---\nkind: FromStdin\nmetadata: {name: two}\n"))
    )
  )

  it.effect("reports stdin syntax errors under <stdin>, and refuses to read stdin twice", () =>
    Effect.gen(function* () {
      const documents = yield* Documents
      const syntax = yield* documents.read(["-"]).pipe(Effect.flip)
      assert.match(syntax.message, /^<stdin>: document 1 \(line 2, column \d+\): /)
      const twice = yield* documents.read(["-", "-"]).pipe(Effect.flip)
      assert.instanceOf(twice, DocumentSourceError)
      assert.include(twice.message, "only once")
    }).pipe(Effect.provide(withStdin("kind: [A\nb: c\n")))
  )
})
