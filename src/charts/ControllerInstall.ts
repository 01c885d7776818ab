/**
 * The controller's own install manifest (`kubectl apply -f`): Namespace, the CRDs handed in,
 * ServiceAccount, least-privilege RBAC, the xDS Service and the controller Deployment.
 *
 * Names follow Envoy Gateway where users or fleets depend on them: the namespace
 * `envoy-gateway-system`, the Deployment and the xDS Service `envoy-gateway` (every fleet's
 * bootstrap points at `envoy-gateway.envoy-gateway-system.svc:18000`).
 *
 * RBAC lists exactly what the controller does, never a wildcard:
 * - reads (get/list/watch) every Gateway API kind it reconciles and writes only their `/status`
 *   (update/patch); ReferenceGrant has no status;
 * - reads Envoy Gateway's policy kinds (gateway.envoyproxy.io) and writes their `/status`;
 * - reads namespaces (route namespace selectors), secrets (listener certificates, CA bundles)
 *   and EndpointSlices (EDS);
 * - creates TokenReviews (each Envoy's projected token is checked before it is served);
 * - owns the fleet objects (get/list/watch/create/update/patch/delete): serviceaccounts,
 *   configmaps, services (core), deployments (apps), horizontalpodautoscalers (autoscaling),
 *   poddisruptionbudgets (policy). ConfigMaps and Services are read through the same rule.
 *   Owner references on them leave `blockOwnerDeletion` unset, so no `gateways/finalizers` right
 *   is needed;
 * - in its own namespace only (Role): the leader-election Lease (get/create/update) and Events
 *   (create).
 *
 * Objects use cdk8s-plus-28's typed Kubernetes classes (`k8s.Kube*`), which emit exactly what
 * they are given; see Manifest.ts for synthesis and determinism.
 */

import { ApiObject } from "cdk8s"
import { k8s } from "cdk8s-plus-28"
import { Construct } from "constructs"
import { PORTICO_VERSION } from "../Version.ts"
import { isKubeManifest, type KubeManifest, manifestsOf, newChart, renderManifestsYaml } from "./Manifest.ts"

export const CONTROLLER_NAMESPACE = "envoy-gateway-system"
/** The controller's Deployment, ServiceAccount, Service and RBAC objects share this name. */
export const CONTROLLER_SERVICE = "envoy-gateway"
export const XDS_PORT = 18000
/** The controller's admin server: /healthz, /readyz (and metrics). */
export const CONTROLLER_ADMIN_PORT = 19000
/** The Secret (controller namespace) holding the xDS CA; see src/xds/ControllerCa.ts. */
export const XDS_CA_SECRET = "portico-xds-ca"
export const DEFAULT_CONTROLLER_IMAGE = `ghcr.io/portico/portico:${PORTICO_VERSION}`

/** Labels of every controller object; the first two also select its pods. */
export const controllerSelectorLabels: { readonly [key: string]: string } = {
  "app.kubernetes.io/name": "portico",
  "app.kubernetes.io/component": "controller"
}
const controllerLabels: { readonly [key: string]: string } = {
  ...controllerSelectorLabels,
  "app.kubernetes.io/version": PORTICO_VERSION
}

/** One RBAC rule, as written in the ClusterRole/Role. */
export interface Rule {
  readonly apiGroups: ReadonlyArray<string>
  readonly resources: ReadonlyArray<string>
  readonly verbs: ReadonlyArray<string>
  /** Only these objects (e.g. the xDS CA Secret). */
  readonly resourceNames?: ReadonlyArray<string>
}

const READ = ["get", "list", "watch"] as const
const WRITE_STATUS = ["update", "patch"] as const
const OWN = ["get", "list", "watch", "create", "update", "patch", "delete"] as const

const GATEWAY_API_KINDS = [
  "gatewayclasses",
  "gateways",
  "httproutes",
  "grpcroutes",
  "tlsroutes",
  "tcproutes",
  "udproutes",
  "referencegrants",
  "backendtlspolicies",
  "listenersets"
] as const
const ENVOY_GATEWAY_KINDS = [
  "envoyproxies",
  "clienttrafficpolicies",
  "backendtrafficpolicies",
  "securitypolicies",
  "backends"
] as const
const status = (kinds: ReadonlyArray<string>): ReadonlyArray<string> => kinds.map((kind) => `${kind}/status`)

