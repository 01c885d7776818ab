/**
 * The live cluster, for the end-to-end flows: the kubeconfig context (E2E_KUBE_CONTEXT, default
 * `kind-portico`, the cluster of `make kind-up`), and the few operations the flows need, through
 * Portico's own KubeClient (server-side apply, get, list, delete) plus pod logs.
 */
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node"
import { Effect, ManagedRuntime } from "effect"
import {
  isNotFound,
  type KubeError,
  type KubeObject,
  type ListOptions,
  type ObjectRef,
  type TypeRef
} from "../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient, type KubeClientService } from "../../src/providers/kubernetes/KubeClient.ts"

export const E2E_CONTEXT = process.env.E2E_KUBE_CONTEXT || "kind-portico"
export const FIELD_MANAGER = "portico-e2e"
export const CONTROLLER_NAMESPACE = "envoy-gateway-system"
export const CONTROLLER_DEPLOYMENT = "envoy-gateway"
export const METALLB_NAMESPACE = "metallb-system"
export const METALLB_POOL = "portico"

export const GATEWAY_API = "gateway.networking.k8s.io/v1"
export const GATEWAY: TypeRef = { apiVersion: GATEWAY_API, kind: "Gateway" }
export const GATEWAY_CLASS: TypeRef = { apiVersion: GATEWAY_API, kind: "GatewayClass" }
export const DEPLOYMENT: TypeRef = { apiVersion: "apps/v1", kind: "Deployment" }
export const SERVICE: TypeRef = { apiVersion: "v1", kind: "Service" }
export const CONFIG_MAP: TypeRef = { apiVersion: "v1", kind: "ConfigMap" }
export const SERVICE_ACCOUNT: TypeRef = { apiVersion: "v1", kind: "ServiceAccount" }
export const NAMESPACE: TypeRef = { apiVersion: "v1", kind: "Namespace" }
export const IP_ADDRESS_POOL: TypeRef = { apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool" }

/** A plain JSON object, for reading fields of what the API server returns. */
export type Json = { readonly [key: string]: unknown }
export const isJson = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)
/** `object.a.b.c`, or undefined when a step is missing. */
export const field = (value: unknown, ...path: ReadonlyArray<string | number>): unknown => {
  let at = value
  for (const step of path) {
    if (typeof step === "number") at = Array.isArray(at) ? at[step] : undefined
    else at = isJson(at) ? at[step] : undefined
  }
  return at
}

/** The kubeconfig (KUBECONFIG or ~/.kube/config) switched to E2E_CONTEXT; throws one line when it is absent. */
export const loadKubeConfig = (): KubeConfig => {
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromDefault()
  if (!kubeConfig.getContexts().some((context) => context.name === E2E_CONTEXT)) {
    const source = process.env.KUBECONFIG || "~/.kube/config"
    throw new Error(
      `e2e: kubeconfig ${source} has no context ${E2E_CONTEXT}: the suite needs a live cluster, run make kind-up (needs Docker and internet) or set E2E_KUBE_CONTEXT`
    )
  }
  kubeConfig.setCurrentContext(E2E_CONTEXT)
  return kubeConfig
}

let cached:
  | { readonly kubeConfig: KubeConfig; readonly runtime: ManagedRuntime.ManagedRuntime<KubeClient, unknown> }
  | undefined
const cluster = () => {
  if (cached === undefined) {
    const kubeConfig = loadKubeConfig()
    cached = { kubeConfig, runtime: ManagedRuntime.make(KubeClient.layerFromKubeConfig(kubeConfig)) }
  }
  return cached
}

/** Runs one KubeClient operation; its KubeError rejects the promise with the server's message. */
export const kube = <A>(operation: (client: KubeClientService) => Effect.Effect<A, KubeError>): Promise<A> =>
  cluster().runtime.runPromise(
    Effect.gen(function* () {
      const client = yield* KubeClient
      return yield* operation(client)
    })
  )

