/**
 * InfraApplier against a real kube-apiserver + etcd (test/support/kube/EnvTest.ts): the fleet's
 * objects as the server stores them (names, labels, ports, owner references, managedFields), the
 * load balancer address read back once written through the Service's status subresource (what
 * MetalLB does), no writes for an unchanged fleet, explicit pruning (envtest has no garbage
 * collector), the ControllerNamespace layout, and objects that are not ours left alone.
 *
 * Every test removes its fleets at the end (an applier prunes fleet objects in all namespaces).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { type FleetToApply, InfraApplier, type InfraApplierOptions } from "../../src/charts/InfraApplier.ts"
import { programmedCondition } from "../../src/charts/LoadBalancer.ts"
import { containerPortFor, type FleetInfra } from "../../src/ir/Infra.ts"
import type { KubeObject, TypeRef } from "../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../src/providers/kubernetes/KubeClient.ts"
import { fleetNameOf } from "../../src/reconcilers/Gateway.ts"
import { captureLogs } from "../support/adsClient.ts"
import { type EnvTest, startEnvTest } from "../support/kube/EnvTest.ts"

/** The first build of kube-apiserver and etcd takes minutes (`make envtest` does it ahead). */
const START_TIMEOUT_MS = 30 * 60_000
const NS = "infra-applier"
const CONTROLLER_NS = "envoy-gateway-system"
const TEST_MANAGER = { fieldManager: "infra-applier-test" }
const TYPES = {
  gateway: { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway" },
  serviceAccount: { apiVersion: "v1", kind: "ServiceAccount" },
  configMap: { apiVersion: "v1", kind: "ConfigMap" },
  service: { apiVersion: "v1", kind: "Service" },
  deployment: { apiVersion: "apps/v1", kind: "Deployment" },
  hpa: { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler" },
  pdb: { apiVersion: "policy/v1", kind: "PodDisruptionBudget" }
} satisfies Record<string, TypeRef>
const FLEET_KINDS = [TYPES.serviceAccount, TYPES.configMap, TYPES.service, TYPES.deployment]

let env: EnvTest
beforeAll(async () => {
  env = await startEnvTest({ namespaces: [NS, CONTROLLER_NS] })
}, START_TIMEOUT_MS)
afterAll(async () => {
  await env?.stop()
})

const withApplier = <A, E>(body: Effect.Effect<A, E, InfraApplier | KubeClient>, options: InfraApplierOptions = {}) =>
  Effect.suspend(() =>
    body.pipe(
      Effect.provide(
        InfraApplier.layer(options).pipe(
          Layer.provideMerge(KubeClient.layerFromKubeConfig(env.kubeConfig)),
          Layer.provideMerge(captureLogs([]))
        )
      )
    )
  )

const fleetOf = (name: string, ports: ReadonlyArray<number> = [80]): FleetInfra => ({
  name: fleetNameOf(NS, name),
  gateway: { namespace: NS, name, gatewayClassName: "portico" },
  ports: ports.map((port) => ({ name: `http-${port}`, protocol: "TCP", port, containerPort: containerPortFor(port) })),
  addresses: [],
  labels: {},
  annotations: {}
})

/** Creates the Gateway (as another field manager) and returns the fleet to apply for it. */
const gatewayFleet = (name: string, ports: ReadonlyArray<number> = [80], options?: FleetToApply["options"]) =>
  Effect.gen(function* () {
    const kube = yield* KubeClient
    const gateway = yield* kube.serverSideApply(
      {
        ...TYPES.gateway,
        metadata: { name, namespace: NS },
        spec: {
          gatewayClassName: "portico",
          listeners: ports.map((port) => ({ name: `http-${port}`, port, protocol: "HTTP" }))
        }
      },
      TEST_MANAGER
    )
    const uid = gateway.metadata.uid
    assert.isString(uid)
    return { infra: fleetOf(name, ports), gatewayUid: uid ?? "", ...(options === undefined ? {} : { options }) }
  })

const applyFleets = (fleets: ReadonlyArray<FleetToApply>) =>
  Effect.gen(function* () {
    return yield* (yield* InfraApplier).apply(fleets)
  })
const get = (type: TypeRef, namespace: string, name: string) =>
  Effect.gen(function* () {
    return yield* (yield* KubeClient).get(type, { namespace, name })
  })
/** Whether the object exists (any other failure fails the test). */
const exists = (type: TypeRef, namespace: string, name: string) =>
  get(type, namespace, name).pipe(
    Effect.as(true),
    Effect.catchTag("KubeApiError", (e) => (e.status === 404 ? Effect.succeed(false) : Effect.fail(e)))
  )
const versions = (namespace: string, name: string) =>
  Effect.forEach(FLEET_KINDS, (type) => Effect.map(get(type, namespace, name), (o) => o.metadata.resourceVersion))

const FLEET_LABEL_KEYS = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/component",
  "app.kubernetes.io/managed-by",
  "gateway.envoyproxy.io/owning-gateway-name",
  "gateway.envoyproxy.io/owning-gateway-namespace"
]
interface Shape {
  readonly metadata: {
    readonly labels?: { readonly [key: string]: string }
    readonly ownerReferences?: ReadonlyArray<{ readonly kind: string; readonly name: string; readonly uid: string }>
    readonly managedFields?: ReadonlyArray<{ readonly manager: string; readonly operation: string }>
  }
  readonly spec?: {
    readonly ports?: ReadonlyArray<{ readonly port: number; readonly targetPort: number }>
    readonly template?: {
      readonly spec: {
        readonly containers: ReadonlyArray<{ readonly ports: ReadonlyArray<{ containerPort: number }> }>
      }
    }
  }
}
/** Test-only view of a served object (the applier itself never reads these fields). */
const shape = (o: KubeObject): Shape => o as unknown as Shape

describe("InfraApplier against kube-apiserver", () => {
  it.live("creates the fleet with names, labels, ports, owner reference and field manager portico", () =>
    withApplier(
      Effect.gen(function* () {
        const fleet = yield* gatewayFleet("web")
        const name = fleet.infra.name
        assert.match(name, /^envoy-infra-applier-web-[0-9a-f]{8}$/)
        const report = yield* applyFleets([fleet])
        assert.deepStrictEqual(report.failures, [])
        assert.deepStrictEqual(report.applied, [
          `ServiceAccount ${NS}/${name}`,
          `ConfigMap ${NS}/${name}`,
          `Service ${NS}/${name}`,
          `Deployment ${NS}/${name}`
        ])
        for (const type of FLEET_KINDS) {
          const object = shape(yield* get(type, NS, name))
          const labels = object.metadata.labels ?? {}
          for (const key of FLEET_LABEL_KEYS) assert.property(labels, key)
          assert.strictEqual(labels["gateway.envoyproxy.io/owning-gateway-name"], "web")
          assert.deepInclude(object.metadata.ownerReferences?.[0], {
            kind: "Gateway",
            name: "web",
            uid: fleet.gatewayUid
          })
          assert.isTrue(object.metadata.managedFields?.some((f) => f.manager === "portico" && f.operation === "Apply"))
        }
        const deployment = shape(yield* get(TYPES.deployment, NS, name))
        assert.deepStrictEqual(
          deployment.spec?.template?.spec.containers[0]?.ports.map((p) => p.containerPort),
          [10080]
        )
        const service = shape(yield* get(TYPES.service, NS, name))
        assert.deepStrictEqual(
          service.spec?.ports?.map((p) => [p.port, p.targetPort]),
          [[80, 10080]]
        )
        yield* applyFleets([])
      })
    )
  )

  it.live("reports AddressNotAssigned until the load balancer ingress is written, then the address", () =>
    withApplier(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const applier = yield* InfraApplier
        const fleet = yield* gatewayFleet("lb")
        const name = fleet.infra.name
        const first = yield* applyFleets([fleet])
        const pending = first.addresses.get(`${NS}/lb`)
        assert.isDefined(pending)
        if (pending === undefined) return
        assert.isFalse(pending.assigned)
        assert.include(programmedCondition(pending, 1), { status: "False", reason: "AddressNotAssigned" })

        yield* kube.patchStatus(
          TYPES.service,
          { namespace: NS, name },
          { status: { loadBalancer: { ingress: [{ ip: "192.0.2.10" }, { hostname: "lb.example.com" }] } } }
        )
        const expected = [
          { type: "IPAddress", value: "192.0.2.10" },
          { type: "Hostname", value: "lb.example.com" }
        ] as const
        const fetched = yield* applier.addresses(fleet.infra)
        assert.isTrue(fetched.assigned)
        assert.deepStrictEqual(fetched.addresses, expected)
        const second = yield* applyFleets([fleet])
        const assigned = second.addresses.get(`${NS}/lb`)
        assert.deepStrictEqual(assigned?.addresses, expected)
        assert.include(assigned && programmedCondition(assigned, 1), { status: "True", reason: "Programmed" })
        yield* applyFleets([])
      })
    )
  )

  it.live("re-applies an unchanged fleet without a single write", () =>
    withApplier(
      Effect.gen(function* () {
        const fleet = yield* gatewayFleet("steady")
        yield* applyFleets([fleet])
        const before = yield* versions(NS, fleet.infra.name)
        const again = yield* applyFleets([fleet])
        assert.deepStrictEqual(again.applied, [])
        assert.strictEqual(again.unchanged, 4)
        assert.deepStrictEqual(yield* versions(NS, fleet.infra.name), before)
        yield* applyFleets([])
      })
    )
  )

  it.live("deletes a removed fleet, a disabled HPA and PDB, and the Service of a fleet left without ports", () =>
    withApplier(
      Effect.gen(function* () {
        const scaling = {
          autoscaling: { minReplicas: 1, maxReplicas: 4, cpuUtilization: 70 },
          podDisruptionBudget: { minAvailable: 1 }
        }
        const kept = yield* gatewayFleet("kept", [80], scaling)
        const gone = yield* gatewayFleet("gone")
        const keptName = kept.infra.name
        const first = yield* applyFleets([kept, gone])
        assert.deepStrictEqual(first.failures, [])
        assert.isTrue(yield* exists(TYPES.hpa, NS, keptName))
        assert.isTrue(yield* exists(TYPES.pdb, NS, keptName))

        const { options: _, ...plain } = kept
        const second = yield* applyFleets([plain])
        assert.deepStrictEqual(second.failures, [])
        assert.isFalse(yield* exists(TYPES.hpa, NS, keptName))
        assert.isFalse(yield* exists(TYPES.pdb, NS, keptName))
        for (const type of FLEET_KINDS) {
          assert.isFalse(yield* exists(type, NS, gone.infra.name), `${type.kind} of the removed fleet`)
          assert.isTrue(yield* exists(type, NS, keptName), `${type.kind} of the kept fleet`)
        }

        const portless = { ...plain, infra: fleetOf("kept", []) }
        const third = yield* applyFleets([portless])
        assert.deepStrictEqual(third.pruned, [`Service ${NS}/${keptName}`])
        assert.isTrue(yield* exists(TYPES.deployment, NS, keptName))
        yield* applyFleets([])
        for (const type of FLEET_KINDS) assert.isFalse(yield* exists(type, NS, keptName))
      })
    )
  )

  it.live("puts fleets in envoy-gateway-system without owner references and prunes them by label", () =>
    withApplier(
      Effect.gen(function* () {
        const fleet = yield* gatewayFleet("central")
        const name = fleet.infra.name
        const report = yield* applyFleets([fleet])
        assert.deepStrictEqual(report.failures, [])
        for (const type of FLEET_KINDS) {
          const object = shape(yield* get(type, CONTROLLER_NS, name))
          assert.isUndefined(object.metadata.ownerReferences)
          assert.strictEqual(object.metadata.labels?.["gateway.envoyproxy.io/owning-gateway-namespace"], NS)
          assert.isFalse(yield* exists(type, NS, name))
        }
        assert.strictEqual(report.addresses.get(`${NS}/central`)?.service, `${CONTROLLER_NS}/${name}`)
        const pruned = yield* applyFleets([])
        assert.strictEqual(pruned.pruned.length, 4)
        for (const type of FLEET_KINDS) assert.isFalse(yield* exists(type, CONTROLLER_NS, name))
      }),
      { layout: "ControllerNamespace", controllerNamespace: CONTROLLER_NS }
    )
  )

  it.live("never touches a Deployment without our labels, nor a labelled one another manager wrote", () =>
    withApplier(
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const deployment = (name: string, labels: { readonly [key: string]: string }): KubeObject => ({
          ...TYPES.deployment,
          metadata: { name, namespace: NS, labels },
          spec: {
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: [{ name: "app", image: "registry.example/app:1" }] }
            }
          }
        })
        const unrelated = yield* kube.serverSideApply(deployment("unrelated", { app: "unrelated" }), TEST_MANAGER)
        const lookalike = yield* kube.serverSideApply(
          deployment("lookalike", {
            "app.kubernetes.io/managed-by": "envoy-gateway",
            "app.kubernetes.io/component": "proxy"
          }),
          TEST_MANAGER
        )
        const fleet = yield* gatewayFleet("neighbour")
        yield* applyFleets([fleet])
        const report = yield* applyFleets([])
        assert.notInclude(report.pruned, `Deployment ${NS}/unrelated`)
        assert.notInclude(report.pruned, `Deployment ${NS}/lookalike`)
        assert.strictEqual(
          (yield* get(TYPES.deployment, NS, "unrelated")).metadata.resourceVersion,
          unrelated.metadata.resourceVersion
        )
        assert.strictEqual(
          (yield* get(TYPES.deployment, NS, "lookalike")).metadata.resourceVersion,
          lookalike.metadata.resourceVersion
        )
        assert.isFalse(yield* exists(TYPES.deployment, NS, fleet.infra.name))
      })
    )
  )
})
