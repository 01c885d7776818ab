/**
 * The Envoy fleet chart: golden manifests per case (`test/golden/charts/fleet-<case>.yaml`; the
 * fleets are built here, so each golden starts with a comment naming the case) plus assertions
 * on the properties that must hold whatever the goldens say. `UPDATE_GOLDEN=1
 * node_modules/.bin/vitest run test/charts` rewrites the goldens; review them before keeping them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import {
  BOOTSTRAP_HASH_ANNOTATION,
  BOOTSTRAP_KEY,
  type FleetOptions,
  fleetLabels,
  synthFleet,
  XDS_CA_KEY,
  XDS_TOKEN_AUDIENCE,
  XDS_TOKEN_DIR,
  XDS_TOKEN_FILE,
  XDS_TOKEN_SDS_KEY
} from "../../src/charts/EnvoyFleet.ts"
import { type KubeManifest, renderManifestsYaml } from "../../src/charts/Manifest.ts"
import { containerPortFor, type FleetInfra } from "../../src/ir/Infra.ts"
import { fleetNameOf } from "../../src/reconcilers/Gateway.ts"

const repo = fileURLToPath(new URL("../..", import.meta.url))
const GOLDEN_DIR = "test/golden/charts"
const update = process.env.UPDATE_GOLDEN === "1"

const expectGolden = (name: string, description: string, manifests: ReadonlyArray<KubeManifest>): void => {
  const text = `# ${description}\n# Written by test/charts (UPDATE_GOLDEN=1); do not edit by hand.\n${renderManifestsYaml(manifests)}`
  const path = join(repo, GOLDEN_DIR, `${name}.yaml`)
  if (update) {
    mkdirSync(join(repo, GOLDEN_DIR), { recursive: true })
    writeFileSync(path, text)
    return
  }
  if (!existsSync(path))
    expect.fail(`${GOLDEN_DIR}/${name}.yaml is missing: create it with UPDATE_GOLDEN=1, then review it`)
  expect(text).toBe(readFileSync(path, "utf8"))
}

type Port = FleetInfra["ports"][number]
const port = (protocol: "TCP" | "UDP", n: number): Port => ({
  name: `${protocol.toLowerCase()}-${n}`,
  protocol,
  port: n,
  containerPort: containerPortFor(n)
})

const fleetOf = (namespace: string, name: string, extra: Partial<FleetInfra> = {}): FleetInfra => ({
  name: fleetNameOf(namespace, name),
  gateway: { namespace, name, gatewayClassName: "eg" },
  ports: [port("TCP", 80)],
  addresses: [],
  labels: {},
  annotations: {},
  ...extra
})

const UID = "6f1c2d3e-0000-4000-8000-000000000001"
const base: FleetOptions = { gatewayUid: UID }
const webPorts = [port("TCP", 80), port("TCP", 443), port("UDP", 53)]

interface Case {
  readonly name: string
  readonly description: string
  readonly fleet: FleetInfra
  readonly options: FleetOptions
}

const cases: ReadonlyArray<Case> = [
  {
    name: "fleet-http-https-udp",
    description:
      "HTTP 80 + HTTPS 443 + UDP 53 listeners, default options: ports +10000 in the container, LoadBalancer Service, owner references",
    fleet: fleetOf("default", "eg", { ports: webPorts }),
    options: base
  },
  {
    name: "fleet-no-ports",
    description: "a Gateway without accepted listeners (ports: []): every object but the Service",
    fleet: fleetOf("default", "idle", { ports: [] }),
    options: base
  },
  {
    name: "fleet-infrastructure-labels",
    description:
      "spec.infrastructure labels/annotations on every object and the pod template; our labels win a clash; Service annotations merged",
    fleet: fleetOf("edge", "labelled", {
      labels: { team: "platform", "cost-center": "42", "app.kubernetes.io/name": "hijack" },
      annotations: { "example.com/owner": "platform@example.com" }
    }),
    options: { ...base, service: { annotations: { "metallb.universe.tf/address-pool": "public" } } }
  },
  {
    name: "fleet-envoy-gateway-layout",
    description: "Envoy Gateway's layout: the fleet in envoy-gateway-system, same names and labels, no owner reference",
    fleet: fleetOf("team-a", "eg", { ports: webPorts }),
    options: { ...base, layout: "ControllerNamespace" }
  },
  {
    name: "fleet-autoscaling-pdb",
    description:
      "HPA (autoscaling/v2, cpu 75%) and PDB (policy/v1, minAvailable 1): the Deployment leaves replicas to the HPA",
    fleet: fleetOf("prod", "public"),
    options: {
      ...base,
      autoscaling: { minReplicas: 2, maxReplicas: 10, cpuUtilization: 75 },
      podDisruptionBudget: { minAvailable: 1 }
    }
  },
  {
    name: "fleet-custom-options",
    description:
      "image, replicas, resources, NodePort with Cluster traffic policy, xDS CA bundle (ADS over TLS, token via the credential injector), no preStop hook",
    fleet: fleetOf("default", "custom", { ports: [port("TCP", 8080)] }),
    options: {
      ...base,
      image: "registry.example.com/envoy:distroless-v1.36.4",
      replicas: 3,
      resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
      service: { type: "NodePort", externalTrafficPolicy: "Cluster" },
      xdsCaPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
      drainSeconds: 0,
      terminationGracePeriodSeconds: 10
    }
  }
]

const byKind = (manifests: ReadonlyArray<KubeManifest>, kind: string): KubeManifest => {
  const found = manifests.find((m) => m.kind === kind)
  if (found === undefined) throw new Error(`no ${kind}`)
  return found
}
// Test-side views of the synthesized JSON (the charts' output shapes, read back loosely).
interface PodSpecView {
  readonly containers: ReadonlyArray<{
    readonly args: ReadonlyArray<string>
    readonly ports?: ReadonlyArray<{ name: string; containerPort: number; protocol: string }>
    readonly readinessProbe: { readonly httpGet: { path: string; port: number } }
    readonly lifecycle?: { readonly preStop: { readonly sleep: { seconds: number } } }
    readonly securityContext: { readonly [key: string]: unknown }
  }>
  readonly volumes: ReadonlyArray<{ readonly name: string; readonly projected?: unknown }>
  readonly terminationGracePeriodSeconds: number
  readonly automountServiceAccountToken: boolean
}
interface DeploymentView {
  readonly spec: {
    readonly replicas?: number
    readonly selector: { readonly matchLabels: { readonly [key: string]: string } }
    readonly template: {
      readonly metadata: { readonly labels: { [key: string]: string }; readonly annotations: { [key: string]: string } }
      readonly spec: PodSpecView
    }
  }
}
const deploymentOf = (manifests: ReadonlyArray<KubeManifest>) =>
  byKind(manifests, "Deployment") as unknown as DeploymentView
const containerOf = (manifests: ReadonlyArray<KubeManifest>) => {
  const container = deploymentOf(manifests).spec.template.spec.containers[0]
  if (container === undefined) throw new Error("no container")
  return container
}
const dataOf = (manifests: ReadonlyArray<KubeManifest>) =>
  (byKind(manifests, "ConfigMap") as unknown as { data: { [key: string]: string } }).data

describe("EnvoyFleet goldens", () => {
  it("each golden belongs to a case", () => {
    if (update) return
    const files = readdirSync(join(repo, GOLDEN_DIR)).filter((f) => f.startsWith("fleet-"))
    expect(files.sort()).toEqual(cases.map((c) => `${c.name}.yaml`).sort())
  })
  it.each(cases)("$name", ({ name, description, fleet, options }) => {
    expectGolden(name, description, synthFleet(fleet, options))
  })
})

describe("EnvoyFleet properties (every case)", () => {
  it.each(cases)("$name: names, labels, namespaces, owner references", ({ fleet, options }) => {
    const manifests = synthFleet(fleet, options)
    expect(fleet.name).toMatch(new RegExp(`^envoy-${fleet.gateway.namespace}-${fleet.gateway.name}-[0-9a-f]{8}$`))
    const ownLabels = fleetLabels(fleet)
    expect(Object.keys(ownLabels).sort()).toEqual([
      "app.kubernetes.io/component",
      "app.kubernetes.io/managed-by",
      "app.kubernetes.io/name",
      "gateway.envoyproxy.io/owning-gateway-name",
      "gateway.envoyproxy.io/owning-gateway-namespace"
    ])
    const layoutNamespace = options.layout === "ControllerNamespace" ? "envoy-gateway-system" : fleet.gateway.namespace
    for (const m of manifests) {
      expect(m.metadata.name, m.kind).toBe(fleet.name)
      expect(m.metadata.namespace, m.kind).toBe(layoutNamespace)
      expect(m.metadata.labels, m.kind).toMatchObject(ownLabels)
      expect(m.metadata.labels, m.kind).toMatchObject({ ...fleet.labels, ...ownLabels })
      expect(m.metadata.annotations ?? {}, m.kind).toMatchObject(fleet.annotations)
      if (layoutNamespace === fleet.gateway.namespace) {
        expect(m.metadata.ownerReferences, m.kind).toEqual([
          {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "Gateway",
            name: fleet.gateway.name,
            uid: UID,
            controller: true
          }
        ])
      } else {
        expect(m.metadata.ownerReferences, m.kind).toBeUndefined()
      }
    }
    const deployment = deploymentOf(manifests)
    expect(deployment.spec.selector.matchLabels).toEqual(ownLabels)
    expect(deployment.spec.template.metadata.labels).toEqual({ ...fleet.labels, ...ownLabels })
    expect(deployment.spec.template.metadata.annotations).toMatchObject(fleet.annotations)
  })

  it.each(cases)("$name: container ports follow the IR, the Service targets them", ({ fleet, options }) => {
    const manifests = synthFleet(fleet, options)
    expect(containerOf(manifests).ports ?? []).toEqual(
      fleet.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol }))
    )
    const service = manifests.find((m) => m.kind === "Service") as unknown as
      | { spec: { ports: ReadonlyArray<unknown>; selector: unknown } }
      | undefined
    if (fleet.ports.length === 0) {
      expect(service).toBeUndefined()
      return
    }
    expect(service?.spec.selector).toEqual(fleetLabels(fleet))
    expect(service?.spec.ports).toEqual(
      fleet.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.containerPort, protocol: p.protocol }))
    )
  })

  it.each(cases)("$name: synthesis is deterministic and plain JSON", ({ fleet, options }) => {
    const first = synthFleet(fleet, options)
    expect(synthFleet(fleet, options)).toEqual(first)
    expect(renderManifestsYaml(synthFleet(fleet, options))).toBe(renderManifestsYaml(first))
    expect(JSON.parse(JSON.stringify(first))).toEqual(first)
    const reparsed = parseAllDocuments(renderManifestsYaml(first)).map((d) => d.toJS())
    expect(reparsed).toEqual(first)
  })
})

describe("EnvoyFleet specifics", () => {
  const [web] = cases
  if (web === undefined) throw new Error("no cases")
  const manifests = synthFleet(web.fleet, web.options)

  it("maps listener ports below 1024 to +10000 (80 -> 10080)", () => {
    expect(containerOf(manifests).ports?.find((p) => p.name === "tcp-80")?.containerPort).toBe(10080)
    expect(containerOf(manifests).ports?.find((p) => p.name === "udp-53")).toEqual({
      name: "udp-53",
      containerPort: 10053,
      protocol: "UDP"
    })
  })

  it("emits ServiceAccount, ConfigMap, Deployment, Service in apply order", () => {
    expect(manifests.map((m) => m.kind)).toEqual(["ServiceAccount", "ConfigMap", "Deployment", "Service"])
    expect(synthFleet(fleetOf("default", "idle", { ports: [] }), base).map((m) => m.kind)).toEqual([
      "ServiceAccount",
      "ConfigMap",
      "Deployment"
    ])
  })

  it("runs Envoy with the bootstrap, a per-pod node id, readiness on 19003 and a hardened context", () => {
    const container = containerOf(manifests)
    expect(container.args).toEqual(
      expect.arrayContaining(["--config-path", `/config/${BOOTSTRAP_KEY}`, "--service-node", "$(POD_NAME)"])
    )
    expect(container.args.join(" ")).toContain(`--service-cluster ${web.fleet.name}`)
    expect(container.readinessProbe.httpGet).toMatchObject({ path: "/ready", port: 19003 })
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] }
    })
    const pod = deploymentOf(manifests).spec.template.spec
    expect(pod.automountServiceAccountToken).toBe(false)
    expect(pod.volumes.find((v) => v.name === "xds-token")?.projected).toEqual({
      sources: [{ serviceAccountToken: { audience: XDS_TOKEN_AUDIENCE, expirationSeconds: 3600, path: "token" } }]
    })
  })

  it("sleeps in preStop before SIGTERM, within the grace period; drainSeconds 0 drops the hook", () => {
    expect(containerOf(manifests).lifecycle).toEqual({ preStop: { sleep: { seconds: 30 } } })
    expect(deploymentOf(manifests).spec.template.spec.terminationGracePeriodSeconds).toBe(60)
    const noDrain = synthFleet(web.fleet, { ...base, drainSeconds: 0 })
    expect(containerOf(noDrain).lifecycle).toBeUndefined()
  })

  it("points the bootstrap at the controller Service, with the fleet as node.cluster", () => {
    const bootstrap = JSON.parse(dataOf(manifests)[BOOTSTRAP_KEY] ?? "")
    expect(bootstrap.node.cluster).toBe(web.fleet.name)
    const address = (ns: ReadonlyArray<KubeManifest>) =>
      JSON.parse(dataOf(ns)[BOOTSTRAP_KEY] ?? "").static_resources.clusters[0].load_assignment.endpoints[0]
        .lb_endpoints[0].endpoint.address.socket_address
    expect(address(manifests)).toEqual({ address: "envoy-gateway.envoy-gateway-system.svc", port_value: 18000 })
    const custom = synthFleet(web.fleet, { ...base, controllerNamespace: "portico" })
    expect(address(custom)).toEqual({ address: "envoy-gateway.portico.svc", port_value: 18000 })
  })

  it("stores the xDS CA bundle as ca.crt and rolls the pods when the bootstrap changes", () => {
    expect(dataOf(manifests)[XDS_CA_KEY]).toBeUndefined()
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    const withCa = synthFleet(web.fleet, { ...base, xdsCaPem: pem })
    expect(dataOf(withCa)[XDS_CA_KEY]).toBe(pem)
    const hash = (m: ReadonlyArray<KubeManifest>) =>
      deploymentOf(m).spec.template.metadata.annotations[BOOTSTRAP_HASH_ANNOTATION]
    expect(hash(withCa)).toMatch(/^[0-9a-f]{16}$/)
    expect(hash(withCa)).not.toBe(hash(manifests))
  })

  it("with the CA bundle, speaks TLS to the controller Service and sends the projected token from the mounted paths", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    const secured = synthFleet(web.fleet, { ...base, xdsCaPem: pem })
    const data = dataOf(secured)
    const text = data[BOOTSTRAP_KEY] ?? ""
    const host = "envoy-gateway.envoy-gateway-system.svc"
    const xds = JSON.parse(text).static_resources.clusters[0]
    const tls = xds.transport_socket.typed_config
    expect(tls.sni).toBe(host)
    expect(tls.common_tls_context.validation_context.trusted_ca).toEqual({ filename: `/config/${XDS_CA_KEY}` })
    const filters =
      xds.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].http_filters
    const generic = filters[0].typed_config.credential.typed_config
    expect(generic.header).toBe("x-portico-xds-token")
    expect(generic.credential.sds_config.path_config_source).toEqual({
      path: `/config/${XDS_TOKEN_SDS_KEY}`,
      watched_directory: { path: "/config" }
    })
    // The SDS file names the projected token where the Deployment mounts it.
    const sds = JSON.parse(data[XDS_TOKEN_SDS_KEY] ?? "")
    expect(sds.resources[0].generic_secret.secret.filename).toBe(`${XDS_TOKEN_DIR}/${XDS_TOKEN_FILE}`)
    const container = containerOf(secured) as unknown as { volumeMounts: ReadonlyArray<{ mountPath: string }> }
    expect(container.volumeMounts.map((m) => m.mountPath)).toEqual(["/config", XDS_TOKEN_DIR])
    // Without the bundle: plaintext and no token (standalone-style).
    const plain = JSON.parse(dataOf(manifests)[BOOTSTRAP_KEY] ?? "").static_resources.clusters[0]
    expect(plain.transport_socket).toBeUndefined()
    expect(dataOf(manifests)[XDS_TOKEN_SDS_KEY]).toBeUndefined()
  })

  it("leaves replicas to the HPA and selects the fleet's pods in the PDB", () => {
    const scaled = cases.find((c) => c.name === "fleet-autoscaling-pdb")
    if (scaled === undefined) throw new Error("no autoscaling case")
    const out = synthFleet(scaled.fleet, scaled.options)
    expect(deploymentOf(out).spec.replicas).toBeUndefined()
    expect(byKind(out, "HorizontalPodAutoscaler")).toMatchObject({
      apiVersion: "autoscaling/v2",
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: scaled.fleet.name } }
    })
    expect(byKind(out, "PodDisruptionBudget")).toMatchObject({
      apiVersion: "policy/v1",
      spec: { minAvailable: 1, selector: { matchLabels: fleetLabels(scaled.fleet) } }
    })
    const percent = synthFleet(scaled.fleet, { ...base, podDisruptionBudget: { minAvailable: "50%" } })
    expect(byKind(percent, "PodDisruptionBudget")).toMatchObject({ spec: { minAvailable: "50%" } })
    expect(deploymentOf(synthFleet(scaled.fleet, base)).spec.replicas).toBe(1)
  })

  it("keeps the owner reference in the controller layout when the Gateway lives there too", () => {
    const local = synthFleet(fleetOf("envoy-gateway-system", "eg"), { ...base, layout: "ControllerNamespace" })
    for (const m of local) expect(m.metadata.ownerReferences?.[0]?.uid).toBe(UID)
  })

  it("rejects impossible options", () => {
    expect(() => synthFleet(web.fleet, { ...base, drainSeconds: 60, terminationGracePeriodSeconds: 60 })).toThrow(
      RangeError
    )
    expect(() =>
      synthFleet(web.fleet, { ...base, autoscaling: { minReplicas: 3, maxReplicas: 2, cpuUtilization: 80 } })
    ).toThrow(RangeError)
    expect(() => synthFleet(web.fleet, { ...base, replicas: -1 })).toThrow(RangeError)
  })
})
