/**
 * Make-before-break over real gRPC: a client sees new clusters and endpoints (and ACKs them) before
 * the listeners and routes that use them, and loses clusters only after its routes stopped using
 * them. Also: the ACK timeout, EDS-only pushes, rejected snapshots, and snapshots that change in
 * the middle of a rollout.
 */
import { it } from "@effect/vitest"
import { Effect } from "effect"
import { describe, expect } from "vitest"
import { AdsServer } from "../../src/xds/AdsServer.ts"
import type { DiscoveryResponse } from "../../src/xds/proto/envoy/service/discovery/v3/discovery_pb.ts"
import { SnapshotCache } from "../../src/xds/SnapshotCache.ts"
import {
  assignment,
  type CapturedLog,
  deltaAck,
  deltaClient,
  deltaNames,
  edsCluster,
  fleetResources,
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

const node = { id: "envoy-0", cluster: "f" }

const kind = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf(".") + 1)
const show = (r: DiscoveryResponse) => `${kind(r.typeUrl)}[${sotwNames(r).join(",")}]`

/** Brings a SotW client to a steady state on `eds`/`rds`, ACKing everything. */
const settle = (c: SotwClient, eds: ReadonlyArray<string>, rds: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    yield* c.send({ typeUrl: TypeUrl.Cluster })
    const cds = yield* c.next()
    yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [...eds] })
    yield* c.send(sotwAck(cds))
    yield* c.send(sotwAck(yield* c.next(), eds))
    yield* c.send({ typeUrl: TypeUrl.Listener })
    const lds = yield* c.next()
    yield* c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: [...rds] })
    yield* c.send(sotwAck(lds))
    yield* c.send(sotwAck(yield* c.next(), rds))
  })

