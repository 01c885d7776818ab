/**
 * The ADS server over real gRPC, state of the world (StreamAggregatedResources): wildcard and named
 * subscriptions, ACK, NACK, stale nonces, removal, reconnect, unknown fleets, fleet isolation.
 */
import { it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Schedule, Scope } from "effect"
import { describe, expect } from "vitest"
import { AdsServer } from "../../src/xds/AdsServer.ts"
import type { DiscoveryResponse } from "../../src/xds/proto/envoy/service/discovery/v3/discovery_pb.ts"
import { SnapshotCache } from "../../src/xds/SnapshotCache.ts"
import {
  assignment,
  type CapturedLog,
  captureLogs,
  edsCluster,
  fleetResources,
  garbageStream,
  httpFleet,
  httpListener,
  routeConfig,
  type SotwClient,
  sotwAck,
  sotwClient,
  sotwNack,
  sotwNames,
  TypeUrl,
  withAds
} from "../support/adsClient.ts"

const node = (fleet: string, id = "envoy-0") => ({ id, cluster: fleet })

const expectType = (response: DiscoveryResponse, typeUrl: string, names: ReadonlyArray<string>) => {
  expect(response.typeUrl).toBe(typeUrl)
  expect(sotwNames(response)).toEqual(names)
  expect(response.nonce).not.toBe("")
}

/** Subscribes the way Envoy does (CDS, EDS of its clusters, LDS, RDS of its routes), ACKing everything. */
const settle = (c: SotwClient, eds: ReadonlyArray<string>, rds: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    yield* c.send({ typeUrl: TypeUrl.Cluster })
    const cds = yield* c.next()
    expect(cds.typeUrl).toBe(TypeUrl.Cluster)
    yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [...eds] })
    yield* c.send(sotwAck(cds))
    const endpoints = yield* c.next()
    expect(endpoints.typeUrl).toBe(TypeUrl.ClusterLoadAssignment)
    yield* c.send(sotwAck(endpoints, eds))
    yield* c.send({ typeUrl: TypeUrl.Listener })
    const lds = yield* c.next()
    expect(lds.typeUrl).toBe(TypeUrl.Listener)
    yield* c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: [...rds] })
    yield* c.send(sotwAck(lds))
    const routes = yield* c.next()
    expect(routes.typeUrl).toBe(TypeUrl.RouteConfiguration)
    yield* c.send(sotwAck(routes, rds))
    return { cds, eds: endpoints, lds, rds: routes }
  })

const twoListenerFleet = (fleet: string) =>
  fleetResources(fleet, {
    listeners: [httpListener("l1", "r1", { port: 1 }), httpListener("l2", "r2", { port: 2 })],
    routes: [routeConfig("r1", ["a"]), routeConfig("r2", ["b"])],
    clusters: [edsCluster("a"), edsCluster("b")],
    endpoints: [assignment("a", 9000), assignment("b", 9001)]
  })

