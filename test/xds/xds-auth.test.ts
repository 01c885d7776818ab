/**
 * xDS security without a cluster: ControllerCa against an in-memory Secret (KubeClient.layerTest
 * with server-side-apply conflicts like the API server's), XdsAuth against a scripted TokenReview,
 * both behind a real AdsServer over TLS on 127.0.0.1 with raw gRPC clients (delta and SotW), and
 * the bootstrap's TLS and token settings through the real Envoy protos. The same scenarios against
 * a real kube-apiserver: test/kube/xds-auth.test.ts.
 */
import { X509Certificate } from "node:crypto"
import { fromBinary, fromJson, toBinary } from "@bufbuild/protobuf"
import { it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect, Layer, Metric, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect } from "vitest"
import {
  KubeApiError,
  type KubeObject,
  KubeTransportError,
  type TokenReviewResult
} from "../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../src/providers/kubernetes/KubeClient.ts"
import { fleetNameOf } from "../../src/reconcilers/Gateway.ts"
import {
  type AdsAuthenticate,
  AdsServer,
  type AdsTls,
  adsDeniedCounter,
  type TlsKeyPair
} from "../../src/xds/AdsServer.ts"
import { bootstrapJson, makeBootstrap, makeTokenSds, tokenSdsJson, XDS_TOKEN_HEADER } from "../../src/xds/Bootstrap.ts"
import { BUNDLE_KEY, ControllerCa, type ControllerCaOptions, PREVIOUS_CERT_KEY } from "../../src/xds/ControllerCa.ts"
import { BootstrapSchema } from "../../src/xds/proto/envoy/config/bootstrap/v3/bootstrap_pb.ts"
import { CredentialInjectorSchema } from "../../src/xds/proto/envoy/extensions/filters/http/credential_injector/v3/credential_injector_pb.ts"
import { GenericSchema } from "../../src/xds/proto/envoy/extensions/http/injected_credentials/generic/v3/generic_pb.ts"
import { SecretSchema } from "../../src/xds/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"
import { UpstreamTlsContextSchema } from "../../src/xds/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.ts"
import { HttpProtocolOptionsSchema } from "../../src/xds/proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.ts"
import { DiscoveryResponseSchema } from "../../src/xds/proto/envoy/service/discovery/v3/discovery_pb.ts"
import { registry, unpack } from "../../src/xds/Registry.ts"
import type { FleetResources } from "../../src/xds/Resources.ts"
import { SnapshotCache } from "../../src/xds/SnapshotCache.ts"
import { fleetNamespaceByLayout, gatewayOfFleet, serviceAccountOf, tokenOf, XdsAuth } from "../../src/xds/XdsAuth.ts"
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
import { certificateAuthority, signedCertificate } from "../support/certs.ts"

const NS = "portico-test"
const HOST = `envoy-gateway.${NS}.svc`
const A = fleetNameOf("team-a", "gw-a")
const B = fleetNameOf("team-b", "gw-b")
/** A second Gateway in fleet A's namespace: only the ServiceAccount's name tells them apart. */
const C = fleetNameOf("team-a", "gw-c")
const AUDIENCE = "portico-xds"

// ---------------------------------------------------------------------------------------------
// Fleets and a raw gRPC client

/** A fleet whose every resource name starts with `prefix`: listener (TLS over SDS) -> route -> cluster. */
const fleetOf = (fleet: string, prefix: string): FleetResources =>
  fleetResources(fleet, {
    listeners: [httpListener(`${prefix}-listener`, `${prefix}-route`, { secret: `${prefix}-cert` })],
    routes: [routeConfig(`${prefix}-route`, [`${prefix}-cluster`])],
    clusters: [edsCluster(`${prefix}-cluster`)],
    endpoints: [assignment(`${prefix}-cluster`, 9000)],
    secrets: [tlsSecret(`${prefix}-cert`)]
  })
const ALL_NAMES = ["a", "b", "c"].flatMap((p) => [`${p}-listener`, `${p}-route`, `${p}-cluster`, `${p}-cert`])

/** One ADS stream asking for everything of every fleet as `fleet` (test/support/adsSession.ts). */
const session = (
  address: string,
  options: Omit<SessionOptions, "serverName" | "names"> & { readonly serverName?: string }
) => adsSession(address, { ...options, serverName: options.serverName ?? HOST, names: ALL_NAMES })

