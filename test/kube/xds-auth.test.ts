/**
 * xDS security against a real kube-apiserver + etcd (test/support/kube/EnvTest.ts): the controller
 * runs as its own ServiceAccount (the install's ClusterRole, plus a Role for its CA Secret), keeps
 * its CA in a Secret of its namespace (ControllerCa), serves ADS over TLS with it, and verifies the
 * fleets' projected tokens with real TokenReviews (XdsAuth). Two Gateways' fleets (GatewayNamespace
 * layout): their ServiceAccounts and bootstrap ConfigMaps come from the EnvoyFleet chart, their
 * tokens from the TokenRequest API with audience `portico-xds`. An Envoy presenting the token of
 * another Gateway's ServiceAccount receives nothing of this Gateway.
 */
import { X509Certificate } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import type { KubeConfig } from "@kubernetes/client-node"
import { Effect, Layer } from "effect"
import { CONTROLLER_CLUSTER_RULES } from "../../src/charts/ControllerInstall.ts"
import {
  BOOTSTRAP_KEY,
  type FleetLayout,
  synthFleet,
  XDS_CA_KEY,
  XDS_TOKEN_SDS_KEY
} from "../../src/charts/EnvoyFleet.ts"
import { isConflict, type KubeObject } from "../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../src/providers/kubernetes/KubeClient.ts"
import { fleetNameOf } from "../../src/reconcilers/Gateway.ts"
import { AdsServer } from "../../src/xds/AdsServer.ts"
import { XDS_TOKEN_HEADER } from "../../src/xds/Bootstrap.ts"
import { BUNDLE_KEY, ControllerCa, XDS_CA_SECRET } from "../../src/xds/ControllerCa.ts"
import type { FleetResources } from "../../src/xds/Resources.ts"
import { SnapshotCache } from "../../src/xds/SnapshotCache.ts"
import { fleetNamespaceByLayout, XdsAuth } from "../../src/xds/XdsAuth.ts"
import {
  assignment,
  type CapturedLog,
  captureLogs,
  edsCluster,
  fleetResources,
  httpListener,
  routeConfig,
  tlsSecret
} from "../support/adsClient.ts"
import { adsSession, type SessionOptions } from "../support/adsSession.ts"
import { type EnvTest, startEnvTest } from "../support/kube/EnvTest.ts"

/** The first build of kube-apiserver and etcd takes minutes (`make envtest` does it ahead). */
const START_TIMEOUT_MS = 30 * 60_000
const CONTROLLER_NS = "portico-xds-system"
const CONTROLLER_SA = "envoy-gateway"
const HOST = `envoy-gateway.${CONTROLLER_NS}.svc`
const AUDIENCE = "portico-xds"
const RACE_SECRET = "portico-xds-ca-race"
const GATEWAY_A = { namespace: "team-a", name: "gw-a" }
const GATEWAY_B = { namespace: "team-b", name: "gw-b" }
const A = fleetNameOf(GATEWAY_A.namespace, GATEWAY_A.name)
const B = fleetNameOf(GATEWAY_B.namespace, GATEWAY_B.name)
/** A second Gateway in A's namespace: only the ServiceAccount's name tells A and C apart. */
const GATEWAY_C = { namespace: "team-a", name: "gw-c" }
const C = fleetNameOf(GATEWAY_C.namespace, GATEWAY_C.name)

let env: EnvTest
let controller: KubeConfig
const tokens: Record<string, string> = {}
const logs: Array<CapturedLog> = []

const admin = () => KubeClient.layerFromKubeConfig(env.kubeConfig)
const asController = () => KubeClient.layerFromKubeConfig(controller)
const run = <A2, E>(effect: Effect.Effect<A2, E, KubeClient>, kube = asController()) =>
  Effect.runPromise(effect.pipe(Effect.provide(kube), Effect.provide(captureLogs(logs))))

/**
 * The controller's identity: the install's ClusterRole (which reads Secrets everywhere and creates
 * TokenReviews) and, in its namespace, what ControllerCa needs on top: create Secrets (a server-side
 * apply that creates needs it; create cannot be limited by name) and patch its CA Secrets.
 */
