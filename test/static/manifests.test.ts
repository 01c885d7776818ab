/**
 * What users apply, validated by a real kube-apiserver (test/support/kube/EnvTest.ts, with the
 * Gateway API CRDs and ours installed) through server-side dry-run applies, which run the API's
 * schema validation, defaulting and CEL rules but store nothing:
 *
 * - the install manifest, produced as `make manifests` produces release/install.yaml (`portico synth`);
 * - examples/quickstart.yaml, in a namespace as `kubectl apply -n` would put it;
 * - the Helm chart as `make chart` writes it (scripts/chart.ts): `helm lint --strict`, and the output
 *   of `helm template` with default and with custom values. helm is built from its Go module by
 *   scripts/helm.sh (cached; the first build takes minutes).
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import { isNotFound, type KubeObject } from "../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../src/providers/kubernetes/KubeClient.ts"
import { DEFAULT_CONTROLLER_NAME } from "../../src/reconcilers/Translate.ts"
import { repoRoot } from "../support/gatewayApiDir.ts"
import { type EnvTest, startEnvTest } from "../support/kube/EnvTest.ts"

/** The first build of kube-apiserver, etcd and helm takes minutes (cached afterwards). */
const BUILD_TIMEOUT_MS = 30 * 60_000
const CONTROLLER_NAMESPACE = "envoy-gateway-system"
const QUICKSTART_NAMESPACE = "portico-quickstart"
const HELM_NAMESPACE = "portico-helm"
const FIELD_MANAGER = "portico-static-check"

const work = mkdtempSync(join(tmpdir(), "portico-manifests-"))
let env: EnvTest
let runtime: ManagedRuntime.ManagedRuntime<KubeClient, unknown>

beforeAll(async () => {
  env = await startEnvTest({ namespaces: [CONTROLLER_NAMESPACE, QUICKSTART_NAMESPACE, HELM_NAMESPACE] })
  runtime = ManagedRuntime.make(KubeClient.layerFromKubeConfig(env.kubeConfig))
}, BUILD_TIMEOUT_MS)
afterAll(async () => {
  await runtime?.dispose()
  await env?.stop()
  rmSync(work, { recursive: true, force: true })
})

type Json = { [key: string]: unknown }

/** Multi-document YAML as objects (empty documents dropped); YAML 1.1, as the manifests are written. */
const parseManifests = (text: string): Array<KubeObject> =>
  parseAllDocuments(text, { version: "1.1" })
    .map((document) => {
      if (document.errors.length > 0) throw new Error(document.errors.map((e) => e.message).join("; "))
      return document.toJS() as unknown
    })
    .filter((value): value is KubeObject => typeof value === "object" && value !== null)

