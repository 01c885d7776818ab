/**
 * The envtest harness itself, against a real kube-apiserver + etcd: the API server answers, the
 * Gateway API CRDs are installed with their schemas, and RBAC and ServiceAccount tokens behave as in
 * a cluster (the controller's integration tests rely on all of it).
 */
import {
  ApiException,
  ApiextensionsV1Api,
  AuthenticationV1Api,
  CustomObjectsApi,
  type KubeConfig,
  RbacAuthorizationV1Api,
  VersionApi
} from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { gatewayApiFile } from "../support/gatewayApiDir.ts"
import { type EnvTest, startEnvTest } from "../support/kube/EnvTest.ts"
import { isJsonObject, type JsonObject, readManifests } from "../support/manifests.ts"

const GROUP = "gateway.networking.k8s.io"
const VERSION = "v1"
const NAMESPACE = "envtest-gateways"
const SA_NAMESPACE = "envtest-rbac"
const SA_NAME = "controller"
const CLUSTER_ROLE = "envtest-gateway-lister"

/** The first build of kube-apiserver and etcd takes minutes (`make envtest` does it ahead). */
const START_TIMEOUT_MS = 30 * 60_000

/** A Gateway from the conformance base manifests, moved into our namespace with our class. */
const conformanceGateway = (name: string): JsonObject => {
  const manifests = readManifests(gatewayApiFile("conformance", "base", "manifests.yaml"))
  const found = manifests.find((m) => m.kind === "Gateway" && isJsonObject(m.metadata) && m.metadata.name === name)
  if (found === undefined) throw new Error(`no Gateway ${name} in conformance/base/manifests.yaml`)
  const text = JSON.stringify(found).replaceAll("{GATEWAY_CLASS_NAME}", "portico")
  const gateway = JSON.parse(text) as { metadata: { namespace?: string } }
  gateway.metadata.namespace = NAMESPACE
  return gateway as unknown as JsonObject
}

/** The HTTP status of a failed client-node call (throws anything that is not an ApiException). */
const statusOf = async (call: Promise<unknown>): Promise<number> => {
  try {
    await call
    return 200
  } catch (error) {
    if (error instanceof ApiException) return error.code
    throw error
  }
}

describe("envtest: kube-apiserver + etcd", () => {
  let env: EnvTest
  let admin: KubeConfig

  beforeAll(async () => {
    env = await startEnvTest({ namespaces: [NAMESPACE] })
    admin = env.kubeConfig
  }, START_TIMEOUT_MS)

  afterAll(async () => {
    await env?.stop()
  })

  it("serves the API over TLS trusted through the kubeconfig's CA", async () => {
    const version = await admin.makeApiClient(VersionApi).getCode()
    expect(version.major).toBe("1")
    expect(env.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(env.caPem).toContain("BEGIN CERTIFICATE")
  })

  it("has the Gateway API CRDs installed and Established", async () => {
    const kinds = ["gateways", "gatewayclasses", "httproutes", "grpcroutes", "referencegrants"]
    const more = ["listenersets", "tlsroutes", "tcproutes", "udproutes", "backendtlspolicies"]
    const api = admin.makeApiClient(ApiextensionsV1Api)
    for (const plural of [...kinds, ...more]) {
      const name = `${plural}.${GROUP}`
      expect(env.crds).toContain(name)
      const crd = await api.readCustomResourceDefinition({ name })
      const established = crd.status?.conditions?.find((c) => c.type === "Established")
      expect(established?.status, name).toBe("True")
    }
  })

  it("stores a valid Gateway from the conformance manifests and reads it back", async () => {
    const api = admin.makeApiClient(CustomObjectsApi)
    const body = conformanceGateway("same-namespace")
    await api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: "gateways",
      body
    })
    const read = await api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: "gateways",
      name: "same-namespace"
    })
    expect(read.spec).toEqual(body.spec)
    expect(read.metadata.uid).toBeTypeOf("string")
  })

  it("rejects an invalid Gateway (listener port 0) with 422 from the CRD schema", async () => {
    const api = admin.makeApiClient(CustomObjectsApi)
    const gateway = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: "Gateway",
      metadata: { name: "port-zero", namespace: NAMESPACE },
      spec: { gatewayClassName: "portico", listeners: [{ name: "http", port: 0, protocol: "HTTP" }] }
    }
    const error = await api
      .createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: NAMESPACE,
        plural: "gateways",
        body: gateway
      })
      .then(
        () => undefined,
        (e: unknown) => e
      )
    expect(error).toBeInstanceOf(ApiException)
    const exception = error as ApiException<unknown>
    expect(exception.code).toBe(422)
    const body = typeof exception.body === "string" ? exception.body : JSON.stringify(exception.body)
    expect(body).toMatch(/spec\.listeners\[0\]\.port/)
  })

  it("enforces RBAC on a ServiceAccount token and authenticates it with TokenReview", async () => {
    const token = await env.serviceAccountToken(SA_NAMESPACE, SA_NAME)
    const asServiceAccount = await env.makeUserKubeConfig({ token, name: SA_NAME })
    const listGateways = () =>
      asServiceAccount
        .makeApiClient(CustomObjectsApi)
        .listClusterCustomObject({ group: GROUP, version: VERSION, plural: "gateways" })

    expect(await statusOf(listGateways())).toBe(403)

    const rbac = admin.makeApiClient(RbacAuthorizationV1Api)
    await rbac.createClusterRole({
      body: {
        metadata: { name: CLUSTER_ROLE },
        rules: [{ apiGroups: [GROUP], resources: ["gateways"], verbs: ["list"] }]
      }
    })
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: CLUSTER_ROLE },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: CLUSTER_ROLE },
        subjects: [{ kind: "ServiceAccount", name: SA_NAME, namespace: SA_NAMESPACE }]
      }
    })
    // The RBAC authorizer reads bindings from an informer: allow it a moment to see them.
    const deadline = Date.now() + 10_000
    let status = await statusOf(listGateways())
    while (status === 403 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      status = await statusOf(listGateways())
    }
    expect(status).toBe(200)
    const list = await listGateways()
    expect(list.items.map((g: { metadata: { name: string } }) => g.metadata.name)).toContain("same-namespace")

    // Only list was granted.
    const get = asServiceAccount.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: "gateways",
      name: "same-namespace"
    })
    expect(await statusOf(get)).toBe(403)

    const review = await admin.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token } } })
    expect(review.status?.authenticated).toBe(true)
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${SA_NAMESPACE}:${SA_NAME}`)
    expect(review.status?.user?.groups).toContain(`system:serviceaccounts:${SA_NAMESPACE}`)

    const bogus = await admin
      .makeApiClient(AuthenticationV1Api)
      .createTokenReview({ body: { spec: { token: `${token.slice(0, -4)}AAAA` } } })
    expect(bogus.status?.authenticated).not.toBe(true)
  })

  it("makes client-certificate users that RBAC knows by name and group", async () => {
    const nobody = await env.makeUserKubeConfig({ user: "envtest-nobody", groups: ["envtest-group"] })
    const status = await statusOf(
      nobody
        .makeApiClient(CustomObjectsApi)
        .listClusterCustomObject({ group: GROUP, version: VERSION, plural: "gateways" })
    )
    expect(status).toBe(403)
  })
})