const setUpController = async (): Promise<void> => {
  const rbac = (object: Record<string, unknown>) =>
    run(
      KubeClient.use((kube) => kube.serverSideApply(object as KubeObject)),
      admin()
    )
  const subjects = [{ kind: "ServiceAccount", name: CONTROLLER_SA, namespace: CONTROLLER_NS }]
  await rbac({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "portico-xds-test" },
    rules: CONTROLLER_CLUSTER_RULES
  })
  await rbac({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "portico-xds-test" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "portico-xds-test" },
    subjects
  })
  await rbac({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "portico-xds-ca", namespace: CONTROLLER_NS },
    rules: [
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      { apiGroups: [""], resources: ["secrets"], resourceNames: [XDS_CA_SECRET, RACE_SECRET], verbs: ["patch"] }
    ]
  })
  await rbac({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "portico-xds-ca", namespace: CONTROLLER_NS },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "portico-xds-ca" },
    subjects
  })
  const token = await env.serviceAccountToken(CONTROLLER_NS, CONTROLLER_SA)
  controller = await env.makeUserKubeConfig({ token, name: CONTROLLER_SA })
  // The RBAC authorizer learns bindings from an informer: wait until a TokenReview is allowed.
  const deadline = Date.now() + 15_000
  for (;;) {
    const allowed = await run(
      KubeClient.use((kube) => kube.createTokenReview(token, [AUDIENCE])).pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      )
    )
    if (allowed || Date.now() > deadline) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

beforeAll(async () => {
  env = await startEnvTest({ installCrds: false, namespaces: [CONTROLLER_NS, "team-a", "team-b"] })
  await setUpController()
}, START_TIMEOUT_MS)
afterAll(async () => {
  await env?.stop()
})

// ---------------------------------------------------------------------------------------------
// Fleets and a raw gRPC client (as in test/xds/xds-auth.test.ts)

const fleetOf = (fleet: string, prefix: string): FleetResources =>
  fleetResources(fleet, {
    listeners: [httpListener(`${prefix}-listener`, `${prefix}-route`, { secret: `${prefix}-cert` })],
    routes: [routeConfig(`${prefix}-route`, [`${prefix}-cluster`])],
    clusters: [edsCluster(`${prefix}-cluster`)],
    endpoints: [assignment(`${prefix}-cluster`, 9000)],
    secrets: [tlsSecret(`${prefix}-cert`)]
  })
const ALL_NAMES = ["a", "b", "c"].flatMap((p) => [`${p}-listener`, `${p}-route`, `${p}-cluster`, `${p}-cert`])
/** One ADS stream asking for everything of every fleet as `fleet`, presenting `token` if given. */
const session = (
  address: string,
  options: Omit<SessionOptions, "serverName" | "names" | "metadata"> & { readonly token?: string | undefined }
) => {
  const { token, ...rest } = options
  return adsSession(address, {
    ...rest,
    serverName: HOST,
    names: ALL_NAMES,
    timeoutMs: 5000,
    ...(token === undefined ? {} : { metadata: { [XDS_TOKEN_HEADER]: token } })
  })
}

const trusting = (bundle: string) => grpc.credentials.createSsl(Buffer.from(bundle))

const secretType = { apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true } as const

// ---------------------------------------------------------------------------------------------

describe("ControllerCa against the API server", () => {
  it.live("two replicas racing on an empty namespace create one CA Secret and agree on it", () =>
    Effect.promise(async () => {
      const secretName = RACE_SECRET
      const bundleOf = () =>
        run(
          Effect.gen(function* () {
            return yield* (yield* ControllerCa).bundle
          }).pipe(Effect.provide(ControllerCa.layer({ namespace: CONTROLLER_NS, secretName })))
        )
      const [one, two] = await Promise.all([bundleOf(), bundleOf()])
      expect(one).toBe(two)
      const stored = await run(KubeClient.use((k) => k.get(secretType, { namespace: CONTROLLER_NS, name: secretName })))
      const data = stored.data as Record<string, string>
      expect(Buffer.from(data[BUNDLE_KEY] ?? "", "base64").toString()).toBe(one)
      expect(stored.type).toBe("kubernetes.io/tls")
      // A third replica reads it and writes nothing.
      expect(await bundleOf()).toBe(one)
      const again = await run(KubeClient.use((k) => k.get(secretType, { namespace: CONTROLLER_NS, name: secretName })))
      expect(again.metadata.resourceVersion).toBe(stored.metadata.resourceVersion)
    })
  )

  it.live(
    "server-side apply conflicts as ControllerCa relies on: stale resourceVersion, another creator's values",
    () =>
      Effect.promise(async () => {
        const name = "portico-xds-precondition"
        const apply = (value: string, options: { resourceVersion?: string; manager?: string } = {}) =>
          KubeClient.use((k) =>
            k.serverSideApply(
              {
                apiVersion: "v1",
                kind: "Secret",
                metadata: {
                  name,
                  namespace: CONTROLLER_NS,
                  ...(options.resourceVersion === undefined ? {} : { resourceVersion: options.resourceVersion })
                },
                data: { value: Buffer.from(value).toString("base64") }
              },
              options.manager === undefined ? {} : { fieldManager: options.manager, force: false }
            )
          )
        const first = await run(apply("1", { manager: "creator-1" }), admin())
        expect(isConflict(await run(Effect.flip(apply("2", { manager: "creator-2" })), admin()))).toBe(true)
        await run(apply("3", { resourceVersion: first.metadata.resourceVersion ?? "" }), admin())
        const stale = await run(
          Effect.flip(apply("4", { resourceVersion: first.metadata.resourceVersion ?? "" })),
          admin()
        )
        expect(isConflict(stale)).toBe(true)
      })
  )

  it.live("the serving certificate verifies against the stored CA and names the controller Service", () =>
    Effect.promise(() =>
      run(
        Effect.gen(function* () {
          const ca = yield* ControllerCa
          const leaf = new X509Certificate((yield* ca.serving).cert)
          expect(leaf.verify(new X509Certificate(yield* ca.bundle).publicKey)).toBe(true)
          expect(leaf.subjectAltName).toBe(`DNS:${HOST}, DNS:${HOST}.cluster.local`)
        }).pipe(Effect.provide(ControllerCa.layer({ namespace: CONTROLLER_NS })))
      )
    )
  )
})