const kindsOf = (objects: ReadonlyArray<KubeObject>) => objects.map((o) => o.kind)
const named = (objects: ReadonlyArray<KubeObject>, kind: string, name?: string): Json => {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
  if (found === undefined) throw new Error(`no ${kind} ${name ?? ""}`)
  return found as Json
}
const at = (value: unknown, ...path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>((current, step) => (current as { [k: string]: unknown } | undefined)?.[step], value)

interface DryRun {
  readonly object: string
  readonly error?: string
  readonly result?: KubeObject
}

/** Server-side dry-run apply of each object, in order; every outcome is kept. */
const dryRun = (objects: ReadonlyArray<KubeObject>): Promise<ReadonlyArray<DryRun>> =>
  runtime.runPromise(
    Effect.gen(function* () {
      const kube = yield* KubeClient
      const out: Array<DryRun> = []
      for (const object of objects) {
        const name = `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata.name}`
        const applied = yield* kube
          .serverSideApply(object, { dryRun: true, fieldManager: FIELD_MANAGER })
          .pipe(Effect.result)
        out.push(
          applied._tag === "Success"
            ? { object: name, result: applied.success }
            : { object: name, error: applied.failure.message }
        )
      }
      return out
    })
  )

const failures = (results: ReadonlyArray<DryRun>) => results.filter((r) => r.error !== undefined)

const exists = (object: KubeObject): Promise<boolean> =>
  runtime.runPromise(
    Effect.gen(function* () {
      const kube = yield* KubeClient
      return yield* kube.get(object, object.metadata).pipe(
        Effect.as(true),
        Effect.catchIf(isNotFound, () => Effect.succeed(false))
      )
    })
  )

const node = (args: ReadonlyArray<string>): string =>
  execFileSync(process.execPath, args, { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

// ---------------------------------------------------------------------------------------------------

describe("install manifest (portico synth, as make manifests writes release/install.yaml)", () => {
  let objects: Array<KubeObject>

  beforeAll(() => {
    const out = join(work, "release")
    node(["src/main.ts", "synth", "-o", out])
    objects = parseManifests(readFileSync(join(out, "install.yaml"), "utf8"))
  })

  it("holds the controller's objects in apply order", () => {
    const kinds = kindsOf(objects).filter((kind) => kind !== "CustomResourceDefinition")
    expect(kinds).toEqual([
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
      "Service",
      "Deployment"
    ])
  })

  it("passes a server-side dry-run apply, object by object, and stores nothing", async () => {
    const results = await dryRun(objects)
    expect(failures(results)).toEqual([])
    // The server processed the Deployment: it comes back with the API's defaults filled in.
    const deployment = results.find((r) => r.object.startsWith("Deployment "))?.result
    expect(at(deployment, "spec", "strategy", "type")).toBe("RollingUpdate")
    expect(at(deployment, "spec", "template", "spec", "containers", 0, "terminationMessagePolicy")).toBe("File")
    expect(await exists(named(objects, "Deployment") as KubeObject)).toBe(false)
  })

  it("a dry-run rejects what the schema does not allow (so a pass means something)", async () => {
    const deployment = structuredClone(named(objects, "Deployment"))
    const container = at(deployment, "spec", "template", "spec", "containers", 0) as Json
    container.imagePullPolicyy = "Always"
    const service = structuredClone(named(objects, "Service"))
    ;(at(service, "spec", "ports", 0) as Json).port = 700_000
    const results = await dryRun([deployment as KubeObject, service as KubeObject])
    expect(results.map((r) => r.error)).toEqual([
      expect.stringMatching(/imagePullPolicyy/),
      expect.stringMatching(/port|700000/)
    ])
  })
})

// ---------------------------------------------------------------------------------------------------

describe("examples/quickstart.yaml", () => {
  const CLUSTER_SCOPED = new Set(["GatewayClass"])
  const objects = parseManifests(readFileSync(join(repoRoot, "examples", "quickstart.yaml"), "utf8"))
  const inNamespace = objects.map((o) =>
    CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace: QUICKSTART_NAMESPACE } }
  )

  it("is Envoy Gateway's quickstart: class eg of our controller, Gateway eg on :80, echo backend, route for www.example.com", () => {
    expect(kindsOf(objects)).toEqual([
      "GatewayClass",
      "Gateway",
      "ServiceAccount",
      "Service",
      "Deployment",
      "HTTPRoute"
    ])
    expect(at(named(objects, "GatewayClass", "eg"), "spec", "controllerName")).toBe(DEFAULT_CONTROLLER_NAME)
    const gateway = named(objects, "Gateway", "eg")
    expect(at(gateway, "spec", "gatewayClassName")).toBe("eg")
    expect(at(gateway, "spec", "listeners")).toEqual([{ name: "http", protocol: "HTTP", port: 80 }])
    const container = at(named(objects, "Deployment", "backend"), "spec", "template", "spec", "containers", 0) as Json
    expect(container.image).toMatch(/^registry\.k8s\.io\/gateway-api\/echo-basic:v\d+\.\d+\.\d+$/)
    expect(at(container, "ports", 0, "containerPort")).toBe(3000)
    expect(container.env).toEqual([
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }
    ])
    expect(at(named(objects, "Service", "backend"), "spec", "ports", 0, "port")).toBe(3000)
    const route = named(objects, "HTTPRoute", "backend")
    expect(at(route, "spec", "hostnames")).toEqual(["www.example.com"])
    expect(at(route, "spec", "rules", 0, "matches")).toEqual([{ path: { type: "PathPrefix", value: "/" } }])
    expect(at(route, "spec", "rules", 0, "backendRefs", 0)).toMatchObject({ name: "backend", port: 3000 })
  })

  it("passes a server-side dry-run apply in a namespace", async () => {
    const results = await dryRun(inNamespace)
    expect(failures(results)).toEqual([])
    expect(results).toHaveLength(objects.length)
  })
})

// ---------------------------------------------------------------------------------------------------