const trusting = (bundle: string) => grpc.credentials.createSsl(Buffer.from(bundle))

// ---------------------------------------------------------------------------------------------
// Fakes

/** Secrets in memory; apply conflicts like the API server's (stale resourceVersion; another manager's values without force). */
const fakeSecrets = () => {
  const objects = new Map<string, { object: KubeObject; manager: string }>()
  const applies: Array<{ manager: string; ok: boolean }> = []
  let version = 0
  const fail = (verb: string, status: number, reason: string) =>
    Effect.fail(new KubeApiError({ verb, status, reason, detail: "fake", apiVersion: "v1", kind: "Secret" }))
  const layer = KubeClient.layerTest({
    get: (_type, ref) =>
      Effect.andThen(Effect.yieldNow, () => {
        const found = objects.get(`${ref.namespace}/${ref.name}`)
        return found === undefined ? fail("get", 404, "NotFound") : Effect.succeed(found.object)
      }),
    serverSideApply: (object, options = {}) =>
      Effect.andThen(Effect.yieldNow, () => {
        const key = `${object.metadata.namespace}/${object.metadata.name}`
        const existing = objects.get(key)
        const manager = options.fieldManager ?? "portico"
        const rv = object.metadata.resourceVersion
        const conflict =
          existing !== undefined &&
          (rv !== undefined
            ? rv !== existing.object.metadata.resourceVersion
            : options.force === false &&
              existing.manager !== manager &&
              JSON.stringify(existing.object.data) !== JSON.stringify(object.data))
        applies.push({ manager, ok: !conflict })
        if (conflict) return fail("apply", 409, "Conflict")
        version += 1
        const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(version) } }
        objects.set(key, { object: stored, manager })
        return Effect.succeed(stored)
      })
  })
  const data = (key: string): string => {
    const found = objects.get(`${NS}/portico-xds-ca`)?.object.data as Record<string, string> | undefined
    return Buffer.from(found?.[key] ?? "", "base64").toString("utf8")
  }
  return { objects, applies, layer, data }
}

/** Runs `effect` with the TestClock at the real time (certificates with sensible dates). */
const atNow = <R, E, X>(effect: Effect.Effect<R, E, X>) => Effect.andThen(TestClock.setTime(Date.now()), effect)

const caLayer = (secrets: ReturnType<typeof fakeSecrets>, extra: Partial<ControllerCaOptions> = {}) =>
  ControllerCa.layer({ namespace: NS, refreshInterval: "100000 days", ...extra }).pipe(Layer.provide(secrets.layer))

const answer = (user: string, audiences: ReadonlyArray<string> = [AUDIENCE]): TokenReviewResult => ({
  authenticated: true,
  user: { username: user },
  audiences
})
const sa = (namespace: string, name: string) => `system:serviceaccount:${namespace}:${name}`

/** A JWT-shaped token that expires 30 s after the epoch (the TestClock's start). */
const SHORT_LIVED = `e30.${Buffer.from(JSON.stringify({ exp: 30, sub: "x" })).toString("base64url")}.sig`

/** A scripted TokenReview (GatewayNamespace layout: fleet A's account lives in team-a); counts calls per token. */
const fakeTokenReview = () => {
  const calls = new Map<string, number>()
  const answers: Readonly<Record<string, TokenReviewResult | "down">> = {
    "token-a": answer(sa("team-a", A)),
    "token-b": answer(sa("team-b", B)),
    "token-wrong-audience": answer(sa("team-a", A), ["https://kubernetes.default.svc"]),
    "token-user": answer("alice"),
    "token-a-elsewhere": answer(sa("team-b", A)),
    "token-not-a-fleet": answer(sa("team-a", "default")),
    "token-down": "down",
    [SHORT_LIVED]: answer(sa("team-a", A))
  }
  const layer = KubeClient.layerTest({
    createTokenReview: (token, audiences) =>
      Effect.suspend(() => {
        calls.set(token, (calls.get(token) ?? 0) + 1)
        const scripted = audiences?.join() === AUDIENCE ? answers[token] : undefined
        if (scripted === "down") {
          return Effect.fail(new KubeTransportError({ verb: "create", detail: "refused", apiVersion: "", kind: "" }))
        }
        return Effect.succeed(scripted ?? { authenticated: false, error: "invalid bearer token" })
      })
  })
  return { calls, layer }
}