describe("ADS with TokenReview and the controller CA", () => {
  beforeAll(async () => {
    const bundle = await run(
      Effect.gen(function* () {
        return yield* (yield* ControllerCa).bundle
      }).pipe(Effect.provide(ControllerCa.layer({ namespace: CONTROLLER_NS })))
    )
    // The fleets' ServiceAccounts and bootstrap ConfigMaps, as the infra applier would write them.
    for (const gateway of [GATEWAY_A, GATEWAY_B, GATEWAY_C]) {
      const fleet = {
        name: fleetNameOf(gateway.namespace, gateway.name),
        gateway: { ...gateway, gatewayClassName: "eg" },
        ports: [],
        addresses: [],
        labels: {},
        annotations: {}
      }
      const manifests = synthFleet(fleet, { gatewayUid: "uid", xdsCaPem: bundle, controllerNamespace: CONTROLLER_NS })
      for (const m of manifests.filter((m) => m.kind === "ServiceAccount" || m.kind === "ConfigMap")) {
        const { ownerReferences: _, ...metadata } = m.metadata
        await run(
          KubeClient.use((k) => k.serverSideApply({ ...m, metadata } as KubeObject)),
          admin()
        )
      }
      const configMap = manifests.find((m) => m.kind === "ConfigMap") as unknown as { data: Record<string, string> }
      expect(configMap.data[XDS_CA_KEY]).toBe(bundle)
      expect(configMap.data[BOOTSTRAP_KEY]).toContain(HOST)
      expect(configMap.data[XDS_TOKEN_SDS_KEY]).toContain("/var/run/secrets/portico.dev/xds/token")
    }
    tokens.a = await env.serviceAccountToken(GATEWAY_A.namespace, A, { audiences: [AUDIENCE] })
    tokens.b = await env.serviceAccountToken(GATEWAY_B.namespace, B, { audiences: [AUDIENCE] })
    tokens.wrongAudience = await env.serviceAccountToken(GATEWAY_A.namespace, A)
    // Someone in team-b names a ServiceAccount after fleet A.
    tokens.squatter = await env.serviceAccountToken(GATEWAY_B.namespace, A, { audiences: [AUDIENCE] })
    // Envoy Gateway's layout: every fleet's ServiceAccount in the controller's namespace.
    tokens.controllerA = await env.serviceAccountToken(CONTROLLER_NS, A, { audiences: [AUDIENCE] })
  }, 120_000)

  /** The controller's ADS server (TLS from its CA, XdsAuth over TokenReview) serving fleets A and B. */
  const withServer = <R, E>(
    body: (address: string, bundle: string) => Effect.Effect<R, E>,
    layout: FleetLayout = "GatewayNamespace"
  ) =>
    Effect.promise(() =>
      run(
        Effect.gen(function* () {
          const ca = yield* ControllerCa
          const auth = yield* XdsAuth
          const bundle = yield* ca.bundle
          const serverLayer = AdsServer.layer({
            address: "127.0.0.1:0",
            tls: { ...(yield* ca.serving), updates: ca.servingChanges },
            authenticate: auth.authenticate
          }).pipe(Layer.provideMerge(SnapshotCache.layer))
          return yield* Effect.gen(function* () {
            const cache = yield* SnapshotCache
            yield* cache.setResources(fleetOf(A, "a"))
            yield* cache.setResources(fleetOf(B, "b"))
            yield* cache.setResources(fleetOf(C, "c"))
            return yield* body((yield* AdsServer).address, bundle)
          }).pipe(Effect.provide(serverLayer))
        }).pipe(
          Effect.provide(ControllerCa.layer({ namespace: CONTROLLER_NS })),
          Effect.provide(XdsAuth.layer({ fleetNamespaceOf: fleetNamespaceByLayout(layout, CONTROLLER_NS) }))
        )
      )
    )

  it.live("fleet A's token reads fleet A over TLS", () =>
    withServer((address, bundle) =>
      Effect.gen(function* () {
        for (const mode of ["delta", "sotw"] as const) {
          const s = yield* session(address, { credentials: trusting(bundle), fleet: A, token: tokens.a, mode, want: 1 })
          expect(s.status.code, mode).toBe(grpc.status.OK)
          expect(s.names, mode).toContain("a-cluster")
          expect(
            s.names.filter((n) => !n.startsWith("a-")),
            mode
          ).toEqual([])
        }
      })
    )
  )

  it.live("fleet A's token naming fleet B (or C, same namespace) gets PERMISSION_DENIED and nothing of it", () =>
    withServer((address, bundle) =>
      Effect.gen(function* () {
        for (const fleet of [B, C]) {
          for (const mode of ["delta", "sotw"] as const) {
            const s = yield* session(address, { credentials: trusting(bundle), fleet, token: tokens.a, mode })
            expect(s.status.code, `${fleet} ${mode}`).toBe(grpc.status.PERMISSION_DENIED)
            expect(s.responses, `${fleet} ${mode}`).toBe(0)
            expect(s.names, `${fleet} ${mode}`).toEqual([])
          }
        }
        const squatter = yield* session(address, { credentials: trusting(bundle), fleet: A, token: tokens.squatter })
        expect(squatter.status.code).toBe(grpc.status.PERMISSION_DENIED)
        expect(squatter.responses).toBe(0)
      })
    )
  )

  it.live("a token of another audience, a made-up or tampered token, and no TLS get nothing", () =>
    withServer((address, bundle) =>
      Effect.gen(function* () {
        const tampered = `${tokens.a?.slice(0, -6)}AAAAAA`
        for (const token of [tokens.wrongAudience, "made-up", tampered, undefined]) {
          const s = yield* session(address, { credentials: trusting(bundle), fleet: A, token })
          expect(s.status.code).toBe(grpc.status.UNAUTHENTICATED)
          expect(s.responses).toBe(0)
        }
        const plain = yield* session(address, {
          credentials: grpc.credentials.createInsecure(),
          fleet: A,
          token: tokens.a,
          want: 1
        })
        expect(plain.status.code).toBe(grpc.status.UNAVAILABLE)
        expect(plain.responses).toBe(0)
      })
    )
  )

  it.live("Envoy Gateway's layout: only ServiceAccounts of the controller's namespace read fleets", () =>
    withServer(
      (address, bundle) =>
        Effect.gen(function* () {
          const own = yield* session(address, {
            credentials: trusting(bundle),
            fleet: A,
            token: tokens.controllerA,
            want: 1
          })
          expect(own.status.code).toBe(grpc.status.OK)
          expect(own.names).toContain("a-cluster")
          const other = yield* session(address, { credentials: trusting(bundle), fleet: B, token: tokens.controllerA })
          expect(other.status.code).toBe(grpc.status.PERMISSION_DENIED)
          expect(other.responses).toBe(0)
          // The same name in the Gateway's namespace is not the fleet's ServiceAccount in this layout.
          const elsewhere = yield* session(address, { credentials: trusting(bundle), fleet: A, token: tokens.a })
          expect(elsewhere.status.code).toBe(grpc.status.PERMISSION_DENIED)
          expect(elsewhere.responses).toBe(0)
        }),
      "ControllerNamespace"
    )
  )

  it.live("no Secret was written outside the controller's namespace", () =>
    Effect.promise(async () => {
      const secrets = await run(
        KubeClient.use((k) => k.list(secretType)),
        admin()
      )
      const namespaces = new Set(secrets.items.map((s) => s.metadata.namespace))
      expect([...namespaces]).toEqual([CONTROLLER_NS])
      expect(secrets.items.map((s) => s.metadata.name)).toContain(XDS_CA_SECRET)
    })
  )
})
