/**
 * The Kubernetes objects that run one Gateway's Envoy fleet, from its infra IR: ServiceAccount,
 * bootstrap ConfigMap, Deployment, Service (only when the Gateway has ports), and optionally a
 * HorizontalPodAutoscaler (autoscaling/v2) and a PodDisruptionBudget (policy/v1).
 *
 * Every object is named after the fleet (`envoy-<gw-ns>-<gw>-<hash8>`, from the IR) and carries
 * Envoy Gateway's five fleet labels, which also form every selector, plus the Gateway's
 * `spec.infrastructure` labels and annotations (our five labels win a key clash, so a Gateway
 * cannot change which pods a fleet selects).
 *
 * Layout. By default a fleet lives in its Gateway's namespace (GEP-1762) and every object has an
 * owner reference to the Gateway, so deleting the Gateway garbage-collects the fleet. With
 * `layout: "ControllerNamespace"` (Envoy Gateway's layout) every fleet lives in the controller's
 * namespace; owner references cannot cross namespaces (the garbage collector treats such an owner
 * as absent and would delete the object), so they are left out (unless the Gateway itself lives
 * there) and the infra applier must prune a deleted Gateway's fleet by its owning-gateway labels.
 * Names and labels are identical in both. `blockOwnerDeletion` stays unset: setting it would need
 * update rights on `gateways/finalizers`, and deletion order does not matter for a fleet.
 *
 * Drain. Envoy exits at SIGTERM without draining, and the distroless image has no shell, curl or
 * wget to call the admin's `POST /drain_listeners?graceful` (which listens on 127.0.0.1 only, out
 * of reach of a kubelet `httpGet`). The container's preStop is therefore the kubelet's built-in
 * `sleep` action (Kubernetes >= 1.30): the terminating pod leaves the Service endpoints and the
 * load balancer's health checks at once while Envoy keeps serving the requests in flight for
 * `drainSeconds`, and only then receives SIGTERM. A connection-level drain (GOAWAY / Connection:
 * close) needs a helper inside the pod's network namespace, like Envoy Gateway's shutdown-manager
 * sidecar; it can be added as a second container when Portico ships such a command.
 *
 * xDS security. Every pod mounts a projected ServiceAccount token (audience `portico-xds`, one hour,
 * rotated by the kubelet) and no API token. Given the controller's CA bundle (`xdsCaPem`, from
 * ControllerCa), the bootstrap ConfigMap holds it as `ca.crt`, the bootstrap speaks TLS to the
 * controller Service verified against it, and every ADS request carries the token (credential
 * injector reading `xds-token-sds.json`, a second key of the ConfigMap; see src/xds/Bootstrap.ts).
 * The controller verifies the token with a TokenReview and serves the fleet of that ServiceAccount
 * only (src/xds/XdsAuth.ts). Nothing secret is written into the fleet's namespace: the CA key stays
 * in the controller's namespace, and the ConfigMap holds only public certificates and paths.
 *
 * Why plain `ApiObject` for the Deployment: the typed cdk8s-plus-28 classes follow the Kubernetes
 * 1.28 schema, which has no `lifecycle.preStop.sleep`, and their serializer drops fields it does
 * not know. The other objects use those typed classes (`k8s.Kube*`), which emit exactly what they
 * are given; cdk8s-plus's higher-level constructs are not used because they add selector labels,
 * resource limits, probes and `automountServiceAccountToken` settings of their own.
 */

import { createHash } from "node:crypto"
import { ApiObject } from "cdk8s"
import { k8s } from "cdk8s-plus-28"
import { Construct } from "constructs"
import type { FleetInfra } from "../ir/Infra.ts"
import { bootstrapJson, READY_PORT, tokenSdsJson, XDS_TOKEN_AUDIENCE } from "../xds/Bootstrap.ts"
import { CONTROLLER_NAMESPACE, CONTROLLER_SERVICE, XDS_PORT } from "./ControllerInstall.ts"
import { type KubeManifest, manifestsOf, mergeMaps, newChart } from "./Manifest.ts"