/** The ClusterRole's rules (see the module doc). */
export const CONTROLLER_CLUSTER_RULES: ReadonlyArray<Rule> = [
  { apiGroups: ["gateway.networking.k8s.io"], resources: GATEWAY_API_KINDS, verbs: READ },
  {
    apiGroups: ["gateway.networking.k8s.io"],
    resources: status(GATEWAY_API_KINDS.filter((kind) => kind !== "referencegrants")),
    verbs: WRITE_STATUS
  },
  { apiGroups: ["gateway.envoyproxy.io"], resources: ENVOY_GATEWAY_KINDS, verbs: READ },
  { apiGroups: ["gateway.envoyproxy.io"], resources: status(ENVOY_GATEWAY_KINDS), verbs: WRITE_STATUS },
  { apiGroups: [""], resources: ["namespaces", "secrets"], verbs: READ },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: READ },
  { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
  { apiGroups: [""], resources: ["configmaps", "serviceaccounts", "services"], verbs: OWN },
  { apiGroups: ["apps"], resources: ["deployments"], verbs: OWN },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: OWN },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: OWN }
]

/** The Role's rules, in the controller's namespace. */
export const CONTROLLER_NAMESPACE_RULES: ReadonlyArray<Rule> = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create"] },
  // The xDS CA (ControllerCa): created once by whichever replica comes first, then only that Secret
  // is ever changed (create cannot be limited by name: the name is not known to RBAC before it exists).
  { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
  { apiGroups: [""], resources: ["secrets"], verbs: ["update", "patch"], resourceNames: [XDS_CA_SECRET] }
]

export interface InstallOptions {
  /** Default `envoy-gateway-system`. */
  readonly namespace?: string
  /** Default `ghcr.io/portico/portico:<version>`. */
  readonly image?: string
  /** Default 1. Every replica serves xDS; a Lease elects the one that writes. */
  readonly replicas?: number
  /** Default requests cpu 100m / memory 256Mi, limit memory 1Gi. Replaced as a whole. */
  readonly resources?: {
    readonly requests?: { readonly cpu?: string; readonly memory?: string }
    readonly limits?: { readonly cpu?: string; readonly memory?: string }
  }
  /** Appended to `serve --provider kubernetes` (e.g. the fleet layout flag). */
  readonly extraArgs?: ReadonlyArray<string>
  /** CustomResourceDefinition documents, emitted after the Namespace. */
  readonly crds?: ReadonlyArray<unknown>
}

const DEFAULT_RESOURCES = { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } }

const quantities = (list: { readonly cpu?: string; readonly memory?: string } | undefined) => {
  if (list === undefined) return undefined
  const out: { [key: string]: k8s.Quantity } = {}
  if (list.cpu !== undefined) out.cpu = k8s.Quantity.fromString(list.cpu)
  if (list.memory !== undefined) out.memory = k8s.Quantity.fromString(list.memory)
  return out
}

const policyRules = (rules: ReadonlyArray<Rule>): Array<k8s.PolicyRule> =>
  rules.map((rule) => ({
    apiGroups: [...rule.apiGroups],
    resources: [...rule.resources],
    verbs: [...rule.verbs],
    ...(rule.resourceNames === undefined ? {} : { resourceNames: [...rule.resourceNames] })
  }))

const crdManifest = (value: unknown, index: number): KubeManifest => {
  if (!isKubeManifest(value) || value.kind !== "CustomResourceDefinition") {
    throw new TypeError(`ControllerInstall: crds[${index}] is not a CustomResourceDefinition manifest`)
  }
  return value
}

export interface ControllerInstallProps {
  readonly options: InstallOptions
}

