/**
 * The controller's install chart: golden manifests (`test/golden/charts/install-<case>.yaml`) and
 * assertions on RBAC (least privilege, no wildcards), wiring (Service -> pods, bindings -> the
 * ServiceAccount, fleets' bootstrap -> the xDS Service) and hardening. `UPDATE_GOLDEN=1
 * node_modules/.bin/vitest run test/charts` rewrites the goldens; review them before keeping them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import {
  CONTROLLER_CLUSTER_RULES,
  CONTROLLER_NAMESPACE_RULES,
  controllerSelectorLabels,
  type InstallOptions,
  type Rule,
  renderInstallYaml,
  synthInstall
} from "../../src/charts/ControllerInstall.ts"
import { BOOTSTRAP_KEY, synthFleet } from "../../src/charts/EnvoyFleet.ts"
import type { KubeManifest } from "../../src/charts/Manifest.ts"
import { containerPortFor } from "../../src/ir/Infra.ts"
import { fleetNameOf } from "../../src/reconcilers/Gateway.ts"
import { PORTICO_VERSION } from "../../src/Version.ts"

const repo = fileURLToPath(new URL("../..", import.meta.url))
const GOLDEN_DIR = "test/golden/charts"
const update = process.env.UPDATE_GOLDEN === "1"

const expectGolden = (name: string, description: string, text: string): void => {
  const golden = `# ${description}\n# Written by test/charts (UPDATE_GOLDEN=1); do not edit by hand.\n${text}`
  const path = join(repo, GOLDEN_DIR, `${name}.yaml`)
  if (update) {
    mkdirSync(join(repo, GOLDEN_DIR), { recursive: true })
    writeFileSync(path, golden)
    return
  }
  if (!existsSync(path))
    expect.fail(`${GOLDEN_DIR}/${name}.yaml is missing: create it with UPDATE_GOLDEN=1, then review it`)
  expect(golden).toBe(readFileSync(path, "utf8"))
}

const sampleCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "envoyproxies.gateway.envoyproxy.io" },
  spec: {
    group: "gateway.envoyproxy.io",
    names: { kind: "EnvoyProxy", listKind: "EnvoyProxyList", plural: "envoyproxies", singular: "envoyproxy" },
    scope: "Namespaced",
    versions: [
      {
        name: "v1alpha1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        subresources: { status: {} }
      }
    ]
  }
}

const cases: ReadonlyArray<{ readonly name: string; readonly description: string; readonly options: InstallOptions }> =
  [
    { name: "install-defaults", description: "the install manifest with default options", options: {} },
    {
      name: "install-custom",
      description: "custom namespace, image, replicas, resources and extra args; one CRD after the Namespace",
      options: {
        namespace: "portico-system",
        image: "registry.example.com/portico:dev",
        replicas: 2,
        resources: { requests: { cpu: "250m", memory: "512Mi" } },
        extraArgs: ["--log-level", "debug"],
        crds: [sampleCrd]
      }
    }
  ]

const byKind = (manifests: ReadonlyArray<KubeManifest>, kind: string): KubeManifest => {
  const found = manifests.find((m) => m.kind === kind)
  if (found === undefined) throw new Error(`no ${kind}`)
  return found
}
const rulesOf = (m: KubeManifest) => (m as unknown as { rules: ReadonlyArray<Rule> }).rules
interface ControllerPod {
  readonly metadata: { readonly labels: { readonly [key: string]: string } }
  readonly spec: {
    readonly serviceAccountName: string
    readonly containers: ReadonlyArray<{
      readonly image: string
      readonly args: ReadonlyArray<string>
      readonly ports: ReadonlyArray<{ name: string; containerPort: number }>
      readonly livenessProbe: { readonly httpGet: { path: string; port: string } }
      readonly readinessProbe: { readonly httpGet: { path: string; port: string } }
      readonly securityContext: { readonly [key: string]: unknown }
    }>
  }
}
const podOf = (manifests: ReadonlyArray<KubeManifest>) =>
  (byKind(manifests, "Deployment") as unknown as { spec: { template: ControllerPod } }).spec.template

describe("ControllerInstall goldens", () => {
  it("each golden belongs to a case", () => {
    if (update) return
    const files = readdirSync(join(repo, GOLDEN_DIR)).filter((f) => f.startsWith("install-"))
    expect(files.sort()).toEqual(cases.map((c) => `${c.name}.yaml`).sort())
  })
  it.each(cases)("$name", ({ name, description, options }) => {
    expectGolden(name, description, renderInstallYaml(options))
  })
})

describe("ControllerInstall", () => {
  const manifests = synthInstall()

  it("emits objects in apply order, namespaced ones in envoy-gateway-system", () => {
    expect(manifests.map((m) => m.kind)).toEqual([
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
      "Service",
      "Deployment"
    ])
    const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"])
    for (const m of manifests) {
      expect(m.metadata.namespace, m.kind).toBe(clusterScoped.has(m.kind) ? undefined : "envoy-gateway-system")
      expect(m.metadata.labels, m.kind).toMatchObject(controllerSelectorLabels)
    }
    expect(byKind(manifests, "Namespace").metadata.name).toBe("envoy-gateway-system")
  })

  it("has no wildcard in any RBAC rule", () => {
    for (const kind of ["ClusterRole", "Role"]) {
      for (const rule of rulesOf(byKind(manifests, kind))) {
        for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs]) expect(value).not.toContain("*")
        expect(rule.verbs.length).toBeGreaterThan(0)
      }
    }
  })

  it("writes only status for the kinds it reconciles, and owns only the fleet's kinds", () => {
    const rules = rulesOf(byKind(manifests, "ClusterRole"))
    expect(rules).toEqual(CONTROLLER_CLUSTER_RULES)
    const granted = (group: string, resource: string): ReadonlyArray<string> =>
      rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs)
    const gatewayApi = ["gatewayclasses", "gateways", "httproutes", "grpcroutes", "tlsroutes", "tcproutes", "udproutes"]
    for (const kind of [...gatewayApi, "referencegrants", "backendtlspolicies", "listenersets"]) {
      expect(granted("gateway.networking.k8s.io", kind)).toEqual(["get", "list", "watch"])
    }
    for (const kind of [...gatewayApi, "backendtlspolicies", "listenersets"]) {
      expect(granted("gateway.networking.k8s.io", `${kind}/status`)).toEqual(["update", "patch"])
    }
    expect(granted("gateway.networking.k8s.io", "referencegrants/status")).toEqual([])
    for (const kind of [
      "envoyproxies",
      "clienttrafficpolicies",
      "backendtrafficpolicies",
      "securitypolicies",
      "backends"
    ]) {
      expect(granted("gateway.envoyproxy.io", kind)).toEqual(["get", "list", "watch"])
      expect(granted("gateway.envoyproxy.io", `${kind}/status`)).toEqual(["update", "patch"])
    }
    for (const [group, kind] of [
      ["", "namespaces"],
      ["", "secrets"],
      ["discovery.k8s.io", "endpointslices"]
    ] as const) {
      expect(granted(group, kind), kind).toEqual(["get", "list", "watch"])
    }
    expect(granted("authentication.k8s.io", "tokenreviews")).toEqual(["create"])
    const own = ["get", "list", "watch", "create", "update", "patch", "delete"]
    const fleetKinds = [
      ["", "serviceaccounts"],
      ["", "configmaps"],
      ["", "services"],
      ["apps", "deployments"],
      ["autoscaling", "horizontalpodautoscalers"],
      ["policy", "poddisruptionbudgets"]
    ] as const
    for (const [group, kind] of fleetKinds) expect(granted(group, kind), kind).toEqual(own)
    // Nothing else may be created, changed or deleted.
    const mutating = new Set(["create", "update", "patch", "delete", "deletecollection"])
    const fleet = new Set<string>(fleetKinds.map(([, kind]) => kind))
    for (const rule of rules) {
      if (!rule.verbs.some((v) => mutating.has(v))) continue
      for (const resource of rule.resources) {
        const allowed = resource.endsWith("/status") || fleet.has(resource) || resource === "tokenreviews"
        expect(allowed, resource).toBe(true)
      }
    }
  })

  it("limits the namespaced Role to leases, events and the xDS CA Secret, bound to the controller's ServiceAccount", () => {
    expect(rulesOf(byKind(manifests, "Role"))).toEqual(CONTROLLER_NAMESPACE_RULES)
    expect(CONTROLLER_NAMESPACE_RULES).toEqual([
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create"] },
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      { apiGroups: [""], resources: ["secrets"], verbs: ["update", "patch"], resourceNames: ["portico-xds-ca"] }
    ])
    const subject = { kind: "ServiceAccount", name: "envoy-gateway", namespace: "envoy-gateway-system" }
    expect(byKind(manifests, "ClusterRoleBinding")).toMatchObject({
      roleRef: { kind: "ClusterRole", name: byKind(manifests, "ClusterRole").metadata.name },
      subjects: [subject]
    })
    expect(byKind(manifests, "RoleBinding")).toMatchObject({
      roleRef: { kind: "Role", name: byKind(manifests, "Role").metadata.name },
      subjects: [subject]
    })
    expect(byKind(manifests, "ServiceAccount").metadata.name).toBe("envoy-gateway")
    expect(podOf(manifests).spec.serviceAccountName).toBe("envoy-gateway")
  })

  it("runs the controller hardened, with health probes on the admin port", () => {
    const [container] = podOf(manifests).spec.containers
    expect(container?.image).toBe(`ghcr.io/portico/portico:${PORTICO_VERSION}`)
    expect(container?.args).toEqual(["serve", "--provider", "kubernetes"])
    expect(container?.ports).toEqual([
      { name: "xds", containerPort: 18000, protocol: "TCP" },
      { name: "admin", containerPort: 19000, protocol: "TCP" }
    ])
    expect(container?.livenessProbe.httpGet).toMatchObject({ path: "/healthz", port: "admin" })
    expect(container?.readinessProbe.httpGet).toMatchObject({ path: "/readyz", port: "admin" })
    expect(container?.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] }
    })
  })

  it("serves xDS on the Service every fleet's bootstrap points at", () => {
    const service = byKind(manifests, "Service") as unknown as {
      metadata: { name: string; namespace: string }
      spec: { type: string; selector: object; ports: ReadonlyArray<{ port: number; targetPort: string }> }
    }
    expect(service.spec.type).toBe("ClusterIP")
    expect(service.spec.selector).toEqual(controllerSelectorLabels)
    expect(podOf(manifests).metadata.labels).toMatchObject(controllerSelectorLabels)
    expect(service.spec.ports).toEqual([{ name: "xds", port: 18000, protocol: "TCP", targetPort: "xds" }])
    const fleet = synthFleet(
      {
        name: fleetNameOf("default", "eg"),
        gateway: { namespace: "default", name: "eg", gatewayClassName: "eg" },
        ports: [{ name: "tcp-80", protocol: "TCP", port: 80, containerPort: containerPortFor(80) }],
        addresses: [],
        labels: {},
        annotations: {}
      },
      { gatewayUid: "uid" }
    )
    const data = (fleet.find((m) => m.kind === "ConfigMap") as unknown as { data: { [key: string]: string } }).data
    const bootstrap = JSON.stringify(JSON.parse(data[BOOTSTRAP_KEY] ?? ""))
    expect(bootstrap).toContain(
      `"socket_address":{"address":"${service.metadata.name}.${service.metadata.namespace}.svc","port_value":${service.spec.ports[0]?.port}}`
    )
  })

  it("places CRDs after the Namespace and rejects documents that are not CRDs", () => {
    const custom = synthInstall({ crds: [sampleCrd] })
    expect(custom.map((m) => m.kind).slice(0, 2)).toEqual(["Namespace", "CustomResourceDefinition"])
    expect(custom[1]).toEqual(sampleCrd)
    expect(() => synthInstall({ crds: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }] })).toThrow(
      TypeError
    )
    expect(() => synthInstall({ crds: ["not a manifest"] })).toThrow(TypeError)
  })

  it("renders deterministic YAML that parses back to the same objects", () => {
    for (const { options } of cases) {
      const text = renderInstallYaml(options)
      expect(renderInstallYaml(options)).toBe(text)
      expect(parseAllDocuments(text).map((d) => d.toJS())).toEqual(synthInstall(options))
    }
  })
})