describe("Helm chart (make chart: scripts/chart.ts, helm from scripts/helm.sh)", () => {
  let helm: string
  let chart: string
  // helm's own cache and config stay in the test's directory.
  const helmEnv = {
    ...process.env,
    HELM_CACHE_HOME: join(work, "helm", "cache"),
    HELM_CONFIG_HOME: join(work, "helm", "config"),
    HELM_DATA_HOME: join(work, "helm", "data")
  }
  const runHelm = (args: ReadonlyArray<string>) =>
    spawnSync(helm, args, { cwd: repoRoot, encoding: "utf8", timeout: 120_000, env: helmEnv })
  const template = (namespace: string, values: ReadonlyArray<string> = []): Array<KubeObject> => {
    const result = runHelm(["template", "portico", chart, "--namespace", namespace, "--include-crds", ...values])
    if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`)
    return parseManifests(result.stdout)
  }

  beforeAll(() => {
    helm = execFileSync("bash", [join(repoRoot, "scripts", "helm.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      timeout: BUILD_TIMEOUT_MS
    }).trim()
    chart = join(work, "chart")
    node(["scripts/chart.ts", "--out", chart])
  }, BUILD_TIMEOUT_MS)

  it("has Chart.yaml, values, a values schema, the templates and NOTES", () => {
    for (const file of ["Chart.yaml", "values.yaml", "values.schema.json", "templates/NOTES.txt"]) {
      expect(existsSync(join(chart, file)), file).toBe(true)
    }
  })

  it("passes helm lint --strict, and the schema refuses bad values", () => {
    const lint = runHelm(["lint", "--strict", chart])
    expect(lint.status, lint.stdout + lint.stderr).toBe(0)
    const bad = runHelm(["lint", "--strict", chart, "--set", "replicas=-1", "--set", "xdsPort=70000"])
    expect(bad.status).not.toBe(0)
    expect(bad.stdout + bad.stderr).toMatch(/replicas/)
  })

  it("renders, with default values, the install manifest's objects (less the Namespace)", () => {
    const rendered = template(CONTROLLER_NAMESPACE)
    const out = join(work, "install")
    node(["src/main.ts", "synth", "-o", out])
    const install = parseManifests(readFileSync(join(out, "install.yaml"), "utf8")).filter(
      (o) => o.kind !== "Namespace"
    )
    // The chart adds only what it templates explicitly: the pull policy and the controllerName flag.
    const expected = structuredClone(install) as Array<Json>
    const container = at(
      named(expected as Array<KubeObject>, "Deployment"),
      "spec",
      "template",
      "spec",
      "containers",
      0
    ) as Json
    container.imagePullPolicy = "IfNotPresent"
    container.args = [...(container.args as Array<string>), "--controller-name", DEFAULT_CONTROLLER_NAME]
    const byKey = (o: KubeObject) => `${o.kind}/${o.metadata.name}`
    const sort = (list: ReadonlyArray<KubeObject>) => [...list].sort((a, b) => byKey(a).localeCompare(byKey(b)))
    expect(sort(rendered)).toEqual(sort(expected as Array<KubeObject>))
  })

  it("renders with default values into a server-side dry-run that passes", async () => {
    const results = await dryRun(template(CONTROLLER_NAMESPACE))
    expect(failures(results)).toEqual([])
  })

  it("applies custom values (image, replicas, resources, controllerName, xdsPort) and still passes the dry-run", async () => {
    const objects = template(HELM_NAMESPACE, [
      "--set",
      "image.repository=registry.example.com/portico",
      "--set",
      "image.tag=dev-1234",
      "--set",
      "replicas=3",
      "--set",
      "resources.requests.cpu=250m",
      "--set",
      "controllerName=example.com/portico",
      "--set",
      "xdsPort=18001"
    ])
    const deployment = named(objects, "Deployment")
    const container = at(deployment, "spec", "template", "spec", "containers", 0) as Json
    expect(at(deployment, "metadata", "namespace")).toBe(HELM_NAMESPACE)
    expect(at(deployment, "spec", "replicas")).toBe(3)
    expect(container.image).toBe("registry.example.com/portico:dev-1234")
    expect(at(container, "resources", "requests", "cpu")).toBe("250m")
    expect(container.args).toEqual([
      "serve",
      "--provider",
      "kubernetes",
      "--controller-name",
      "example.com/portico",
      "--xds-address=0.0.0.0:18001"
    ])
    expect(at(container, "ports", 0)).toEqual({ name: "xds", containerPort: 18001, protocol: "TCP" })
    expect(at(named(objects, "Service"), "spec", "ports", 0, "port")).toBe(18001)
    for (const binding of ["ClusterRoleBinding", "RoleBinding"]) {
      expect(at(named(objects, binding), "subjects", 0, "namespace")).toBe(HELM_NAMESPACE)
    }
    const results = await dryRun(objects)
    expect(failures(results)).toEqual([])
  })

  it("installs with helm install --create-namespace, and upgrades, against the API server", async () => {
    const namespace = "portico-helm-install"
    const kubeconfig = ["--kubeconfig", env.kubeconfigPath]
    const install = runHelm(["install", "portico", chart, "-n", namespace, "--create-namespace", ...kubeconfig])
    expect(install.status, install.stdout + install.stderr).toBe(0)
    expect(install.stdout).toMatch(/STATUS: deployed/)
    const deployment = (replicas: number): KubeObject => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "envoy-gateway", namespace },
      spec: { replicas }
    })
    expect(await exists(deployment(1))).toBe(true)
    const upgrade = runHelm(["upgrade", "portico", chart, "-n", namespace, "--set", "replicas=2", ...kubeconfig])
    expect(upgrade.status, upgrade.stdout + upgrade.stderr).toBe(0)
    const stored = await runtime.runPromise(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        return yield* kube.get(deployment(2), deployment(2).metadata)
      })
    )
    expect(at(stored, "spec", "replicas")).toBe(2)
    const uninstall = runHelm(["uninstall", "portico", "-n", namespace, ...kubeconfig])
    expect(uninstall.status, uninstall.stdout + uninstall.stderr).toBe(0)
    expect(await exists(deployment(2))).toBe(false)
  })

  it("packages into a chart archive", () => {
    const result = runHelm(["package", chart, "--destination", work])
    expect(result.status, result.stderr).toBe(0)
    expect(existsSync(join(work, "portico-0.1.0.tgz"))).toBe(true)
  })
})