/** Runs `body` against an AdsServer over TLS (a ControllerCa's certificate unless `tls`) serving fleets A and B. */
const withServer = <R, E>(
  body: (address: string, bundle: string) => Effect.Effect<R, E>,
  options: { readonly authenticate?: AdsAuthenticate; readonly logs?: Array<CapturedLog>; readonly tls?: AdsTls } = {}
) =>
  Effect.gen(function* () {
    const ca = yield* ControllerCa
    const tls = options.tls ?? { ...(yield* ca.serving), updates: ca.servingChanges }
    const bundle = yield* ca.bundle
    const serverLayer = AdsServer.layer({
      address: "127.0.0.1:0",
      tls,
      ...(options.authenticate === undefined ? {} : { authenticate: options.authenticate })
    }).pipe(Layer.provideMerge(SnapshotCache.layer), Layer.provideMerge(captureLogs(options.logs ?? [])))
    return yield* Effect.gen(function* () {
      const cache = yield* SnapshotCache
      yield* cache.setResources(fleetOf(A, "a"))
      yield* cache.setResources(fleetOf(B, "b"))
      yield* cache.setResources(fleetOf(C, "c"))
      return yield* body((yield* AdsServer).address, bundle)
    }).pipe(Effect.provide(serverLayer))
  }).pipe(Effect.provide(caLayer(fakeSecrets())))

/** `body` with XdsAuth over the scripted TokenReview, fleets in their Gateways' namespaces. */
const withAuth = <R, E>(
  body: (auth: XdsAuth["Service"], calls: ReadonlyMap<string, number>) => Effect.Effect<R, E>
) => {
  const reviews = fakeTokenReview()
  return Effect.gen(function* () {
    return yield* body(yield* XdsAuth, reviews.calls)
  }).pipe(
    Effect.provide(
      XdsAuth.layer({ fleetNamespaceOf: fleetNamespaceByLayout("GatewayNamespace", NS) }).pipe(
        Layer.provide(reviews.layer)
      )
    )
  )
}

const token = (value: string) => ({ [XDS_TOKEN_HEADER]: value })

// ---------------------------------------------------------------------------------------------

describe("XdsAuth: names and metadata", () => {
  it("maps ServiceAccount user names, and nothing else", () => {
    expect(serviceAccountOf("system:serviceaccount:team-a:envoy-x")).toEqual({
      namespace: "team-a",
      serviceAccount: "envoy-x"
    })
    for (const other of ["alice", "system:serviceaccount:team-a", "system:node:n1", "system:serviceaccount:a:b:c"]) {
      expect(serviceAccountOf(other)).toBeUndefined()
    }
  })

  it("finds the Gateway of a fleet name by its hash, wherever the dashes are", () => {
    expect(gatewayOfFleet(fleetNameOf("team-a", "gw-a"))).toEqual({ namespace: "team-a", name: "gw-a" })
    expect(gatewayOfFleet(fleetNameOf("a-b", "c"))).toEqual({ namespace: "a-b", name: "c" })
    expect(gatewayOfFleet(fleetNameOf("a", "b-c"))).toEqual({ namespace: "a", name: "b-c" })
    const forged = fleetNameOf("a", "b-c").replace(/[0-9a-f]{8}$/, "00000000")
    for (const bad of [forged, "envoy-gateway", "envoy-x-12345678", "default"])
      expect(gatewayOfFleet(bad)).toBeUndefined()
  })

  it("places a fleet's ServiceAccount by layout", () => {
    const byGateway = fleetNamespaceByLayout("GatewayNamespace", "envoy-gateway-system")
    const byController = fleetNamespaceByLayout("ControllerNamespace", "envoy-gateway-system")
    expect(byGateway(A)).toBe("team-a")
    expect(byController(A)).toBe("envoy-gateway-system")
    expect(byGateway("envoy-gateway")).toBeUndefined()
    expect(byController("envoy-gateway")).toBeUndefined()
  })

  it("reads the token from x-portico-xds-token or authorization: Bearer, refusing ambiguity", () => {
    const md = (entries: ReadonlyArray<readonly [string, string]>) => {
      const m = new grpc.Metadata()
      for (const [k, v] of entries) m.add(k, v)
      return m
    }
    expect(tokenOf(md([[XDS_TOKEN_HEADER, "jwt-1"]]))).toBe("jwt-1")
    expect(tokenOf(md([["authorization", "Bearer jwt-2"]]))).toBe("jwt-2")
    expect(tokenOf(md([["authorization", "Basic abc"]]))).toBeUndefined()
    expect(tokenOf(md([]))).toBeUndefined()
    expect(
      tokenOf(
        md([
          [XDS_TOKEN_HEADER, "jwt-1"],
          [XDS_TOKEN_HEADER, "jwt-3"]
        ])
      )
    ).toBeUndefined()
  })
})