/** The controller's install manifest, as a cdk8s construct (see the module doc). */
export class ControllerInstall extends Construct {
  constructor(scope: Construct, id: string, props: ControllerInstallProps) {
    super(scope, id)
    const { options } = props
    const namespace = options.namespace ?? CONTROLLER_NAMESPACE
    const name = CONTROLLER_SERVICE
    if (options.replicas !== undefined && !(Number.isInteger(options.replicas) && options.replicas >= 0)) {
      throw new RangeError("ControllerInstall: replicas must be an integer >= 0")
    }
    const crds = (options.crds ?? []).map(crdManifest)
    const labels = () => ({ ...controllerLabels })
    const namespaced = (objectName: string) => ({ name: objectName, namespace, labels: labels() })
    const subject = { kind: "ServiceAccount", name, namespace }

    new k8s.KubeNamespace(this, "namespace", { metadata: { name: namespace, labels: labels() } })
    crds.forEach((crd, index) => {
      const { apiVersion, kind, metadata, ...rest } = crd
      const { ownerReferences, ...meta } = metadata
      new ApiObject(this, `crd-${index}`, {
        ...rest,
        apiVersion,
        kind,
        metadata: { ...meta, ...(ownerReferences !== undefined ? { ownerReferences: [...ownerReferences] } : {}) }
      })
    })
    new k8s.KubeServiceAccount(this, "service-account", {
      metadata: namespaced(name),
      // The controller talks to the API server with this ServiceAccount's token.
      automountServiceAccountToken: true
    })
    new k8s.KubeClusterRole(this, "cluster-role", {
      metadata: { name, labels: labels() },
      rules: policyRules(CONTROLLER_CLUSTER_RULES)
    })
    new k8s.KubeClusterRoleBinding(this, "cluster-role-binding", {
      metadata: { name, labels: labels() },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [subject]
    })
    new k8s.KubeRole(this, "role", {
      metadata: namespaced(`${name}-leader-election`),
      rules: policyRules(CONTROLLER_NAMESPACE_RULES)
    })
    new k8s.KubeRoleBinding(this, "role-binding", {
      metadata: namespaced(`${name}-leader-election`),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${name}-leader-election` },
      subjects: [subject]
    })
    new k8s.KubeService(this, "service", {
      metadata: namespaced(name),
      spec: {
        type: "ClusterIP",
        selector: { ...controllerSelectorLabels },
        ports: [{ name: "xds", protocol: "TCP", port: XDS_PORT, targetPort: k8s.IntOrString.fromString("xds") }]
      }
    })

    const resources = options.resources ?? DEFAULT_RESOURCES
    const requests = quantities(resources.requests)
    const limits = quantities(resources.limits)
    const probe = (path: string, periodSeconds: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString("admin"), scheme: "HTTP" },
      periodSeconds,
      timeoutSeconds: 2,
      failureThreshold: 3
    })
    const fieldEnv = (envName: string, fieldPath: string): k8s.EnvVar => ({
      name: envName,
      valueFrom: { fieldRef: { apiVersion: "v1", fieldPath } }
    })
    new k8s.KubeDeployment(this, "deployment", {
      metadata: namespaced(name),
      spec: {
        replicas: options.replicas ?? 1,
        selector: { matchLabels: { ...controllerSelectorLabels } },
        template: {
          metadata: { labels: labels() },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: true,
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "controller",
                image: options.image ?? DEFAULT_CONTROLLER_IMAGE,
                args: ["serve", "--provider", "kubernetes", ...(options.extraArgs ?? [])],
                env: [fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace")],
                ports: [
                  { name: "xds", containerPort: XDS_PORT, protocol: "TCP" },
                  { name: "admin", containerPort: CONTROLLER_ADMIN_PORT, protocol: "TCP" }
                ],
                livenessProbe: probe("/healthz", 10),
                readinessProbe: probe("/readyz", 5),
                resources: {
                  ...(requests !== undefined ? { requests } : {}),
                  ...(limits !== undefined ? { limits } : {})
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  privileged: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  runAsUser: 65532,
                  runAsGroup: 65532,
                  capabilities: { drop: ["ALL"] }
                }
              }
            ]
          }
        }
      }
    })
  }
}

/**
 * The install manifest's objects in apply order: Namespace, CRDs, ServiceAccount, ClusterRole,
 * ClusterRoleBinding, Role, RoleBinding, Service, Deployment. Pure and deterministic.
 */
export const synthInstall = (options: InstallOptions = {}): ReadonlyArray<KubeManifest> => {
  const chart = newChart("install")
  new ControllerInstall(chart, "portico", { options })
  return manifestsOf(chart)
}

/** The install manifest as multi-document YAML, for `kubectl apply -f`. */
export const renderInstallYaml = (options: InstallOptions = {}): string => renderManifestsYaml(synthInstall(options))
