/**
 * FolderState: how one read of a watched folder folds into what the pipeline sees. Unparseable
 * files and schema-invalid objects keep serving their last good versions; deleted files go.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { parseDocuments } from "../../../src/providers/file/Documents.ts"
import { FolderState } from "../../../src/providers/file/FileProvider.ts"

const parse = (file: string, text: string) => Effect.fromResult(parseDocuments(file, text))

const route = (name: string, port: number) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  namespace: default
spec:
  rules:
    - backendRefs:
        - name: svc
          port: ${port}
`

const read = (state: FolderState, files: Record<string, string | { readonly error: string }>) =>
  Effect.runSync(
    state.next(
      new Map(Object.entries(files).map(([file, v]) => [file, typeof v === "string" ? { text: v } : v])),
      parse
    )
  )

const ports = (batch: ReturnType<typeof read>) =>
  batch.documents.map((d) => {
    const spec = d.object.spec as { rules: Array<{ backendRefs: Array<{ port: number }> }> }
    return `${(d.object.metadata as { name: string }).name}:${spec.rules[0]?.backendRefs[0]?.port}`
  })

describe("FolderState", () => {
  it("reads every file's documents, sorted by file", () => {
    const batch = read(new FolderState(), { "b.yaml": route("b", 80), "a.yaml": route("a", 81) })
    expect(ports(batch)).toEqual(["a:81", "b:80"])
    expect(batch.errors).toEqual([])
    expect(batch.files).toBe(2)
  })

  it("a file that stops parsing keeps its last good documents, and says so with line and column", () => {
    const state = new FolderState()
    read(state, { "a.yaml": route("a", 80) })
    const broken = read(state, { "a.yaml": `${route("a", 81)}  x: [\n` })
    expect(ports(broken)).toEqual(["a:80"])
    expect(broken.errors).toHaveLength(1)
    expect(broken.errors[0]?.source).toBe("a.yaml")
    expect(broken.errors[0]?.message).toMatch(
      /^a\.yaml: document 1 \(line \d+, column \d+\): .*; serving its last good version$/
    )
    const fixed = read(state, { "a.yaml": route("a", 82) })
    expect(ports(fixed)).toEqual(["a:82"])
    expect(fixed.errors).toEqual([])
  })

  it("a file broken from the start contributes nothing and no 'last good' claim", () => {
    const batch = read(new FolderState(), { "a.yaml": "x: [\n", "b.yaml": route("b", 80) })
    expect(ports(batch)).toEqual(["b:80"])
    expect(batch.errors[0]?.message).not.toContain("last good")
  })

  it("an object that turns invalid keeps its last valid version; a new invalid one is left out", () => {
    const state = new FolderState()
    read(state, { "a.yaml": route("a", 80) })
    const batch = read(state, { "a.yaml": `${route("a", 0)}---\n${route("n", 70000)}` })
    expect(ports(batch)).toEqual(["a:80"])
    expect(batch.errors).toEqual([
      {
        source: "a.yaml: document 1",
        message:
          "HTTPRoute default/a: spec.rules[0].backendRefs[0].port: expected a value between 1 and 65535, got 0; serving its last valid version"
      },
      {
        source: "a.yaml: document 2",
        message:
          "HTTPRoute default/n: spec.rules[0].backendRefs[0].port: expected a value between 1 and 65535, got 70000"
      }
    ])
  })

  it("a deleted file's objects go; an unreadable one keeps serving", () => {
    const state = new FolderState()
    read(state, { "a.yaml": route("a", 80), "b.yaml": route("b", 81) })
    const batch = read(state, { "b.yaml": { error: "cannot read: permission denied" } })
    expect(ports(batch)).toEqual(["b:81"])
    expect(batch.errors).toEqual([
      { source: "b.yaml", message: "cannot read: permission denied; serving its last good version" }
    ])
  })
})