describe("XdsAuth cache", () => {
  it.effect("trusts a verified token for cacheTtl, never past its exp, and retries an unreachable API", () =>
    withAuth((auth, calls) =>
      Effect.gen(function* () {
        yield* auth.review("token-a")
        yield* TestClock.adjust("59 seconds")
        yield* auth.review("token-a")
        expect(calls.get("token-a")).toBe(1)
        yield* TestClock.adjust("2 seconds")
        yield* auth.review("token-a")
        expect(calls.get("token-a")).toBe(2)
        // This token's exp (30 s after the epoch) ends its entry before the minute is up.
        yield* TestClock.setTime(0)
        yield* auth.review(SHORT_LIVED)
        yield* TestClock.adjust("29 seconds")
        yield* auth.review(SHORT_LIVED)
        expect(calls.get(SHORT_LIVED)).toBe(1)
        yield* TestClock.adjust("2 seconds")
        yield* auth.review(SHORT_LIVED)
        expect(calls.get(SHORT_LIVED)).toBe(2)
        // Refusals are remembered briefly; an unreachable API server not at all.
        const refused = yield* Effect.flip(auth.review("made-up"))
        expect(refused.code).toBe("UNAUTHENTICATED")
        yield* Effect.flip(auth.review("made-up"))
        expect(calls.get("made-up")).toBe(1)
        yield* TestClock.adjust("6 seconds")
        yield* Effect.flip(auth.review("made-up"))
        expect(calls.get("made-up")).toBe(2)
        expect((yield* Effect.flip(auth.review("token-down"))).code).toBe("UNAVAILABLE")
        yield* Effect.flip(auth.review("token-down"))
        expect(calls.get("token-down")).toBe(2)
      })
    )
  )
})

describe("ADS over TLS with the controller CA", () => {
  it.live("a client trusting the CA gets its fleet; plaintext, another CA or another name get nothing", () =>
    withServer((address, bundle) =>
      Effect.gen(function* () {
        const ok = yield* session(address, { credentials: trusting(bundle), fleet: A, want: 1 })
        expect(ok.status.code).toBe(grpc.status.OK)
        expect(ok.names).toContain("a-cluster")
        const other = yield* Effect.promise(() => certificateAuthority("xds-auth other CA"))
        const refused = [
          yield* session(address, { credentials: grpc.credentials.createInsecure(), fleet: A, want: 1 }),
          yield* session(address, { credentials: trusting(other.certPem), fleet: A, want: 1 }),
          yield* session(address, { credentials: trusting(bundle), fleet: A, want: 1, serverName: "evil.example" })
        ]
        for (const s of refused) {
          expect(s.status.code).toBe(grpc.status.UNAVAILABLE)
          expect(s.responses).toBe(0)
        }
      })
    )
  )

  it.live("serves a rotated certificate to new connections", () =>
    Effect.gen(function* () {
      const [first, second] = yield* Effect.promise(() =>
        Promise.all([
          signedCertificate("xds-auth rotation 1", [HOST], "server"),
          signedCertificate("xds-auth rotation 2", [HOST], "server")
        ])
      )
      const ca2 = yield* Effect.promise(() => certificateAuthority("xds-auth rotation 2"))
      const updates = yield* Queue.unbounded<TlsKeyPair>()
      const tls = { cert: first.certPem, key: first.keyPem, updates: Stream.fromQueue(updates) }
      yield* withServer(
        (address) =>
          Effect.gen(function* () {
            const before = yield* session(address, { credentials: trusting(ca2.certPem), fleet: A, want: 1 })
            expect(before.status.code).toBe(grpc.status.UNAVAILABLE)
            yield* Queue.offer(updates, { cert: second.certPem, key: second.keyPem })
            yield* Effect.sleep("100 millis")
            const after = yield* session(address, { credentials: trusting(ca2.certPem), fleet: A, want: 1 })
            expect(after.status.code).toBe(grpc.status.OK)
          }),
        { tls }
      )
    })
  )
})

