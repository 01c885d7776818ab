/**
 * The kind tooling, checked without Docker or internet:
 * - every entry point (make kind-up, kind-down, deploy, quickstart, e2e, image, conformance) fails at
 *   once with one clear line when Docker, its engine, internet access or the cluster is missing (the
 *   missing tools are simulated with a PATH of stand-ins, so this holds on machines with Docker too);
 * - the pins agree: kind's node image in kind/cluster.yaml and kind/lib.sh, the Gateway API version
 *   with the one Portico implements;
 * - the MetalLB pool is carved from the top of docker's kind subnet.
 */
import { spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { GATEWAY_API_BUNDLE_VERSION } from "../../src/Version.ts"
import { repoRoot } from "../support/gatewayApiDir.ts"

const BASH = "/bin/bash"
const work = mkdtempSync(join(tmpdir(), "portico-kind-static-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const which = (command: string): string => {
  const found = spawnSync(BASH, ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim()
  if (found === "") throw new Error(`${command} is needed by this test`)
  return found
}

/** A PATH of the real coreutils the scripts need before their checks, plus stand-in commands. */
const fakePath = (name: string, stubs: { readonly [command: string]: number | string }): string => {
  const dir = join(work, name)
  spawnSync("mkdir", ["-p", dir])
  for (const tool of ["dirname", "timeout", "grep", "mktemp", "cat", "sed"]) symlinkSync(which(tool), join(dir, tool))
  for (const [command, behaviour] of Object.entries(stubs)) {
    const body = typeof behaviour === "number" ? `exit ${behaviour}` : behaviour
    writeFileSync(join(dir, command), `#!${BASH}\n${body}\n`)
    chmodSync(join(dir, command), 0o755)
  }
  return dir
}

const run = (script: string, path: string, env: { readonly [key: string]: string } = {}) => {
  const started = Date.now()
  const result = spawnSync(BASH, [join(repoRoot, script)], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: path, HOME: work, XDG_CACHE_HOME: join(work, "cache"), ...env }
  })
  return { status: result.status, stderr: result.stderr, stdout: result.stdout, ms: Date.now() - started }
}

const ENTRY_POINTS = [
  ["kind/up.sh", "kind-up"],
  ["kind/down.sh", "kind-down"],
  ["kind/deploy.sh", "deploy"],
  ["kind/quickstart.sh", "quickstart"],
  ["kind/e2e.sh", "e2e"],
  ["kind/image.sh", "image"],
  ["scripts/conformance.sh", "conformance"]
] as const

describe("fail fast with one clear line", () => {
  const noDocker = fakePath("no-docker", {})
  const dockerDown = fakePath("docker-down", { docker: 1 })
  const offline = fakePath("offline", { docker: 0, kubectl: 0, curl: 7 })
  const noCluster = fakePath("no-cluster", { docker: 0, kubectl: 0, curl: 0, kind: 0 })

  it.each(ENTRY_POINTS)("%s without Docker says so", (script, target) => {
    const result = run(script, noDocker)
    expect(result.status).toBe(1)
    expect(result.stderr).toBe(`docker is not installed: make ${target} needs a Docker engine\n`)
    expect(result.ms).toBeLessThan(10_000)
  })

  it.each(ENTRY_POINTS)("%s with Docker's engine down says so", (script, target) => {
    const result = run(script, dockerDown)
    expect(result.status).toBe(1)
    expect(result.stderr).toBe(`docker is not running: make ${target} needs a Docker engine\n`)
  })

  it("kind/up.sh without internet access says what it downloads", () => {
    const result = run("kind/up.sh", offline)
    expect(result.status).toBe(1)
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1)
    expect(result.stderr).toMatch(
      /^no internet access \(https:\/\/github\.com\/ does not answer\): make kind-up downloads MetalLB v\d/
    )
  })

  it.each(ENTRY_POINTS.filter(([, target]) => ["deploy", "quickstart", "e2e", "conformance"].includes(target)))(
    "%s without the kind cluster says to run make kind-up",
    (script, target) => {
      const result = run(script, noCluster, { KIND: join(noCluster, "kind") })
      expect(result.status).toBe(1)
      expect(result.stderr).toBe(
        `there is no kind cluster 'portico': make ${target} needs one, run make kind-up first\n`
      )
    }
  )
})

describe("pins", () => {
  const lib = readFileSync(join(repoRoot, "kind", "lib.sh"), "utf8")
  const pin = (name: string): string => {
    const match = new RegExp(`^${name}="([^"]+)"$`, "m").exec(lib)
    if (match?.[1] === undefined) throw new Error(`kind/lib.sh sets no ${name}`)
    return match[1]
  }

  it("kind/cluster.yaml runs kind's node image pinned by digest, the same as kind/lib.sh names", () => {
    const cluster = parse(readFileSync(join(repoRoot, "kind", "cluster.yaml"), "utf8")) as {
      kind: string
      apiVersion: string
      nodes: Array<{ role: string; image: string }>
    }
    expect(cluster.kind).toBe("Cluster")
    expect(cluster.apiVersion).toBe("kind.x-k8s.io/v1alpha4")
    expect(cluster.nodes.map((n) => n.role)).toEqual(["control-plane", "worker"])
    for (const node of cluster.nodes) {
      expect(node.image).toBe(pin("KIND_NODE_IMAGE"))
      expect(node.image).toMatch(/^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/)
    }
  })

  it("pins kind, MetalLB and the Gateway API release Portico implements", () => {
    expect(pin("KIND_VERSION")).toMatch(/^v\d+\.\d+\.\d+$/)
    expect(pin("METALLB_VERSION")).toMatch(/^v\d+\.\d+\.\d+$/)
    expect(pin("GATEWAY_API_VERSION")).toBe(GATEWAY_API_BUNDLE_VERSION)
  })
})

describe("MetalLB pool", () => {
  const poolRange = (cidr: string) =>
    spawnSync(BASH, ["-c", 'source kind/lib.sh && pool_range "$1"', "pool", cidr], { cwd: repoRoot, encoding: "utf8" })

  it.each([
    ["172.18.0.0/16", "172.18.255.200-172.18.255.250"],
    ["172.19.0.1/16", "172.19.255.200-172.19.255.250"],
    ["10.89.0.0/24", "10.89.0.200-10.89.0.250"],
    ["192.168.16.0/20", "192.168.31.200-192.168.31.250"]
  ])("takes 51 addresses near the top of %s", (cidr, range) => {
    const result = poolRange(cidr)
    expect(result.stderr).toBe("")
    expect(result.stdout.trim()).toBe(range)
  })

  it("refuses a subnet too small or not IPv4", () => {
    expect(poolRange("10.0.0.0/25").stderr).toMatch(/too small/)
    expect(poolRange("fc00:f853:ccd:e793::/64").stderr).toMatch(/not an IPv4 subnet/)
  })
})
