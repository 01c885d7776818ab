/**
 * Golden tests of `portico translate`: every `test/golden/translate/<case>.in.yaml` is translated
 * exactly as `portico translate -f test/golden/translate/<case>.in.yaml` does (same parser, same
 * pure pipeline, same rendering), and the result is compared with `<case>.out.yaml`.
 *
 * What a `.out.yaml` holds:
 * - translation ran (exit 0): the command's stdout, byte for byte; anything the command wrote to
 *   stderr (notes such as `note: ignored 2 objects of kinds ...`) comes first, each line as a YAML
 *   comment (`# note: ...`), so the file stays one valid YAML stream;
 * - the input was rejected (exit 1): the command's stderr, byte for byte (the error lines and the
 *   closing `error: ...` line).
 *
 * `UPDATE_GOLDEN=1 node_modules/.bin/vitest run test/golden` rewrites every `.out.yaml` from the
 * current output. Each `.in.yaml` starts with a comment header saying what the case checks.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Option, Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  formatIgnoredNote,
  formatTranslateError,
  outputDocuments,
  renderDocuments
} from "../../src/cli/TranslateCommand.ts"
import { parseDocuments } from "../../src/providers/file/Documents.ts"
import { DEFAULT_CONTROLLER_NAME, translateObjects } from "../../src/reconcilers/Translate.ts"

const repo = fileURLToPath(new URL("../..", import.meta.url))
const CASES_DIR = "test/golden/translate"
const casesPath = join(repo, CASES_DIR)
const update = process.env.UPDATE_GOLDEN === "1"

/** What the command prints, and how it exits. */
interface Run {
  readonly code: 0 | 1
  readonly stdout: string
  readonly stderr: string
}

/** `Console.log` of the rendered text without its last newline, as the command does. */
const printed = (rendered: string): string =>
  rendered === "" ? "" : `${rendered.endsWith("\n") ? rendered.slice(0, -1) : rendered}\n`

/** The code path of `portico translate -f FILE` (default flags: `-o yaml --to status,ir`), without I/O. */
const translateFile = (file: string, text: string): Run => {
  const parsed = parseDocuments(file, text)
  if (Result.isFailure(parsed)) return { code: 1, stdout: "", stderr: `error: ${parsed.failure.message}\n` }
  const read = parsed.success
  const objects = read.map((document) => document.object)
  const result = translateObjects(objects, { controllerName: DEFAULT_CONTROLLER_NAME })
  if (result.errors.length > 0) {
    const objectCount = new Set(result.errors.map((error) => error.index)).size
    const objectsText = objectCount === 1 ? "1 invalid object" : `${objectCount} invalid objects`
    const errorsText = result.errors.length === 1 ? "1 error" : `${result.errors.length} errors`
    const count = `${objectsText} (${errorsText})`
    const lines = [
      ...result.errors.map((error) => formatTranslateError(error, read)),
      `error: ${count}; nothing translated`
    ]
    return { code: 1, stdout: "", stderr: `${lines.join("\n")}\n` }
  }
  const notes: Array<string> = []
  if (read.length === 0) notes.push(`note: no objects in ${file}`)
  const note = formatIgnoredNote(result.ignored, objects)
  if (Option.isSome(note)) notes.push(note.value)
  const stdout = printed(renderDocuments(outputDocuments(result, ["status", "ir"]), "yaml"))
  return { code: 0, stdout, stderr: notes.map((line) => `${line}\n`).join("") }
}

/** The golden text of a run (see the module comment). */
const goldenText = (run: Run): string =>
  run.code === 1
    ? run.stderr
    : `${run.stderr
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => `# ${line}\n`)
        .join("")}${run.stdout}`

const caseNames = (): Array<string> =>
  readdirSync(casesPath)
    .filter((file) => file.endsWith(".in.yaml"))
    .map((file) => file.slice(0, -".in.yaml".length))
    .sort()

const inputOf = (name: string): { readonly file: string; readonly text: string } => ({
  file: `${CASES_DIR}/${name}.in.yaml`,
  text: readFileSync(join(casesPath, `${name}.in.yaml`), "utf8")
})

const runCase = (name: string): string => {
  const { file, text } = inputOf(name)
  return goldenText(translateFile(file, text))
}

const cases = caseNames()

describe("portico translate golden cases", () => {
  it("has cases, each .out.yaml belongs to a case", () => {
    expect(cases.length).toBeGreaterThan(0)
    const outputs = readdirSync(casesPath).filter((file) => file.endsWith(".out.yaml"))
    const orphans = outputs.filter((file) => !cases.includes(file.slice(0, -".out.yaml".length)))
    expect(orphans, "every .out.yaml needs its .in.yaml (delete the stale ones)").toEqual([])
  })

  it.each(cases)("%s", (name) => {
    const { text } = inputOf(name)
    expect(
      text.startsWith("# "),
      `${name}.in.yaml must start with a comment header: # <what this case checks and what the spec says should happen>`
    ).toBe(true)
    const actual = runCase(name)
    const outPath = join(casesPath, `${name}.out.yaml`)
    if (update) {
      writeFileSync(outPath, actual)
      return
    }
    if (!existsSync(outPath)) {
      expect.fail(
        `${CASES_DIR}/${name}.out.yaml is missing: create it with UPDATE_GOLDEN=1 node_modules/.bin/vitest run test/golden, then review it against the spec`
      )
    }
    expect(actual).toBe(readFileSync(outPath, "utf8"))
  })

  it("translates the same input to the same bytes twice", () => {
    for (const name of cases) expect(runCase(name)).toBe(runCase(name))
  })
})

/** The runner must print what the command prints: check it against the real CLI on a few cases. */
describe("the golden runner matches `portico translate`", () => {
  const cli = (file: string): Run => {
    const run = spawnSync(process.execPath, [join(repo, "src/main.ts"), "translate", "-f", file], {
      cwd: repo,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"]
    })
    return { code: run.status === 0 ? 0 : 1, stdout: run.stdout, stderr: run.stderr }
  }

  /** One case per output shape: objects and IR; a stderr note; schema errors; unreadable YAML. */
  const samples = ["minimal-quickstart", "ignored-kinds", "schema-invalid-object", "yaml-syntax-error"]

  it.each(samples)("%s", (name) => {
    const { file, text } = inputOf(name)
    expect(cli(file)).toEqual(translateFile(file, text))
  })
})