describe("ADS with XdsAuth (scripted TokenReview)", () => {
  it.live("serves a token's own fleet, and refuses another fleet with PERMISSION_DENIED and nothing of it", () => {
    const logs: Array<CapturedLog> = []
    return withAuth((auth) =>
      withServer(
        (address, bundle) =>
          Effect.gen(function* () {
            const denied = Metric.withAttributes(adsDeniedCounter, { code: "PERMISSION_DENIED" })
            const before = (yield* Metric.value(denied)).count
            const own = yield* session(address, {
              credentials: trusting(bundle),
              fleet: A,
              metadata: token("token-a"),
              want: 1
            })
            expect(own.status.code).toBe(grpc.status.OK)
            expect(own.names).toContain("a-cluster")
            // B lives in another namespace; C in A's own: only the ServiceAccount's name refuses it.
            const others = [
              [B, "delta"],
              [B, "sotw"],
              [C, "delta"],
              [C, "sotw"]
            ] as const
            for (const [fleet, mode] of others) {
              const other = yield* session(address, {
                credentials: trusting(bundle),
                fleet,
                metadata: token("token-a"),
                mode
              })
              expect(other.status.code, `${fleet} ${mode}`).toBe(grpc.status.PERMISSION_DENIED)
              expect(other.responses, `${fleet} ${mode}`).toBe(0)
              expect(other.names, `${fleet} ${mode}`).toEqual([])
            }
            expect((yield* Metric.value(denied)).count).toBe(before + others.length)
            const refusal = logs.find((l) => l.message === "ADS stream refused")
            expect(refusal?.annotations).toMatchObject({ code: "PERMISSION_DENIED", fleet: B })
            expect(String(refusal?.annotations.reason)).toContain(`system:serviceaccount:team-a:${A}`)
          }),
        { authenticate: auth.authenticate, logs }
      )
    )
  })

  it.live(
    "refuses a missing, unknown or wrong-audience token (UNAUTHENTICATED) and strangers (PERMISSION_DENIED)",
    () =>
      withAuth((auth) =>
        withServer(
          (address, bundle) =>
            Effect.gen(function* () {
              const attempt = (metadata: Readonly<Record<string, string>>, fleet = A) =>
                Effect.map(session(address, { credentials: trusting(bundle), fleet, metadata }), (s) => {
                  expect(s.responses).toBe(0)
                  return s.status.code
                })
              expect(yield* attempt({})).toBe(grpc.status.UNAUTHENTICATED)
              expect(yield* attempt(token("made-up"))).toBe(grpc.status.UNAUTHENTICATED)
              expect(yield* attempt(token("token-wrong-audience"))).toBe(grpc.status.UNAUTHENTICATED)
              expect(yield* attempt({ authorization: "Bearer made-up" })).toBe(grpc.status.UNAUTHENTICATED)
              expect(yield* attempt(token("token-user"))).toBe(grpc.status.PERMISSION_DENIED)
              // Fleet A's name, but a ServiceAccount in a namespace where fleet A does not live.
              expect(yield* attempt(token("token-a-elsewhere"))).toBe(grpc.status.PERMISSION_DENIED)
              expect(yield* attempt(token("token-not-a-fleet"), "default")).toBe(grpc.status.PERMISSION_DENIED)
            }),
          { authenticate: auth.authenticate }
        )
      )
  )

  it.live(
    "accepts authorization: Bearer on SotW, caches verdicts by token, and does not cache an unreachable API",
    () =>
      withAuth((auth, calls) =>
        withServer(
          (address, bundle) =>
            Effect.gen(function* () {
              const bearer = { authorization: "Bearer token-b" }
              for (const mode of ["sotw", "delta"] as const) {
                const s = yield* session(address, {
                  credentials: trusting(bundle),
                  fleet: B,
                  metadata: bearer,
                  mode,
                  want: 1
                })
                expect(s.status.code, mode).toBe(grpc.status.OK)
                expect(
                  s.names.filter((n) => n.startsWith("a-")),
                  mode
                ).toEqual([])
              }
              expect(calls.get("token-b")).toBe(1)
              for (let i = 0; i < 2; i++) {
                const s = yield* session(address, {
                  credentials: trusting(bundle),
                  fleet: A,
                  metadata: token("token-down")
                })
                expect(s.status.code).toBe(grpc.status.UNAVAILABLE)
              }
              expect(calls.get("token-down")).toBe(2)
            }),
          { authenticate: auth.authenticate }
        )
      )
  )
})

