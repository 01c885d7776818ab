/**
 * The end-to-end suite (e2e/, `make e2e`) cannot run here (it needs Docker, internet and a kind
 * cluster), so this checks what can be checked without them: it is kept out of `make test`, it covers
 * every flow of the issue, nothing in it can be skipped, and without a cluster it fails at once with
 * one line saying what is missing.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { repoRoot } from "../support/gatewayApiDir.ts"

const E2E_DIR = join(repoRoot, "e2e")
const work = mkdtempSync(join(tmpdir(), "portico-e2e-static-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const filesBelow = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesBelow(join(dir, entry.name)) : [join(dir, entry.name)]
  )
const sources = filesBelow(E2E_DIR).filter((file) => file.endsWith(".ts"))
const testFiles = sources.filter((file) => file.endsWith(".test.ts"))
const text = (file: string) => readFileSync(file, "utf8")

/** Runs the e2e suite the way make e2e does, with the given kubeconfig and no E2E_KUBE_CONTEXT. */
const runSuite = (kubeconfig: string) => {
  const env: { [key: string]: string | undefined } = { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: "1" }
  delete env.E2E_KUBE_CONTEXT
  delete env.VITEST
  delete env.VITEST_POOL_ID
  delete env.VITEST_WORKER_ID
  delete env.NODE_OPTIONS
  const started = Date.now()
  const result = spawnSync(
    process.execPath,
    [join(repoRoot, "node_modules", "vitest", "vitest.mjs"), "run", "--config", "e2e/vitest.config.ts"],
    { cwd: repoRoot, encoding: "utf8", env, timeout: 90_000 }
  )
  return { ...result, ms: Date.now() - started }
}

describe("e2e suite", () => {
  it("is not part of make test: the root vitest config includes test/ only", () => {
    const root = text(join(repoRoot, "vitest.config.ts"))
    expect(root).toMatch(/include: \["test\/\*\*\/\*\.test\.ts"\]/)
    expect(text(join(E2E_DIR, "vitest.config.ts"))).toMatch(/include: \["e2e\/\*\*\/\*\.test\.ts"\]/)
  })

  it("has a test for every flow", () => {
    const all = testFiles.map(text).join("\n")
    for (const flow of [
      /Host: www\.example\.com/,
      /Added-Header/,
      /weights 8\/2/,
      /terminates TLS for SNI/,
      /RequestRedirect/,
      /URLRewrite/,
      /RequestMirror/,
      /ResponseHeaderModifier/,
      /kind: "GRPCRoute"/,
      /kind: "TLSRoute"/,
      /kind: "TCPRoute"/,
      /status\.addresses/,
      /removes its fleet/
    ]) {
      expect(all).toMatch(flow)
    }
  })

  it("skips nothing: no skip, todo, only, skipIf or runIf", () => {
    for (const file of sources) {
      const found = /\b(it|test|describe)\s*\.\s*(skip|todo|only|skipIf|runIf|fails)\b|\bctx\.skip\(|\.skip\(\)/.exec(
        text(file)
      )
      expect(found?.[0], `${file}: ${found?.[0]}`).toBeUndefined()
    }
  })

  it("fails at once with one line when the kubeconfig has no kind-portico context", () => {
    const kubeconfig = join(work, "empty.yaml")
    writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    const result = runSuite(kubeconfig)
    expect(result.status).toBe(1)
    const lines = `${result.stdout}\n${result.stderr}`.split("\n").filter((line) => line.startsWith("e2e:"))
    expect(lines).toEqual([
      `e2e: kubeconfig ${kubeconfig} has no context kind-portico: the suite needs a live cluster, run make kind-up (needs Docker and internet) or set E2E_KUBE_CONTEXT`
    ])
    expect(result.stdout).not.toMatch(/passed|skipped/)
  })

  it("fails at once with one line when the cluster's API server does not answer", () => {
    const kubeconfig = join(work, "dead.yaml")
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: kind-portico, cluster: {server: 'https://127.0.0.1:9'}}]",
        "contexts: [{name: kind-portico, context: {cluster: kind-portico, user: kind-portico}}]",
        "users: [{name: kind-portico, user: {token: not-a-token}}]",
        "current-context: kind-portico",
        ""
      ].join("\n")
    )
    const result = runSuite(kubeconfig)
    expect(result.status).toBe(1)
    const lines = `${result.stdout}\n${result.stderr}`.split("\n").filter((line) => line.startsWith("e2e:"))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^e2e: the API server of context kind-portico \(https:\/\/127\.0\.0\.1:9\) does not answer .*make kind-up needs Docker and internet$/
    )
    expect(result.stdout).not.toMatch(/passed|skipped/)
  })
})
