/**
 * ShellCheck on every shell script of kind/ and scripts/ (the parts CI cannot run: kind-up, deploy,
 * e2e, conformance, and the tool builders). Any finding, at any severity, fails. shellcheck is a
 * Debian package (`make shellcheck` installs it with apt-get); when it is missing this test fails,
 * it is never skipped.
 */
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { repoRoot } from "../support/gatewayApiDir.ts"

const SCRIPT_DIRS = ["kind", "scripts"] as const

const scripts: ReadonlyArray<string> = SCRIPT_DIRS.flatMap((dir) =>
  readdirSync(join(repoRoot, dir))
    .filter((name) => name.endsWith(".sh"))
    .sort()
    .map((name) => `${dir}/${name}`)
)

const shellcheck = (args: ReadonlyArray<string>, input?: string) =>
  spawnSync("shellcheck", args, { cwd: repoRoot, encoding: "utf8", input, timeout: 60_000 })

describe("shellcheck", () => {
  it("is installed (make shellcheck: apt-get install -y shellcheck)", () => {
    const version = shellcheck(["--version"])
    if (version.error !== undefined || version.status !== 0) {
      throw new Error(
        "shellcheck is not installed: run `make shellcheck` (apt-get install -y shellcheck); the shell scripts of kind/ and scripts/ are not checked without it"
      )
    }
    expect(version.stdout).toMatch(/version: \d+\.\d+/)
  })

  it("covers the scripts of kind/ and scripts/", () => {
    for (const expected of [
      "kind/up.sh",
      "kind/down.sh",
      "kind/deploy.sh",
      "kind/quickstart.sh",
      "kind/e2e.sh",
      "kind/lib.sh",
      "scripts/envtest.sh",
      "scripts/helm.sh",
      "scripts/conformance.sh"
    ]) {
      expect(scripts).toContain(expected)
    }
  })

  it("finds nothing in kind/*.sh and scripts/*.sh (sourced files followed)", () => {
    const result = shellcheck(["--external-sources", "--severity=style", "--format=gcc", ...scripts])
    if (result.error !== undefined) throw new Error(`shellcheck did not run: ${result.error.message}`)
    expect(result.stdout, result.stdout).toBe("")
    expect(result.status).toBe(0)
  })

  it("reports findings (so a clean run means something)", () => {
    const result = shellcheck(
      ["--shell=bash", "--format=gcc", "-"],
      "rm -rf $dir/*\nfor f in $(ls); do echo $f; done\n"
    )
    expect(result.status).not.toBe(0)
    expect(result.stdout).toMatch(/SC2086/)
  })
})