describe("ControllerCa (in-memory Secret)", () => {
  it.effect("creates the CA once; a second and two racing instances agree on it", () =>
    atNow(
      Effect.gen(function* () {
        const secrets = fakeSecrets()
        const bundleOf = Effect.gen(function* () {
          return yield* (yield* ControllerCa).bundle
        })
        const [one, two] = yield* Effect.all(
          [Effect.provide(bundleOf, caLayer(secrets)), Effect.provide(bundleOf, caLayer(secrets))],
          { concurrency: 2 }
        )
        expect(one).toBe(two)
        // Both found no Secret and tried to create it; the loser's apply conflicted, and it read the winner's.
        expect(secrets.applies.map((a) => a.ok)).toEqual([true, false])
        expect(new Set(secrets.applies.map((a) => a.manager)).size).toBe(2)
        const third = yield* Effect.provide(bundleOf, caLayer(secrets))
        expect(third).toBe(one)
        expect(secrets.applies.filter((a) => a.ok)).toHaveLength(1)
        expect(secrets.data(BUNDLE_KEY)).toBe(one)
      })
    )
  )

  it.effect("issues a serving certificate that verifies against the CA, with the Service's names", () =>
    atNow(
      Effect.gen(function* () {
        const ca = yield* ControllerCa
        const serving = yield* ca.serving
        const leaf = new X509Certificate(serving.cert)
        const root = new X509Certificate(yield* ca.bundle)
        expect(root.ca).toBe(true)
        expect(leaf.ca).toBe(false)
        expect(leaf.verify(root.publicKey)).toBe(true)
        expect(leaf.checkIssued(root)).toBe(true)
        expect(leaf.subjectAltName).toBe(
          `DNS:${HOST}, DNS:envoy-gateway.${NS}.svc.cluster.local, DNS:xds.example.com, IP Address:127.0.0.1`
        )
        expect(leaf.checkHost(HOST)).toBe(HOST)
        expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"])
        expect(ca.hosts[0]).toBe(HOST)
      }).pipe(Effect.provide(caLayer(fakeSecrets(), { extraHosts: ["xds.example.com", "127.0.0.1"] })))
    )
  )

  it.effect("renews the serving certificate with a third of its life left; rolls the CA over in two phases", () => {
    const secrets = fakeSecrets()
    const day = 86_400_000
    const issuerOf = (pair: TlsKeyPair) => new X509Certificate(pair.cert).issuer
    return atNow(
      Effect.gen(function* () {
        const ca = yield* ControllerCa
        const step = (days: number) => Effect.andThen(TestClock.adjust(days * day), ca.refresh)
        const first = yield* ca.serving
        yield* step(1) // serving: 2 of 3 days left
        expect((yield* ca.serving).cert).toBe(first.cert)
        yield* step(1.5) // half a day left: renewed by the same CA
        const renewed = yield* ca.serving
        expect(renewed.cert).not.toBe(first.cert)
        expect(issuerOf(renewed)).toBe(issuerOf(first))
        yield* step(18.5) // day 21 of the CA's 30: a new CA joins the bundle, the old one still signs
        const bundle = yield* ca.bundle
        expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2)
        expect(secrets.data(PREVIOUS_CERT_KEY)).toContain("BEGIN CERTIFICATE")
        expect(issuerOf(yield* ca.serving)).toBe(issuerOf(first))
        yield* step(6.5) // the old CA cannot cover a whole serving lifetime any more: the new one signs
        const after = yield* ca.serving
        expect(issuerOf(after)).not.toBe(issuerOf(first))
        const [newest] = bundle.split(/(?<=-----END CERTIFICATE-----\n)/)
        expect(new X509Certificate(after.cert).verify(new X509Certificate(newest ?? "").publicKey)).toBe(true)
        expect(yield* ca.bundle).toBe(bundle)
      }).pipe(Effect.provide(caLayer(secrets, { caLifetime: "30 days", servingLifetime: "3 days" })))
    )
  })

  it.effect("replaces a Secret that holds no usable CA", () => {
    const secrets = fakeSecrets()
    secrets.objects.set(`${NS}/portico-xds-ca`, {
      manager: "someone",
      object: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "portico-xds-ca", namespace: NS, resourceVersion: "7" },
        data: { "tls.crt": Buffer.from("garbage").toString("base64") }
      }
    })
    return atNow(
      Effect.gen(function* () {
        const ca = yield* ControllerCa
        expect(new X509Certificate(yield* ca.bundle).ca).toBe(true)
        expect(secrets.data("tls.crt")).toContain("BEGIN CERTIFICATE")
      }).pipe(Effect.provide(caLayer(secrets)))
    )
  })
})