describe("make-before-break", () => {
  it.live("SotW: a new cluster and its endpoints are ACKed before the route that uses it; removal after", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c1"]))
        const c = yield* sotwClient((yield* AdsServer).address, node)
        yield* settle(c, ["c1"], ["r"])
        const start = c.received.length

        // Add c2 and route to it.
        yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        const cds = yield* c.next()
        expect(show(cds)).toBe("Cluster[c1,c2]")
        // Like Envoy: subscribe to the new cluster's endpoints before ACKing CDS.
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["c1", "c2"] })
        yield* c.send(sotwAck(cds))
        const eds = yield* c.next()
        expect(show(eds)).toBe("ClusterLoadAssignment[c1,c2]")
        yield* c.silence(100) // the route waits for the endpoints' ACK
        yield* c.send(sotwAck(eds, ["c1", "c2"]))
        const rds = yield* c.next()
        expect(show(rds)).toBe("RouteConfiguration[r]")
        yield* c.send(sotwAck(rds, ["r"]))
        yield* c.silence(50)

        // Drop c1: the route stops using it first, then the cluster goes.
        yield* cache.setResources({ ...httpFleet("f", ["c2"]), endpoints: [assignment("c2", 9001)] })
        const rds2 = yield* c.next()
        expect(show(rds2)).toBe("RouteConfiguration[r]")
        yield* c.silence(100) // the cluster stays until the route is ACKed
        yield* c.send(sotwAck(rds2, ["r"]))
        const cds2 = yield* c.next()
        expect(show(cds2)).toBe("Cluster[c2]")
        yield* c.send(sotwAck(cds2))
        expect(c.received.slice(start).map(show)).toEqual([
          "Cluster[c1,c2]",
          "ClusterLoadAssignment[c1,c2]",
          "RouteConfiguration[r]",
          "RouteConfiguration[r]",
          "Cluster[c2]"
        ])
      })
    )
  )

  it.live("delta: a new listener's cluster, endpoints and route come first; its removal goes listener-first", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        const one = fleetResources("f", {
          listeners: [httpListener("l1", "r1", { port: 1 })],
          routes: [routeConfig("r1", ["c1"])],
          clusters: [edsCluster("c1")],
          endpoints: [assignment("c1", 9000)]
        })
        const two = fleetResources("f", {
          listeners: [...one.listeners, httpListener("l2", "r2", { port: 2 })],
          routes: [...one.routes, routeConfig("r2", ["c2"])],
          clusters: [...one.clusters, edsCluster("c2")],
          endpoints: [...one.endpoints, assignment("c2", 9001)]
        })
        yield* cache.setResources(one)
        const c = yield* deltaClient((yield* AdsServer).address, node)
        yield* c.send({ typeUrl: TypeUrl.Cluster })
        const cds = yield* c.next()
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["c1"] })
        yield* c.send(deltaAck(cds))
        yield* c.send(deltaAck(yield* c.next()))
        yield* c.send({ typeUrl: TypeUrl.Listener })
        const lds = yield* c.next()
        yield* c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNamesSubscribe: ["r1"] })
        yield* c.send(deltaAck(lds))
        yield* c.send(deltaAck(yield* c.next()))

        yield* cache.setResources(two)
        const newCluster = yield* c.next()
        expect([newCluster.typeUrl, deltaNames(newCluster)]).toEqual([TypeUrl.Cluster, ["c2"]])
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["c2"] })
        yield* c.send(deltaAck(newCluster))
        const newEndpoints = yield* c.next()
        expect([newEndpoints.typeUrl, deltaNames(newEndpoints)]).toEqual([TypeUrl.ClusterLoadAssignment, ["c2"]])
        yield* c.silence(100)
        yield* c.send(deltaAck(newEndpoints))
        const newListener = yield* c.next()
        expect([newListener.typeUrl, deltaNames(newListener)]).toEqual([TypeUrl.Listener, ["l2"]])
        yield* c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNamesSubscribe: ["r2"] })
        yield* c.send(deltaAck(newListener))
        const newRoute = yield* c.next()
        expect([newRoute.typeUrl, deltaNames(newRoute)]).toEqual([TypeUrl.RouteConfiguration, ["r2"]])
        yield* c.send(deltaAck(newRoute))
        yield* c.silence(50)

        // Back to one listener: the listener goes first, its cluster and endpoints after its ACK.
        yield* cache.setResources(one)
        const goneListener = yield* c.next()
        expect([goneListener.typeUrl, goneListener.removedResources]).toEqual([TypeUrl.Listener, ["l2"]])
        yield* c.silence(100)
        yield* c.send(deltaAck(goneListener))
        const removals = [yield* c.next(), yield* c.next(), yield* c.next()]
        expect(removals.map((r) => [kind(r.typeUrl), r.removedResources])).toEqual([
          ["Cluster", ["c2"]],
          ["ClusterLoadAssignment", ["c2"]],
          ["RouteConfiguration", ["r2"]]
        ])
      })
    )
  )

  it.live("a client that never ACKs gets the listeners once the ACK timeout passes", () => {
    const logs: Array<CapturedLog> = []
    return withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c"]))
        const c = yield* sotwClient((yield* AdsServer).address, node)
        yield* c.send({ typeUrl: TypeUrl.Cluster })
        yield* c.send({ typeUrl: TypeUrl.Listener })
        const started = Date.now()
        expect(show(yield* c.next())).toBe("Cluster[c]")
        const lds = yield* c.next()
        expect(show(lds)).toBe("Listener[l]")
        expect(Date.now() - started).toBeGreaterThanOrEqual(250)
        expect(logs.some((l) => l.message.startsWith("no answer to a response within 300 ms"))).toBe(true)
      }),
      { ackTimeout: "300 millis", logs }
    )
  })

  it.live("an endpoint change is an EDS-only push", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        const c = yield* sotwClient((yield* AdsServer).address, node)
        yield* settle(c, ["c1", "c2"], ["r"])
        yield* cache.setResources({
          ...httpFleet("f", ["c1", "c2"]),
          endpoints: [assignment("c1", 1), assignment("c2", 9001)]
        })
        const eds = yield* c.next()
        expect(show(eds)).toBe("ClusterLoadAssignment[c1,c2]")
        yield* c.send(sotwAck(eds, ["c1", "c2"]))
        yield* c.silence(150)
      })
    )
  )

  it.live("an inconsistent snapshot is rejected: clients keep the last good one and get the next good one", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c"]))
        const c = yield* sotwClient((yield* AdsServer).address, node)
        yield* settle(c, ["c"], ["r"])
        const broken = httpFleet("f", ["c", "d"])
        const rejected = yield* Effect.flip(cache.setResources({ ...broken, clusters: [edsCluster("c")] }))
        expect(rejected.message).toContain('Cluster "d" referenced by RouteConfiguration "r" does not exist')
        yield* c.silence(150)
        yield* cache.setResources(broken)
        expect(show(yield* c.next())).toBe("Cluster[c,d]")
      })
    )
  )

  it.live("a snapshot that changes before the client ACKed is merged into one rollout", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c1"]))
        const c = yield* sotwClient((yield* AdsServer).address, node)
        yield* settle(c, ["c1"], ["r"])
        yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        const first = yield* c.next()
        expect(show(first)).toBe("Cluster[c1,c2]")
        yield* cache.setResources(httpFleet("f", ["c3"]))
        // c1 is still routed to by what the client holds: it stays until the new route is ACKed.
        const second = yield* c.next()
        expect(show(second)).toBe("Cluster[c1,c2,c3]")
        yield* c.send(sotwAck(first)) // stale now
        yield* c.silence(100)
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["c1", "c3"] })
        yield* c.send(sotwAck(second))
        const eds = yield* c.next()
        expect(show(eds)).toBe("ClusterLoadAssignment[c1,c3]")
        yield* c.send(sotwAck(eds, ["c1", "c3"]))
        const rds = yield* c.next()
        expect(show(rds)).toBe("RouteConfiguration[r]")
        yield* c.send(sotwAck(rds, ["r"]))
        expect(show(yield* c.next())).toBe("Cluster[c3]")
      })
    )
  )

  it.live("a NACKed cluster update does not hold the routes back (the client keeps its last good clusters)", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c1"]))
        const c = yield* sotwClient((yield* AdsServer).address, node)
        yield* settle(c, ["c1"], ["r"])
        yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        const cds = yield* c.next()
        yield* c.send(sotwNack(cds, "", "c2: rejected"))
        const rds = yield* c.next()
        expect(show(rds)).toBe("RouteConfiguration[r]")
        expect(yield* cache.nackCount).toBe(1)
      })
    )
  )
})