/** Envoy's distroless image (no shell; run as uid 65532), pinned to a release; override with `image`. */
export const DEFAULT_ENVOY_IMAGE = "docker.io/envoyproxy/envoy:distroless-v1.36.4"
/** The projected ServiceAccount token Envoy presents to the xDS server (verified by TokenReview). */
export { XDS_TOKEN_AUDIENCE }
export const XDS_TOKEN_DIR = "/var/run/secrets/portico.dev/xds"
export const XDS_TOKEN_FILE = "token"
/** The bootstrap ConfigMap is mounted here; its keys are files in it. */
export const CONFIG_DIR = "/config"
export const BOOTSTRAP_KEY = "envoy.json"
/** The CA bundle that verifies the xDS server's certificate, when ADS runs over TLS. */
export const XDS_CA_KEY = "ca.crt"
/** The SDS file through which Envoy's credential injector reads the xDS token (with TLS only). */
export const XDS_TOKEN_SDS_KEY = "xds-token-sds.json"
/** Pod-template annotation: a digest of the bootstrap, so a new bootstrap rolls the pods. */
export const BOOTSTRAP_HASH_ANNOTATION = "portico.dev/bootstrap-hash"
const NONROOT_UID = 65532

export const OWNING_GATEWAY_NAME_LABEL = "gateway.envoyproxy.io/owning-gateway-name"
export const OWNING_GATEWAY_NAMESPACE_LABEL = "gateway.envoyproxy.io/owning-gateway-namespace"

/** Envoy Gateway's fleet labels: on every object and pod, and the selector of the fleet's pods. */
export const fleetLabels = (fleet: FleetInfra): { readonly [key: string]: string } => ({
  "app.kubernetes.io/name": "envoy",
  "app.kubernetes.io/component": "proxy",
  "app.kubernetes.io/managed-by": "envoy-gateway",
  [OWNING_GATEWAY_NAME_LABEL]: fleet.gateway.name,
  [OWNING_GATEWAY_NAMESPACE_LABEL]: fleet.gateway.namespace
})

/** Where fleets live: the Gateway's namespace (default, GEP-1762) or the controller's (Envoy Gateway). */
export type FleetLayout = "GatewayNamespace" | "ControllerNamespace"

export interface ResourceList {
  readonly cpu?: string
  readonly memory?: string
}

export interface FleetOptions {
  /** The Gateway's `metadata.uid`, for the owner reference (unused in the ControllerNamespace layout). */
  readonly gatewayUid: string
  /** Default "GatewayNamespace". */
  readonly layout?: FleetLayout
  /** Default `envoy-gateway-system`. */
  readonly controllerNamespace?: string
  /** The xDS server; default the controller Service, `envoy-gateway.<controller-ns>.svc:18000`. */
  readonly xdsHost?: string
  readonly xdsPort?: number
  /**
   * The controller's CA bundle (PEM). When given, it is stored as `ca.crt` next to the bootstrap
   * and ADS runs over TLS verified against it (SNI and SAN: `xdsHost`), and every ADS request
   * carries the pod's projected `portico-xds` token (the credential injector reads it through the
   * SDS file `xds-token-sds.json`, also in the ConfigMap). Without it: plaintext, no token.
   */
  readonly xdsCaPem?: string
  /** Default DEFAULT_ENVOY_IMAGE. */
  readonly image?: string
  /** Default 1; left out of the Deployment when `autoscaling` is set (the HPA owns it). */
  readonly replicas?: number
  /** Replaces the default requests (cpu 100m, memory 512Mi, no limits) as a whole. */
  readonly resources?: { readonly requests?: ResourceList; readonly limits?: ResourceList }
  readonly service?: {
    /** Default "LoadBalancer". */
    readonly type?: "LoadBalancer" | "NodePort" | "ClusterIP"
    readonly annotations?: { readonly [key: string]: string }
    /** Default "Local" (keeps client source addresses); not set on ClusterIP Services. */
    readonly externalTrafficPolicy?: "Local" | "Cluster"
  }
  readonly autoscaling?: {
    readonly minReplicas: number
    readonly maxReplicas: number
    /** Target average CPU utilization, percent of requests. */
    readonly cpuUtilization: number
  }
  /** An integer or a percentage ("50%"). */
  readonly podDisruptionBudget?: { readonly minAvailable: number | string }
  /** preStop sleep before SIGTERM (see the module doc); default 30; 0 leaves out the hook. */
  readonly drainSeconds?: number
  /** Default drainSeconds + 30. Must exceed drainSeconds. */
  readonly terminationGracePeriodSeconds?: number
}

const DEFAULT_RESOURCES = { requests: { cpu: "100m", memory: "512Mi" } }
const DEFAULT_DRAIN_SECONDS = 30

/** The namespace a fleet's objects go to under the options' layout. */
export const fleetNamespace = (fleet: FleetInfra, options: Pick<FleetOptions, "layout" | "controllerNamespace">) =>
  options.layout === "ControllerNamespace"
    ? (options.controllerNamespace ?? CONTROLLER_NAMESPACE)
    : fleet.gateway.namespace