describe("ADS state of the world", () => {
  it.live("answers wildcard CDS at once and wildcard LDS once CDS is ACKed", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        const snapshot = yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        const c = yield* sotwClient((yield* AdsServer).address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.Cluster })
        yield* c.send({ typeUrl: TypeUrl.Listener })
        const cds = yield* c.next()
        expectType(cds, TypeUrl.Cluster, ["c1", "c2"])
        expect(cds.versionInfo).toBe(snapshot.resources[TypeUrl.Cluster].version)
        yield* c.silence(100)
        yield* c.send(sotwAck(cds))
        const lds = yield* c.next()
        expectType(lds, TypeUrl.Listener, ["l"])
        expect(lds.nonce).not.toBe(cds.nonce)
        yield* c.send(sotwAck(lds))
        yield* c.silence(100)
      })
    )
  )

  it.live("answers RDS and EDS with the named resources only", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(twoListenerFleet("f"))
        const c = yield* sotwClient((yield* AdsServer).address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: ["r1"] })
        const r1 = yield* c.next()
        expectType(r1, TypeUrl.RouteConfiguration, ["r1"])
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["b"] })
        const b = yield* c.next()
        expectType(b, TypeUrl.ClusterLoadAssignment, ["b"])
        // (Route configurations wait while an endpoint update is unanswered: make-before-break.)
        yield* c.send(sotwAck(b, ["b"]))
        yield* c.send(sotwAck(r1, ["r1", "r2"]))
        expectType(yield* c.next(), TypeUrl.RouteConfiguration, ["r1", "r2"])
        // Names that do not exist get no answer.
        yield* c.send({ typeUrl: TypeUrl.Secret, resourceNames: ["nope"] })
        yield* c.silence(100)
      })
    )
  )

  it.live("resends an unchanged resource the client unsubscribed from and subscribes to again", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(twoListenerFleet("f"))
        const c = yield* sotwClient((yield* AdsServer).address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["a", "b"] })
        const both = yield* c.next()
        expectType(both, TypeUrl.ClusterLoadAssignment, ["a", "b"])
        // The ACK drops "b" (a client forgets what it unsubscribes from): nothing to send.
        yield* c.send(sotwAck(both, ["a"]))
        yield* c.silence(100)
        // Subscribing to "b" again, unchanged since: it must come again, or the client waits forever.
        yield* c.send(sotwAck(both, ["a", "b"]))
        expectType(yield* c.next(), TypeUrl.ClusterLoadAssignment, ["a", "b"])
      })
    )
  )

  it.live("CDS: a newly named cluster that does not exist is answered by a response without it", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(twoListenerFleet("f"))
        const c = yield* sotwClient((yield* AdsServer).address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.Cluster, resourceNames: ["a"] })
        const a = yield* c.next()
        expectType(a, TypeUrl.Cluster, ["a"])
        yield* c.send(sotwAck(a, ["a"]))
        yield* c.silence(100)
        // For CDS (and LDS) a response that omits a subscribed name says it does not exist.
        yield* c.send(sotwAck(a, ["a", "missing"]))
        const answer = yield* c.next()
        expectType(answer, TypeUrl.Cluster, ["a"])
        expect(answer.nonce).not.toBe(a.nonce)
        // Asking again for the same names is an ACK, not a new question.
        yield* c.send(sotwAck(answer, ["a", "missing"]))
        yield* c.silence(100)
      })
    )
  )

  it.live("never resends what the client ACKed, not even for an identical new snapshot", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c"]))
        const c = yield* sotwClient((yield* AdsServer).address, node("f"))
        const { cds } = yield* settle(c, ["c"], ["r"])
        yield* c.send(sotwAck(cds)) // the same ACK again
        yield* cache.setResources(httpFleet("f", ["c"])) // equal content, new objects
        yield* c.silence(150)
        const statuses = yield* cache.nodeStatuses
        expect(statuses[0]?.types.map((t) => [t.typeUrl, t.ackedVersion !== undefined, t.rejecting])).toEqual([
          [TypeUrl.Cluster, true, false],
          [TypeUrl.ClusterLoadAssignment, true, false],
          [TypeUrl.Listener, true, false],
          [TypeUrl.RouteConfiguration, true, false]
        ])
      })
    )
  )

  it.live("a NACK is recorded and logged with its detail, nothing is resent, the next good snapshot is sent", () => {
    const logs: Array<CapturedLog> = []
    return withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c"]))
        const c = yield* sotwClient((yield* AdsServer).address, node("f", "envoy-7"))
        const first = yield* settle(c, ["c"], ["r"])
        const changed = httpFleet("f", ["c"])
        yield* cache.setResources({ ...changed, clusters: [edsCluster("c", { connectTimeoutSeconds: 9 })] })
        const bad = yield* c.next()
        expectType(bad, TypeUrl.Cluster, ["c"])
        yield* c.send(sotwNack(bad, first.cds.versionInfo, "cluster c: unsupported connect timeout"))
        yield* c.silence(150)
        const status = (yield* cache.nodeStatuses).find((s) => s.id === "envoy-7")
        const cds = status?.types.find((t) => t.typeUrl === TypeUrl.Cluster)
        expect(cds?.rejecting).toBe(true)
        expect(cds?.ackedVersion).toBe(first.cds.versionInfo)
        expect(cds?.lastNack).toMatchObject({ nonce: bad.nonce, errorDetail: "cluster c: unsupported connect timeout" })
        expect(yield* cache.nackCount).toBe(1)
        const warning = logs.find((l) => l.level === "Warn" && l.message.startsWith("NACK"))
        expect(warning?.annotations).toMatchObject({
          error: "cluster c: unsupported connect timeout",
          fleet: "f",
          node: "envoy-7",
          type: "Cluster"
        })
        // The next good snapshot goes out.
        yield* cache.setResources({ ...changed, clusters: [edsCluster("c", { connectTimeoutSeconds: 3 })] })
        const good = yield* c.next()
        expectType(good, TypeUrl.Cluster, ["c"])
        expect(good.versionInfo).not.toBe(bad.versionInfo)
        yield* c.send(sotwAck(good))
        yield* c.silence(50)
        const after = (yield* cache.nodeStatuses).find((s) => s.id === "envoy-7")
        expect(after?.types.find((t) => t.typeUrl === TypeUrl.Cluster)).toMatchObject({
          rejecting: false,
          ackedVersion: good.versionInfo,
          nacks: 1
        })
      }),
      { logs }
    )
  })

  it.live("ignores a request with a stale nonce (neither ACK nor subscription change)", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(twoListenerFleet("f"))
        const c = yield* sotwClient((yield* AdsServer).address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["a"] })
        const n1 = yield* c.next()
        // A new snapshot sends a second response before the client answered the first.
        const next = twoListenerFleet("f")
        yield* cache.setResources({ ...next, endpoints: [assignment("a", 7000), assignment("b", 9001)] })
        const n2 = yield* c.next()
        expectType(n2, TypeUrl.ClusterLoadAssignment, ["a"])
        yield* c.send(sotwAck(n1, ["a", "b"])) // stale: ignored
        yield* c.silence(150)
        expect((yield* cache.nodeStatuses).length).toBe(0)
        yield* c.send(sotwAck(n2, ["a", "b"]))
        expectType(yield* c.next(), TypeUrl.ClusterLoadAssignment, ["a", "b"])
        expect((yield* cache.nodeStatuses)[0]?.types[0]?.ackedVersion).toBe(n2.versionInfo)
      })
    )
  )

  it.live("removal: the full set without the removed cluster, after the route stopped using it", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        const c = yield* sotwClient((yield* AdsServer).address, node("f"))
        yield* settle(c, ["c1", "c2"], ["r"])
        yield* cache.setResources(httpFleet("f", ["c1"]))
        const routes = yield* c.next()
        expectType(routes, TypeUrl.RouteConfiguration, ["r"])
        yield* c.send(sotwAck(routes, ["r"]))
        const clusters = yield* c.next()
        expectType(clusters, TypeUrl.Cluster, ["c1"])
        yield* c.send(sotwAck(clusters))
        yield* c.silence(100)
      })
    )
  )

  it.live("a reconnecting client that holds the current versions gets nothing again", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c"]))
        const address = (yield* AdsServer).address
        const held = yield* Effect.scoped(
          Effect.gen(function* () {
            return yield* settle(yield* sotwClient(address, node("f")), ["c"], ["r"])
          })
        )
        const c = yield* sotwClient(address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.Cluster, versionInfo: held.cds.versionInfo })
        yield* c.send({
          typeUrl: TypeUrl.ClusterLoadAssignment,
          versionInfo: held.eds.versionInfo,
          resourceNames: ["c"]
        })
        yield* c.send({ typeUrl: TypeUrl.Listener, versionInfo: held.lds.versionInfo })
        yield* c.send({ typeUrl: TypeUrl.RouteConfiguration, versionInfo: held.rds.versionInfo, resourceNames: ["r"] })
        yield* c.silence(150)
        // What changed since does go out.
        yield* cache.setResources({ ...httpFleet("f", ["c"]), endpoints: [assignment("c", 1234)] })
        expectType(yield* c.next(), TypeUrl.ClusterLoadAssignment, ["c"])
      })
    )
  )

  it.live("sends a listener's RouteConfiguration again when the listener changes", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c"]))
        const c = yield* sotwClient((yield* AdsServer).address, node("f"))
        const first = yield* settle(c, ["c"], ["r"])
        yield* cache.setResources({
          ...httpFleet("f", ["c"]),
          listeners: [httpListener("l", "r", { statPrefix: "new" })]
        })
        expectType(yield* c.next(), TypeUrl.Listener, ["l"])
        const routes = yield* c.next()
        expectType(routes, TypeUrl.RouteConfiguration, ["r"])
        expect(routes.versionInfo).toBe(first.rds.versionInfo)
        expect(routes.nonce).not.toBe(first.rds.nonce)
      })
    )
  )

  it.live("a node of an unknown fleet gets nothing (one log line) until its snapshot is set", () => {
    const logs: Array<CapturedLog> = []
    return withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("known", ["c"]))
        const c = yield* sotwClient((yield* AdsServer).address, node("stranger"))
        yield* c.send({ typeUrl: TypeUrl.Cluster })
        yield* c.send({ typeUrl: TypeUrl.Listener })
        yield* c.silence(150)
        const lines = logs.filter((l) => l.message.startsWith("no configuration for this fleet"))
        expect(lines.length).toBe(1)
        expect(lines[0]?.annotations).toMatchObject({ fleet: "stranger", node: "envoy-0" })
        yield* cache.setResources(httpFleet("stranger", ["s"]))
        expectType(yield* c.next(), TypeUrl.Cluster, ["s"])
      }),
      { logs }
    )
  })

  it.live("uses node.id as the fleet when node.cluster is empty", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("by-id", ["c"]))
        const c = yield* sotwClient((yield* AdsServer).address, { id: "by-id", cluster: "" })
        yield* c.send({ typeUrl: TypeUrl.Cluster })
        expectType(yield* c.next(), TypeUrl.Cluster, ["c"])
      })
    )
  )

  it.live("keeps fleets apart", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("a", ["a1"]))
        yield* cache.setResources(httpFleet("b", ["b1"]))
        const address = (yield* AdsServer).address
        const a = yield* sotwClient(address, node("a"))
        const b = yield* sotwClient(address, node("b"))
        yield* a.send({ typeUrl: TypeUrl.Cluster })
        yield* b.send({ typeUrl: TypeUrl.Cluster })
        const ca = yield* a.next()
        const cb = yield* b.next()
        expectType(ca, TypeUrl.Cluster, ["a1"])
        expectType(cb, TypeUrl.Cluster, ["b1"])
        yield* a.send(sotwAck(ca))
        yield* b.send(sotwAck(cb))
        yield* cache.setResources(httpFleet("a", ["a1", "a2"]))
        expectType(yield* a.next(), TypeUrl.Cluster, ["a1", "a2"])
        yield* b.silence(150)
      })
    )
  )

  it.live("a client that goes away ends its stream; a broken one does not hurt the others", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        const server = yield* AdsServer
        yield* cache.setResources(httpFleet("f", ["c"]))
        yield* Effect.scoped(
          Effect.gen(function* () {
            const c = yield* sotwClient(server.address, node("f"))
            yield* c.send({ typeUrl: TypeUrl.Cluster })
            yield* c.next()
            expect(yield* server.streams).toBe(1)
          })
        )
        const status = yield* garbageStream(server.address)
        expect(status.code).not.toBe(0)
        const open = yield* server.streams.pipe(
          Effect.repeat({ until: (n) => n === 0, schedule: Schedule.spaced("10 millis"), times: 100 })
        )
        expect(open).toBe(0)
        const c = yield* sotwClient(server.address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.Cluster })
        expectType(yield* c.next(), TypeUrl.Cluster, ["c"])
      })
    )
  )

  it.live("closing the server's scope ends open streams and stops the server promptly", () =>
    Effect.gen(function* () {
      const serverScope = yield* Scope.make()
      const clientScope = yield* Scope.make()
      // Closed again (a no-op) when the test fails half-way: no server outlives the test.
      yield* Effect.addFinalizer(() =>
        Scope.close(clientScope, Exit.void).pipe(Effect.andThen(Scope.close(serverScope, Exit.void)))
      )
      const services = yield* Layer.buildWithScope(
        AdsServer.layer({ address: "127.0.0.1:0" }).pipe(
          Layer.provideMerge(SnapshotCache.layer),
          Layer.provideMerge(captureLogs([]))
        ),
        serverScope
      )
      const server = Context.get(services, AdsServer)
      yield* Context.get(services, SnapshotCache).setResources(httpFleet("f", ["c"]))
      const c = yield* Scope.provide(sotwClient(server.address, node("f")), clientScope)
      yield* c.send({ typeUrl: TypeUrl.Cluster })
      yield* c.next()
      const started = Date.now()
      yield* Scope.close(serverScope, Exit.void)
      expect(Date.now() - started).toBeLessThan(900)
      yield* Scope.close(clientScope, Exit.void)
      const stillThere = yield* Effect.exit(
        Effect.scoped(
          sotwClient(server.address, node("f")).pipe(
            Effect.tap((again) => again.send({ typeUrl: TypeUrl.Cluster })),
            Effect.flatMap((again) => again.next(300))
          )
        )
      )
      expect(Exit.isFailure(stillThere)).toBe(true)
    }).pipe(Effect.scoped)
  )
})
