/**
 * The objects the flows apply: the quickstart (examples/quickstart.yaml, moved into a namespace),
 * and more echo backends built like its `backend` (same image, same downward-API environment),
 * optionally serving gRPC or TLS.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseAllDocuments } from "yaml"
import type { KubeObject } from "../../src/providers/kubernetes/KubeApi.ts"
import { field, GATEWAY_API, isJson } from "./kube.ts"

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..")
export const QUICKSTART_FILE = join(repoRoot, "examples", "quickstart.yaml")
const CLUSTER_SCOPED = new Set(["GatewayClass", "Namespace", "ClusterRole", "ClusterRoleBinding"])

/** examples/quickstart.yaml's objects, namespaced ones moved into `namespace` (as `kubectl apply -n`). */
export const quickstart = (namespace: string): ReadonlyArray<KubeObject> =>
  parseAllDocuments(readFileSync(QUICKSTART_FILE, "utf8"))
    .map((document) => document.toJS() as unknown)
    .filter(isJson)
    .map((object) => {
      const kubeObject = object as KubeObject
      return CLUSTER_SCOPED.has(kubeObject.kind)
        ? kubeObject
        : { ...kubeObject, metadata: { ...kubeObject.metadata, namespace } }
    })

/** The echo server image the quickstart pins (one place to bump it). */
export const ECHO_IMAGE: string = (() => {
  const deployment = quickstart("default").find((o) => o.kind === "Deployment")
  const image = field(deployment, "spec", "template", "spec", "containers", 0, "image")
  if (typeof image !== "string") throw new Error(`${QUICKSTART_FILE}: no Deployment image`)
  return image
})()

/** The GatewayClass of the quickstart (`eg`, our controllerName); every flow uses it. */
export const GATEWAY_CLASS_NAME = "eg"
export const quickstartGatewayClass = (): KubeObject => {
  const gatewayClass = quickstart("default").find((o) => o.kind === "GatewayClass")
  if (gatewayClass === undefined) throw new Error(`${QUICKSTART_FILE}: no GatewayClass`)
  return gatewayClass
}

export interface EchoOptions {
  /** Serve gRPC (GrpcEcho) on the Service port 8080 instead of HTTP on 3000. */
  readonly grpc?: boolean
  /** Serve HTTPS on the Service port 443 with this kubernetes.io/tls Secret (TLS passthrough backends). */
  readonly tlsSecret?: string
}

/** A Service and a Deployment (one replica) of the echo server named `name`. */
export const echoBackend = (namespace: string, name: string, options: EchoOptions = {}): ReadonlyArray<KubeObject> => {
  const labels = { app: name }
  const env: Array<unknown> = [
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }
  ]
  if (options.grpc === true) env.push({ name: "GRPC_ECHO_SERVER", value: "1" })
  if (options.tlsSecret !== undefined) {
    env.push({ name: "TLS_SERVER_CERT", value: "/etc/echo-tls/tls.crt" })
    env.push({ name: "TLS_SERVER_PRIVKEY", value: "/etc/echo-tls/tls.key" })
  }
  const port =
    options.grpc === true
      ? { name: "grpc", port: 8080, targetPort: 3000, protocol: "TCP", appProtocol: "kubernetes.io/h2c" }
      : options.tlsSecret !== undefined
        ? { name: "https", port: 443, targetPort: 8443, protocol: "TCP" }
        : { name: "http", port: 3000, targetPort: 3000, protocol: "TCP" }
  const service: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels },
    spec: { selector: labels, ports: [port] }
  }
  const deployment: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "echo",
              image: ECHO_IMAGE,
              env,
              ports: [{ containerPort: port.targetPort, protocol: "TCP" }],
              resources: { requests: { cpu: "10m", memory: "16Mi" } },
              ...(options.tlsSecret !== undefined
                ? { volumeMounts: [{ name: "tls", mountPath: "/etc/echo-tls", readOnly: true }] }
                : {})
            }
          ],
          ...(options.tlsSecret !== undefined
            ? { volumes: [{ name: "tls", secret: { secretName: options.tlsSecret } }] }
            : {})
        }
      }
    }
  }
  return [service, deployment]
}

export interface ListenerSpec {
  readonly name: string
  readonly protocol: "HTTP" | "HTTPS" | "TLS" | "TCP"
  readonly port: number
  readonly hostname?: string
  readonly tls?: { readonly mode: "Terminate" | "Passthrough"; readonly certificateRefs?: ReadonlyArray<string> }
}

/** A Gateway of the quickstart's class with the listeners given. */
export const gateway = (namespace: string, name: string, listeners: ReadonlyArray<ListenerSpec>): KubeObject => ({
  apiVersion: GATEWAY_API,
  kind: "Gateway",
  metadata: { name, namespace },
  spec: {
    gatewayClassName: GATEWAY_CLASS_NAME,
    listeners: listeners.map((listener) => ({
      name: listener.name,
      protocol: listener.protocol,
      port: listener.port,
      ...(listener.hostname !== undefined ? { hostname: listener.hostname } : {}),
      ...(listener.tls !== undefined
        ? {
            tls: {
              mode: listener.tls.mode,
              ...(listener.tls.certificateRefs !== undefined
                ? { certificateRefs: listener.tls.certificateRefs.map((secret) => ({ kind: "Secret", name: secret })) }
                : {})
            }
          }
        : {})
    }))
  }
})