describe("bootstrap with xDS security", () => {
  const fleet = fleetNameOf("default", "eg")
  const secured = {
    fleet,
    host: HOST,
    port: 18000,
    tls: { caFile: "/config/ca.crt" },
    token: { sdsFile: "/config/xds-token-sds.json", sdsWatchedDirectory: "/config" }
  }

  it("round-trips through the Bootstrap proto and names the CA file and the token's SDS file", () => {
    const b = makeBootstrap(secured)
    expect(fromBinary(BootstrapSchema, toBinary(BootstrapSchema, b))).toEqual(b)
    expect(fromJson(BootstrapSchema, bootstrapJson(secured) as never, { registry })).toEqual(b)
    const xds = b.staticResources?.clusters.find((c) => c.name === "xds_cluster")
    const socket = xds?.transportSocket?.configType
    const tls = socket?.case === "typedConfig" ? unpack(socket.value, UpstreamTlsContextSchema) : undefined
    expect(tls?.sni).toBe(HOST)
    expect(tls?.commonTlsContext?.alpnProtocols).toEqual(["h2"])
    const validation = tls?.commonTlsContext?.validationContextType
    expect(validation?.case).toBe("validationContext")
    if (validation?.case !== "validationContext") return
    expect(validation.value.trustedCa?.specifier).toEqual({ case: "filename", value: "/config/ca.crt" })
    expect(validation.value.matchTypedSubjectAltNames[0]?.matcher?.matchPattern).toEqual({ case: "exact", value: HOST })
    const options = xds?.typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    const http = options === undefined ? undefined : unpack(options, HttpProtocolOptionsSchema)
    expect(http?.upstreamProtocolOptions.case).toBe("explicitHttpConfig")
    expect(http?.httpFilters.map((f) => f.name)).toEqual([
      "envoy.filters.http.credential_injector",
      "envoy.filters.http.upstream_codec"
    ])
    const injectorAny = http?.httpFilters[0]?.configType
    const injector =
      injectorAny?.case === "typedConfig" ? unpack(injectorAny.value, CredentialInjectorSchema) : undefined
    expect(injector?.overwrite).toBe(true)
    expect(injector?.allowRequestWithoutCredential).toBe(false)
    const generic = injector?.credential?.typedConfig && unpack(injector.credential.typedConfig, GenericSchema)
    expect(generic?.header).toBe(XDS_TOKEN_HEADER)
    expect(generic?.credential?.name).toBe("xds-token")
    expect(generic?.credential?.sdsConfig?.configSourceSpecifier).toMatchObject({
      case: "pathConfigSource",
      value: { path: "/config/xds-token-sds.json", watchedDirectory: { path: "/config" } }
    })
  })

  it("writes the token's SDS file as a DiscoveryResponse with a generic secret read from the token file", () => {
    const file = "/var/run/secrets/portico.dev/xds/token"
    const json = tokenSdsJson(file)
    const parsed = fromJson(DiscoveryResponseSchema, json as never, { registry })
    expect(parsed).toEqual(makeTokenSds(file))
    const [resource] = parsed.resources
    const secret = resource === undefined ? undefined : unpack(resource, SecretSchema)
    expect(secret?.name).toBe("xds-token")
    expect(secret?.type).toMatchObject({
      case: "genericSecret",
      value: { secret: { specifier: { case: "filename", value: file } } }
    })
  })

  it("keeps the default plaintext, and refuses a token without TLS", () => {
    const plain = makeBootstrap({ fleet, host: "127.0.0.1", port: 18000 })
    expect(plain.staticResources?.clusters[0]?.transportSocket).toBeUndefined()
    expect(JSON.stringify(bootstrapJson({ fleet, host: "127.0.0.1", port: 18000 }))).not.toContain("credential")
    expect(() => makeBootstrap({ ...secured, tls: undefined } as never)).toThrow(RangeError)
  })
})
