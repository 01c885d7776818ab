/**
 * `portico serve --provider kubernetes` against a real kube-apiserver (envtest), wired exactly as
 * the command wires it (App.ts kubernetesLayer + Controller.ts runController), with the
 * quickstart's objects:
 * - GatewayClass, Gateway and HTTPRoute get their statuses (observedGeneration set);
 * - the fleet's ServiceAccount/ConfigMap/Deployment/Service appear, owned by the Gateway;
 * - the Gateway is Programmed False/AddressNotAssigned until the Service has a load balancer
 *   address, then Programmed True with that address (what MetalLB does, done by hand);
 * - a route change reaches a connected ADS client (TLS from the controller's CA, the fleet
 *   ServiceAccount's token: secure xDS as wired for the cluster);
 * - a hand edit of a fleet object is undone by the leader's periodic resync;
 * - deleting the Gateway prunes the fleet's objects (envtest has no garbage collector: the
 *   controller deletes them itself).
 * The controller runs as the install manifest's ServiceAccount, bound to the generated ClusterRole
 * and Role (RBAC enforced): this proves the role is sufficient. The test itself writes as admin.
 * There is no kube-controller-manager: namespaces are created and EndpointSlices written by hand.
 */

import { it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect, Fiber } from "effect"
import { afterAll, beforeAll, describe, expect } from "vitest"
import { kubernetesLayer } from "../../src/App.ts"
import { runController } from "../../src/Controller.ts"
import { CONTROLLER_NAMESPACE, CONTROLLER_SERVICE, synthInstall } from "../../src/charts/ControllerInstall.ts"
import { XDS_CA_KEY } from "../../src/charts/EnvoyFleet.ts"
import type { KubeObject } from "../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../src/providers/kubernetes/KubeClient.ts"
import { fleetNameOf } from "../../src/reconcilers/Gateway.ts"
import { AdsServer } from "../../src/xds/AdsServer.ts"
import { XDS_TOKEN_AUDIENCE, XDS_TOKEN_HEADER } from "../../src/xds/Bootstrap.ts"
import { RouteConfigurationSchema } from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import { unpack } from "../../src/xds/Registry.ts"
import { type CapturedLog, captureLogs, deltaAck, deltaClient, TypeUrl } from "../support/adsClient.ts"
import { type EnvTest, startEnvTest } from "../support/kube/EnvTest.ts"

const NS = "quickstart"
const CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
let env: EnvTest
/** A kubeconfig of the controller's ServiceAccount (token), its RBAC applied from synthInstall. */
let controllerKubeconfig = ""

beforeAll(async () => {
  env = await startEnvTest()
  await env.ensureNamespace(NS)
  await env.ensureNamespace(CONTROLLER_NAMESPACE)
  const rbac = synthInstall().filter((o) =>
    ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(o.kind)
  )
  await Effect.runPromise(
    Effect.gen(function* () {
      const kube = yield* KubeClient
      for (const o of rbac) yield* kube.serverSideApply(o as unknown as KubeObject, { fieldManager: "test" })
    }).pipe(Effect.provide(KubeClient.layerFromKubeConfig(env.kubeConfig)))
  )
  const token = await env.serviceAccountToken(CONTROLLER_NAMESPACE, CONTROLLER_SERVICE)
  controllerKubeconfig = await env.writeKubeConfig(await env.makeUserKubeConfig({ token }), "controller.kubeconfig")
}, 300_000)
afterAll(async () => {
  await env?.stop()
})

const obj = (o: Record<string, unknown>) => o as unknown as KubeObject

const quickstart = (hostname: string) => [
  obj({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "eg" },
    spec: { controllerName: CONTROLLER }
  }),
  obj({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "eg", namespace: NS },
    spec: { gatewayClassName: "eg", listeners: [{ name: "http", protocol: "HTTP", port: 80 }] }
  }),
  obj({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "backend", namespace: NS },
    spec: { ports: [{ name: "http", port: 3000, targetPort: 3000 }] }
  }),
  obj({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "backend-1", namespace: NS, labels: { "kubernetes.io/service-name": "backend" } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 3000, protocol: "TCP" }],
    endpoints: [{ addresses: ["10.244.0.7"], conditions: { ready: true } }]
  }),
  obj({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "backend", namespace: NS },
    spec: {
      parentRefs: [{ name: "eg" }],
      hostnames: [hostname],
      rules: [
        { matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "backend", port: 3000 }] }
      ]
    }
  })
]

interface Condition {
  readonly type: string
  readonly status: string
  readonly reason: string
  readonly observedGeneration?: number
}
const conditionsOf = (o: KubeObject): ReadonlyArray<Condition> =>
  ((o as { status?: { conditions?: ReadonlyArray<Condition> } }).status?.conditions ?? []) as ReadonlyArray<Condition>