/** Server-side apply, in order, as the e2e field manager (forcing conflicts). */
export const apply = async (objects: ReadonlyArray<KubeObject>): Promise<void> => {
  for (const object of objects) {
    await kube((client) => client.serverSideApply(object, { fieldManager: FIELD_MANAGER }))
  }
}

/** The object, or undefined when it does not exist. */
export const get = (type: TypeRef, ref: ObjectRef): Promise<KubeObject | undefined> =>
  kube((client) =>
    client.get(type, ref).pipe(Effect.catchIf(isNotFound, () => Effect.succeed<KubeObject | undefined>(undefined)))
  )

export const list = async (type: TypeRef, options: ListOptions = {}): Promise<ReadonlyArray<KubeObject>> =>
  (await kube((client) => client.list(type, options))).items

/** Deletes the object (background propagation); a missing one is fine. */
export const remove = (type: TypeRef, ref: ObjectRef): Promise<void> =>
  kube((client) =>
    client.delete(type, ref, { propagationPolicy: "Background" }).pipe(Effect.catchIf(isNotFound, () => Effect.void))
  )

export const namespaceObject = (name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels: { "portico.dev/e2e": "true" } }
})

/** The logs of every pod matching the selector, concatenated. */
export const podLogs = async (namespace: string, labelSelector: string): Promise<string> => {
  const core = cluster().kubeConfig.makeApiClient(CoreV1Api)
  const pods = await core.listNamespacedPod({ namespace, labelSelector })
  const logs = await Promise.all(
    pods.items.map((pod) => {
      const container = pod.spec?.containers[0]?.name
      const name = pod.metadata?.name ?? ""
      return core.readNamespacedPodLog({ namespace, name, ...(container !== undefined ? { container } : {}) })
    })
  )
  return logs.join("\n")
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `probe` until it returns a value (not undefined); throws `what` with the last error at the deadline. */
export const waitFor = async <A>(
  what: string,
  probe: () => Promise<A | undefined>,
  timeoutMs = 180_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? `: ${last.message}` : ""
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${reason}`)
    }
    await sleep(1_000)
  }
}

const conditionTrue = (object: unknown, type: string): boolean => {
  const conditions = field(object, "status", "conditions")
  return Array.isArray(conditions) && conditions.some((c) => field(c, "type") === type && field(c, "status") === "True")
}

/** Waits for the Deployment's Available condition. */
export const waitForDeployment = (namespace: string, name: string): Promise<KubeObject> =>
  waitFor(`Deployment ${namespace}/${name} to be Available`, async () => {
    const deployment = await get(DEPLOYMENT, { namespace, name })
    return deployment !== undefined && conditionTrue(deployment, "Available") ? deployment : undefined
  })

/** Waits until the Gateway is Programmed with an address in its status; returns that address. */
export const gatewayAddress = (namespace: string, name: string): Promise<string> =>
  waitFor(`Gateway ${namespace}/${name} to be Programmed with an address`, async () => {
    const gateway = await get(GATEWAY, { namespace, name })
    const address = field(gateway, "status", "addresses", 0, "value")
    return conditionTrue(gateway, "Programmed") && typeof address === "string" && address !== "" ? address : undefined
  })

/** The label selector of a Gateway's fleet (Envoy Gateway's owning-gateway labels). */
export const fleetSelector = (namespace: string, name: string): string =>
  [
    "app.kubernetes.io/managed-by=envoy-gateway",
    `gateway.envoyproxy.io/owning-gateway-name=${name}`,
    `gateway.envoyproxy.io/owning-gateway-namespace=${namespace}`
  ].join(",")

/** A per-flow namespace: created (server-side apply) now, deleted with everything in it by `drop`. */
export const testNamespace = async (name: string): Promise<{ readonly name: string; drop(): Promise<void> }> => {
  await apply([namespaceObject(name)])
  return { name, drop: () => remove(NAMESPACE, { name }) }
}

export const dispose = async (): Promise<void> => {
  const current = cached
  cached = undefined
  await current?.runtime.dispose()
}