const isCount = (n: number, min: number): boolean => Number.isInteger(n) && n >= min

/** Options come validated from configuration; a violation here is a programming error. */
const checkOptions = (options: FleetOptions, drainSeconds: number, gracePeriod: number): void => {
  const fail = (message: string): never => {
    throw new RangeError(`EnvoyFleet: ${message}`)
  }
  if (options.replicas !== undefined && !isCount(options.replicas, 0)) fail("replicas must be an integer >= 0")
  if (!isCount(drainSeconds, 0)) fail("drainSeconds must be an integer >= 0")
  if (!isCount(gracePeriod, 0) || gracePeriod <= drainSeconds) {
    fail("terminationGracePeriodSeconds must be an integer above drainSeconds")
  }
  const hpa = options.autoscaling
  if (hpa !== undefined && !(isCount(hpa.minReplicas, 1) && hpa.maxReplicas >= hpa.minReplicas)) {
    fail("autoscaling needs 1 <= minReplicas <= maxReplicas")
  }
  if (hpa !== undefined && !isCount(hpa.cpuUtilization, 1)) fail("autoscaling.cpuUtilization must be an integer >= 1")
}

const intOrString = (value: number | string): k8s.IntOrString =>
  typeof value === "number" ? k8s.IntOrString.fromNumber(value) : k8s.IntOrString.fromString(value)

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`

/**
 * The bootstrap ConfigMap's data: Envoy's bootstrap JSON and, with the xDS CA bundle, the bundle
 * and the token's SDS file (both read from the ConfigMap's mount, which Envoy watches).
 */
const bootstrapData = (fleet: FleetInfra, options: FleetOptions): { readonly [key: string]: string } => {
  const controllerNamespace = options.controllerNamespace ?? CONTROLLER_NAMESPACE
  const host = options.xdsHost ?? `${CONTROLLER_SERVICE}.${controllerNamespace}.svc`
  const secured = options.xdsCaPem !== undefined
  const bootstrap = bootstrapJson({
    fleet: fleet.name,
    host,
    port: options.xdsPort ?? XDS_PORT,
    ...(secured
      ? {
          tls: { caFile: `${CONFIG_DIR}/${XDS_CA_KEY}`, serverName: host },
          token: { sdsFile: `${CONFIG_DIR}/${XDS_TOKEN_SDS_KEY}`, sdsWatchedDirectory: CONFIG_DIR }
        }
      : {})
  })
  return {
    [BOOTSTRAP_KEY]: json(bootstrap),
    ...(options.xdsCaPem !== undefined
      ? {
          [XDS_CA_KEY]: options.xdsCaPem,
          [XDS_TOKEN_SDS_KEY]: json(tokenSdsJson(`${XDS_TOKEN_DIR}/${XDS_TOKEN_FILE}`))
        }
      : {})
  }
}

const digest = (data: { readonly [key: string]: string }): string => {
  const hash = createHash("sha256")
  for (const key of Object.keys(data).sort()) hash.update(`${key}\0${data[key]}\0`)
  return hash.digest("hex").slice(0, 16)
}

/** The `envoy` container: Envoy with the bootstrap, its node id set to the pod name. */
const envoyContainer = (fleet: FleetInfra, options: FleetOptions, drainSeconds: number) => ({
  name: "envoy",
  image: options.image ?? DEFAULT_ENVOY_IMAGE,
  args: [
    "--config-path",
    `${CONFIG_DIR}/${BOOTSTRAP_KEY}`,
    "--service-cluster",
    fleet.name,
    // Overrides the bootstrap's node.id: every Envoy of the fleet needs its own.
    "--service-node",
    "$(POD_NAME)",
    // Hot restart is a process-level upgrade mechanism; Kubernetes replaces pods instead.
    "--disable-hot-restart"
  ],
  env: [
    { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } } }
  ],
  ports: fleet.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol })),
  // The bootstrap's readiness listener (0.0.0.0:19003) answers from the admin's /ready.
  readinessProbe: {
    httpGet: { path: "/ready", port: READY_PORT, scheme: "HTTP" },
    periodSeconds: 5,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3
  },
  lifecycle: drainSeconds > 0 ? { preStop: { sleep: { seconds: drainSeconds } } } : undefined,
  resources: options.resources ?? DEFAULT_RESOURCES,
  securityContext: {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: NONROOT_UID,
    runAsGroup: NONROOT_UID,
    capabilities: { drop: ["ALL"] }
  },
  volumeMounts: [
    { name: "bootstrap", mountPath: CONFIG_DIR, readOnly: true },
    { name: "xds-token", mountPath: XDS_TOKEN_DIR, readOnly: true }
  ]
})

export interface EnvoyFleetProps {
  readonly fleet: FleetInfra
  readonly options: FleetOptions
}

/** One Gateway's fleet, as a cdk8s construct (see the module doc). */
export class EnvoyFleet extends Construct {
  constructor(scope: Construct, id: string, props: EnvoyFleetProps) {
    super(scope, id)
    const { fleet, options } = props
    const drainSeconds = options.drainSeconds ?? DEFAULT_DRAIN_SECONDS
    const gracePeriod = options.terminationGracePeriodSeconds ?? drainSeconds + 30
    checkOptions(options, drainSeconds, gracePeriod)

    const name = fleet.name
    const namespace = fleetNamespace(fleet, options)
    const selector = fleetLabels(fleet)
    const labels = mergeMaps(fleet.labels, selector)
    // Owner references must not cross namespaces: none in the ControllerNamespace layout.
    const owned = namespace === fleet.gateway.namespace
    const metadata = (annotations?: { readonly [key: string]: string }) => ({
      name,
      namespace,
      labels: { ...labels },
      annotations: mergeMaps(fleet.annotations, annotations),
      ...(owned
        ? {
            ownerReferences: [
              {
                apiVersion: "gateway.networking.k8s.io/v1",
                kind: "Gateway",
                name: fleet.gateway.name,
                uid: options.gatewayUid,
                controller: true
              }
            ]
          }
        : {})
    })

    new k8s.KubeServiceAccount(this, "service-account", {
      metadata: metadata(),
      // Envoy never calls the API server; its only token is the projected xDS one below.
      automountServiceAccountToken: false
    })

    const data = bootstrapData(fleet, options)
    new k8s.KubeConfigMap(this, "bootstrap", { metadata: metadata(), data: { ...data } })

    new ApiObject(this, "deployment", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: metadata(),
      spec: {
        replicas: options.autoscaling === undefined ? (options.replicas ?? 1) : undefined,
        selector: { matchLabels: { ...selector } },
        template: {
          metadata: {
            labels: { ...labels },
            annotations: mergeMaps(fleet.annotations, { [BOOTSTRAP_HASH_ANNOTATION]: digest(data) })
          },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: gracePeriod,
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [envoyContainer(fleet, options, drainSeconds)],
            volumes: [
              { name: "bootstrap", configMap: { name } },
              {
                name: "xds-token",
                projected: {
                  sources: [
                    {
                      serviceAccountToken: {
                        audience: XDS_TOKEN_AUDIENCE,
                        expirationSeconds: 3600,
                        path: XDS_TOKEN_FILE
                      }
                    }
                  ]
                }
              }
            ]
          }
        }
      }
    })

    if (fleet.ports.length > 0) {
      const type = options.service?.type ?? "LoadBalancer"
      new k8s.KubeService(this, "service", {
        metadata: metadata(options.service?.annotations),
        spec: {
          type,
          selector: { ...selector },
          ports: fleet.ports.map((p) => ({
            name: p.name,
            protocol: p.protocol,
            port: p.port,
            targetPort: k8s.IntOrString.fromNumber(p.containerPort)
          })),
          ...(type === "ClusterIP" ? {} : { externalTrafficPolicy: options.service?.externalTrafficPolicy ?? "Local" })
        }
      })
    }

    const hpa = options.autoscaling
    if (hpa !== undefined) {
      new k8s.KubeHorizontalPodAutoscalerV2(this, "autoscaler", {
        metadata: metadata(),
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
          minReplicas: hpa.minReplicas,
          maxReplicas: hpa.maxReplicas,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: hpa.cpuUtilization } }
            }
          ]
        }
      })
    }

    const pdb = options.podDisruptionBudget
    if (pdb !== undefined) {
      new k8s.KubePodDisruptionBudget(this, "disruption-budget", {
        metadata: metadata(),
        spec: { minAvailable: intOrString(pdb.minAvailable), selector: { matchLabels: { ...selector } } }
      })
    }
  }
}

/**
 * One fleet's manifests, in apply order (ServiceAccount, ConfigMap, Deployment, Service, HPA,
 * PDB), ready for server-side apply. Pure and deterministic: same input, same objects.
 */
export const synthFleet = (fleet: FleetInfra, options: FleetOptions): ReadonlyArray<KubeManifest> => {
  const chart = newChart("fleet")
  new EnvoyFleet(chart, fleet.name, { fleet, options })
  return manifestsOf(chart)
}
