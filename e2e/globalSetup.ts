/**
 * Runs once before the suite: the cluster must be there, or the run fails with one line saying what is
 * missing (never a skipped test). Checks, in order: the kubeconfig context (E2E_KUBE_CONTEXT, default
 * kind-portico), that its API server answers, the Gateway API CRDs, the controller Deployment, and
 * MetalLB's address pool. Then applies the quickstart's GatewayClass `eg` and waits until the controller
 * accepts it.
 */
import { VersionApi } from "@kubernetes/client-node"
import { GATEWAY_CLASS_NAME, quickstartGatewayClass } from "./support/backends.ts"
import {
  apply,
  CONTROLLER_DEPLOYMENT,
  CONTROLLER_NAMESPACE,
  DEPLOYMENT,
  dispose,
  E2E_CONTEXT,
  field,
  GATEWAY_CLASS,
  get,
  IP_ADDRESS_POOL,
  loadKubeConfig,
  METALLB_NAMESPACE,
  METALLB_POOL,
  waitFor
} from "./support/kube.ts"

const fail = (message: string): never => {
  throw new Error(`e2e: ${message}`)
}

const withTimeout = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000}s`)), ms))
  ])

/**
 * Vitest's global setup. A missing cluster ends the run here with exit code 1 and one line on
 * stderr (a thrown error would be followed by vitest's stack trace and a misleading "No test files
 * found").
 */
export const setup = async (): Promise<void> => {
  try {
    await checkCluster()
  } catch (error) {
    process.stderr.write(`\n${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  } finally {
    await dispose()
  }
}

const checkCluster = async (): Promise<void> => {
  const kubeConfig = loadKubeConfig()
  const server = kubeConfig.getCurrentCluster()?.server ?? "(no server)"
  try {
    await withTimeout(kubeConfig.makeApiClient(VersionApi).getCode(), 10_000, server)
  } catch (error) {
    fail(
      `the API server of context ${E2E_CONTEXT} (${server}) does not answer (${error instanceof Error ? error.message : String(error)}): is the kind cluster running? make kind-up needs Docker and internet`
    )
  }
  try {
    await get(GATEWAY_CLASS, { name: GATEWAY_CLASS_NAME })
  } catch {
    fail(`the Gateway API CRDs are not installed in context ${E2E_CONTEXT}: run make kind-up`)
  }
  const controller = await get(DEPLOYMENT, { namespace: CONTROLLER_NAMESPACE, name: CONTROLLER_DEPLOYMENT })
  if (controller === undefined) {
    fail(
      `no controller Deployment ${CONTROLLER_NAMESPACE}/${CONTROLLER_DEPLOYMENT} in context ${E2E_CONTEXT}: run make kind-up or make deploy`
    )
  }
  if (Number(field(controller, "status", "availableReplicas") ?? 0) < 1) {
    fail(
      `the controller ${CONTROLLER_NAMESPACE}/${CONTROLLER_DEPLOYMENT} has no available replica: kubectl --context ${E2E_CONTEXT} -n ${CONTROLLER_NAMESPACE} logs deployment/${CONTROLLER_DEPLOYMENT}`
    )
  }
  const pool = await get(IP_ADDRESS_POOL, { namespace: METALLB_NAMESPACE, name: METALLB_POOL }).catch(() => undefined)
  if (pool === undefined) {
    fail(`no MetalLB IPAddressPool ${METALLB_NAMESPACE}/${METALLB_POOL} in context ${E2E_CONTEXT}: run make kind-up`)
  }
  await apply([quickstartGatewayClass()])
  await waitFor(
    `GatewayClass ${GATEWAY_CLASS_NAME} to be Accepted by the controller`,
    async () => {
      const gatewayClass = await get(GATEWAY_CLASS, { name: GATEWAY_CLASS_NAME })
      const conditions = field(gatewayClass, "status", "conditions")
      return Array.isArray(conditions) &&
        conditions.some((c) => field(c, "type") === "Accepted" && field(c, "status") === "True")
        ? true
        : undefined
    },
    60_000
  )
}