const condition = (o: KubeObject, type: string) => conditionsOf(o).find((c) => c.type === type)

/** Polls `check` (every 100 ms, up to `ms`) until it returns a value. */
const eventually = <A>(label: string, check: Effect.Effect<A | undefined, unknown, KubeClient>, ms = 20_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    for (;;) {
      const value = yield* check.pipe(Effect.orElseSucceed(() => undefined))
      if (value !== undefined) return value
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`timed out waiting for ${label}`))
      yield* Effect.sleep("100 millis")
    }
  })

const gatewayApi = (kind: string) => ({ apiVersion: "gateway.networking.k8s.io/v1", kind })
const FLEET = fleetNameOf(NS, "eg")
const logs: Array<CapturedLog> = []

describe("portico serve --provider kubernetes (envtest)", () => {
  it.live(
    "quickstart: statuses, fleet objects, MetalLB address -> Programmed, route change over ADS, Gateway deletion prunes",
    () =>
      Effect.gen(function* () {
        const layer = kubernetesLayer({
          controllerName: CONTROLLER,
          xdsAddress: "127.0.0.1:0",
          adminAddress: "127.0.0.1:0",
          kubeconfig: controllerKubeconfig,
          leaderElection: true
        })
        const admin = yield* Effect.provide(Effect.service(KubeClient), KubeClient.layerFromKubeConfig(env.kubeConfig))
        yield* Effect.gen(function* () {
          const kube = admin
          for (const o of quickstart("www.example.com")) yield* kube.serverSideApply(o, { fieldManager: "test" })
          const controller = yield* Effect.forkScoped(runController({ resyncInterval: "1 second" }))

          // Statuses.
          const gatewayClass = yield* eventually(
            "GatewayClass Accepted",
            Effect.map(kube.get(gatewayApi("GatewayClass"), { name: "eg" }), (o) =>
              condition(o, "Accepted")?.status === "True" ? o : undefined
            )
          )
          expect(condition(gatewayClass, "SupportedVersion")).toBeDefined()
          const route = yield* eventually(
            "HTTPRoute Accepted",
            Effect.map(kube.get(gatewayApi("HTTPRoute"), { namespace: NS, name: "backend" }), (o) => {
              const parents = (o as { status?: { parents?: ReadonlyArray<{ conditions: ReadonlyArray<Condition> }> } })
                .status?.parents
              return parents?.[0]?.conditions.some((c) => c.type === "Accepted" && c.status === "True") === true
                ? parents
                : undefined
            })
          )
          expect(route[0]?.conditions.find((c) => c.type === "ResolvedRefs")?.status).toBe("True")
          const pending = yield* eventually(
            "Gateway AddressNotAssigned",
            Effect.map(kube.get(gatewayApi("Gateway"), { namespace: NS, name: "eg" }), (o) =>
              condition(o, "Programmed")?.reason === "AddressNotAssigned" ? o : undefined
            )
          )
          expect(condition(pending, "Accepted")?.status).toBe("True")
          expect(condition(pending, "Programmed")?.observedGeneration).toBe(
            (pending.metadata as { generation?: number }).generation
          )

          // The fleet's objects, owned by the Gateway.
          const uid = (pending.metadata as { uid: string }).uid
          for (const [apiVersion, kind] of [
            ["v1", "ServiceAccount"],
            ["v1", "ConfigMap"],
            ["apps/v1", "Deployment"],
            ["v1", "Service"]
          ] as const) {
            const o = yield* kube.get({ apiVersion, kind }, { namespace: NS, name: FLEET })
            const owners = (o.metadata as { ownerReferences?: ReadonlyArray<{ uid: string; kind: string }> })
              .ownerReferences
            expect(owners?.map((r) => [r.kind, r.uid])).toEqual([["Gateway", uid]])
            expect(
              (o.metadata.labels as Record<string, string> | undefined)?.["gateway.envoyproxy.io/owning-gateway-name"]
            ).toBe("eg")
          }
          const service = yield* kube.get({ apiVersion: "v1", kind: "Service" }, { namespace: NS, name: FLEET })
          expect(
            (service as unknown as { spec: { ports: ReadonlyArray<{ port: number; targetPort: number }> } }).spec.ports
          ).toEqual([expect.objectContaining({ port: 80, targetPort: 10080 })])

          // Drift: someone scales the fleet by hand; the leader's periodic resync puts it back.
          const deployment = { apiVersion: "apps/v1", kind: "Deployment" } as const
          yield* kube.serverSideApply(
            obj({
              apiVersion: "apps/v1",
              kind: "Deployment",
              metadata: { name: FLEET, namespace: NS },
              spec: { replicas: 5 }
            }),
            { fieldManager: "someone", force: true }
          )
          yield* eventually(
            "replicas restored by the resync",
            Effect.map(kube.get(deployment, { namespace: NS, name: FLEET }), (o) =>
              (o as unknown as { spec: { replicas?: number } }).spec.replicas === 1 ? true : undefined
            )
          )

          // What MetalLB does: the Service gets an address; the Gateway becomes Programmed with it.
          yield* kube.patchStatus(
            { apiVersion: "v1", kind: "Service" },
            { namespace: NS, name: FLEET },
            {
              status: { loadBalancer: { ingress: [{ ip: "172.18.255.200" }] } }
            }
          )
          const programmed = yield* eventually(
            "Gateway Programmed",
            Effect.map(kube.get(gatewayApi("Gateway"), { namespace: NS, name: "eg" }), (o) =>
              condition(o, "Programmed")?.status === "True" ? o : undefined
            )
          )
          expect((programmed as { status?: { addresses?: unknown } }).status?.addresses).toEqual([
            { type: "IPAddress", value: "172.18.255.200" }
          ])

          // A connected ADS client sees a route change.
          // ...over TLS from the controller's CA (the bundle the fleet's bootstrap ConfigMap carries),
          // presenting the fleet ServiceAccount's projected-style token, as the fleet's Envoy does.
          const ads = yield* AdsServer
          const bootstrap = yield* kube.get({ apiVersion: "v1", kind: "ConfigMap" }, { namespace: NS, name: FLEET })
          const caBundle = (bootstrap as { data?: Record<string, string> }).data?.[XDS_CA_KEY]
          expect(caBundle).toContain("BEGIN CERTIFICATE")
          const token = yield* Effect.promise(() =>
            env.serviceAccountToken(NS, FLEET, { audiences: [XDS_TOKEN_AUDIENCE] })
          )
          const metadata = new grpc.Metadata()
          metadata.set(XDS_TOKEN_HEADER, token)
          const client = yield* deltaClient(
            ads.address,
            { id: "envoy-1", cluster: FLEET },
            {
              credentials: grpc.credentials.createSsl(Buffer.from(caBundle ?? "")),
              metadata,
              options: { "grpc.ssl_target_name_override": `${CONTROLLER_SERVICE}.${CONTROLLER_NAMESPACE}.svc` }
            }
          )
          const ROUTE = `${NS}/eg/http`
          yield* client.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNamesSubscribe: [ROUTE] })
          const domainsIn = (r: {
            typeUrl: string
            resources: ReadonlyArray<{ name: string; resource?: unknown }>
          }) => {
            const any = r.resources.find((x) => x.name === ROUTE)?.resource
            if (r.typeUrl !== TypeUrl.RouteConfiguration || any === undefined) return []
            return unpack(any as never, RouteConfigurationSchema)?.virtualHosts.flatMap((vh) => vh.domains) ?? []
          }
          const first = yield* client.next(10_000)
          yield* client.send(deltaAck(first))
          expect(domainsIn(first)).toContain("www.example.com")
          const changed = quickstart("app.example.com")[4]
          if (changed !== undefined) yield* kube.serverSideApply(changed, { fieldManager: "test" })
          let seen: ReadonlyArray<string> = []
          for (let i = 0; i < 20 && !seen.includes("app.example.com"); i += 1) {
            const next = yield* client.next(10_000)
            yield* client.send(deltaAck(next))
            seen = domainsIn(next)
          }
          expect(seen).toContain("app.example.com")

          // Deleting the Gateway prunes the fleet.
          yield* kube.delete(gatewayApi("Gateway"), { namespace: NS, name: "eg" })
          yield* eventually(
            "fleet Deployment pruned",
            kube.get({ apiVersion: "apps/v1", kind: "Deployment" }, { namespace: NS, name: FLEET }).pipe(
              Effect.as(undefined),
              Effect.catch(() => Effect.succeed(true as const))
            )
          )
          yield* Fiber.interrupt(controller)
          // Everything above ran within the generated roles: no request was refused (403).
          expect(logs.filter((l) => /\b403\b|forbidden/i.test(l.message)).map((l) => l.message)).toEqual([])
          // ...and the roles are enforced for that identity: what they do not grant is refused.
          const asController = yield* Effect.provide(
            Effect.service(KubeClient),
            KubeClient.layerFromFile(controllerKubeconfig)
          )
          const refused = yield* Effect.flip(asController.list({ apiVersion: "v1", kind: "Node" }))
          expect(refused._tag === "KubeApiError" ? refused.status : undefined).toBe(403)
        }).pipe(Effect.scoped, Effect.provide(layer))
      }).pipe(Effect.provide(captureLogs(logs))),
    120_000
  )
})
