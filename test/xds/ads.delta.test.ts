/**
 * The ADS server over real gRPC, incremental (DeltaAggregatedResources): wildcard and named
 * subscriptions, ACK, NACK, stale nonces, unsubscribe, removal, resources that do not exist, and
 * reconnects with initial_resource_versions.
 */
import { it } from "@effect/vitest"
import { Effect } from "effect"
import { describe, expect } from "vitest"
import { AdsServer } from "../../src/xds/AdsServer.ts"
import type { DeltaDiscoveryResponse } from "../../src/xds/proto/envoy/service/discovery/v3/discovery_pb.ts"
import { SnapshotCache } from "../../src/xds/SnapshotCache.ts"
import {
  assignment,
  type DeltaClient,
  deltaAck,
  deltaBarrier,
  deltaClient,
  deltaNack,
  deltaNames,
  edsCluster,
  httpFleet,
  TypeUrl,
  withAds
} from "../support/adsClient.ts"

const node = (fleet: string, id = "envoy-0") => ({ id, cluster: fleet })

const expectDelta = (
  response: DeltaDiscoveryResponse,
  typeUrl: string,
  names: ReadonlyArray<string>,
  removed: ReadonlyArray<string> = []
) => {
  expect(response.typeUrl).toBe(typeUrl)
  expect(deltaNames(response)).toEqual(names)
  expect(response.removedResources).toEqual(removed)
  expect(response.nonce).not.toBe("")
}

/** Versions the client holds, per type, from the responses it got. */
const holdings = (responses: ReadonlyArray<DeltaDiscoveryResponse>, typeUrl: string): Record<string, string> => {
  const held: Record<string, string> = {}
  for (const response of responses.filter((r) => r.typeUrl === typeUrl)) {
    for (const r of response.resources) held[r.name] = r.version
    for (const name of response.removedResources) delete held[name]
  }
  return held
}

/** Subscribes like Envoy (CDS wildcard, EDS by name, LDS wildcard, RDS by name) and ACKs everything. */
const settle = (c: DeltaClient, eds: ReadonlyArray<string>, rds: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    yield* c.send({ typeUrl: TypeUrl.Cluster })
    const cds = yield* c.next()
    expect(cds.typeUrl).toBe(TypeUrl.Cluster)
    yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: [...eds] })
    yield* c.send(deltaAck(cds))
    const endpoints = yield* c.next()
    expect(endpoints.typeUrl).toBe(TypeUrl.ClusterLoadAssignment)
    yield* c.send(deltaAck(endpoints))
    yield* c.send({ typeUrl: TypeUrl.Listener })
    const lds = yield* c.next()
    expect(lds.typeUrl).toBe(TypeUrl.Listener)
    yield* c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNamesSubscribe: [...rds] })
    yield* c.send(deltaAck(lds))
    const routes = yield* c.next()
    expect(routes.typeUrl).toBe(TypeUrl.RouteConfiguration)
    yield* c.send(deltaAck(routes))
    return { cds, eds: endpoints, lds, rds: routes }
  })

describe("ADS delta", () => {
  it.live("serves wildcard CDS, named EDS, then LDS and RDS, with per-resource versions", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        const snapshot = yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        const c = yield* deltaClient((yield* AdsServer).address, node("f"))
        const got = yield* settle(c, ["c1", "c2"], ["r"])
        expectDelta(got.cds, TypeUrl.Cluster, ["c1", "c2"])
        expect(got.cds.systemVersionInfo).toBe(snapshot.resources[TypeUrl.Cluster].version)
        expect(got.cds.resources.map((r) => r.version)).toEqual(
          ["c1", "c2"].map((n) => snapshot.resources[TypeUrl.Cluster].items.get(n)?.version)
        )
        expectDelta(got.eds, TypeUrl.ClusterLoadAssignment, ["c1", "c2"])
        expectDelta(got.lds, TypeUrl.Listener, ["l"])
        expectDelta(got.rds, TypeUrl.RouteConfiguration, ["r"])
        yield* c.silence(100)
      })
    )
  )

  it.live("sends only what changed and nothing for an ACKed or identical snapshot", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        const c = yield* deltaClient((yield* AdsServer).address, node("f"))
        yield* settle(c, ["c1", "c2"], ["r"])
        yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        yield* c.silence(100)
        yield* cache.setResources({
          ...httpFleet("f", ["c1", "c2"]),
          endpoints: [assignment("c1", 9000), assignment("c2", 1)]
        })
        const eds = yield* c.next()
        expectDelta(eds, TypeUrl.ClusterLoadAssignment, ["c2"])
        yield* c.send(deltaAck(eds))
        yield* c.silence(100)
        const status = (yield* cache.nodeStatuses)[0]?.types.find((t) => t.typeUrl === TypeUrl.ClusterLoadAssignment)
        expect(status?.ackedVersion).toBe(eds.systemVersionInfo)
      })
    )
  )

  it.live("a NACK is recorded, nothing is resent, and the next good version goes out", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c"]))
        const c = yield* deltaClient((yield* AdsServer).address, node("f", "e1"))
        yield* settle(c, ["c"], ["r"])
        const base = httpFleet("f", ["c"])
        yield* cache.setResources({ ...base, clusters: [edsCluster("c", { connectTimeoutSeconds: 8 })] })
        const bad = yield* c.next()
        expectDelta(bad, TypeUrl.Cluster, ["c"])
        yield* c.send(deltaNack(bad, "c: rejected"))
        yield* c.silence(150)
        const cds = (yield* cache.nodeStatuses)[0]?.types.find((t) => t.typeUrl === TypeUrl.Cluster)
        expect(cds).toMatchObject({ rejecting: true, lastNack: { nonce: bad.nonce, errorDetail: "c: rejected" } })
        yield* cache.setResources({ ...base, clusters: [edsCluster("c", { connectTimeoutSeconds: 2 })] })
        const good = yield* c.next()
        expectDelta(good, TypeUrl.Cluster, ["c"])
        expect(good.resources[0]?.version).not.toBe(bad.resources[0]?.version)
      })
    )
  )

  it.live("a stale nonce is no ACK, but its subscription changes apply", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["a", "b"]))
        const c = yield* deltaClient((yield* AdsServer).address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["a"] })
        const first = yield* c.next()
        yield* cache.setResources({
          ...httpFleet("f", ["a", "b"]),
          endpoints: [assignment("a", 1), assignment("b", 9001)]
        })
        const second = yield* c.next()
        expectDelta(second, TypeUrl.ClusterLoadAssignment, ["a"])
        yield* c.send({ ...deltaAck(first), resourceNamesSubscribe: ["b"] })
        expectDelta(yield* c.next(), TypeUrl.ClusterLoadAssignment, ["b"])
        expect((yield* cache.nodeStatuses).length).toBe(0)
      })
    )
  )

  it.live("unsubscribed resources are no longer sent; subscribing again sends them", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["a", "b"]))
        const c = yield* deltaClient((yield* AdsServer).address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["a", "b"] })
        const both = yield* c.next()
        expectDelta(both, TypeUrl.ClusterLoadAssignment, ["a", "b"])
        yield* c.send({ ...deltaAck(both), resourceNamesUnsubscribe: ["b"] })
        yield* deltaBarrier(c)
        yield* cache.setResources({
          ...httpFleet("f", ["a", "b"]),
          endpoints: [assignment("a", 9000), assignment("b", 2)]
        })
        yield* c.silence(100)
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["b"] })
        const again = yield* c.next()
        expectDelta(again, TypeUrl.ClusterLoadAssignment, ["b"])
      })
    )
  )

  it.live("removal: removed_resources names the cluster once the route no longer uses it", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c1", "c2"]))
        const c = yield* deltaClient((yield* AdsServer).address, node("f"))
        yield* settle(c, ["c1", "c2"], ["r"])
        yield* cache.setResources(httpFleet("f", ["c1"]))
        const routes = yield* c.next()
        expectDelta(routes, TypeUrl.RouteConfiguration, ["r"])
        yield* c.send(deltaAck(routes))
        const clusters = yield* c.next()
        expectDelta(clusters, TypeUrl.Cluster, [], ["c2"])
        const endpoints = yield* c.next()
        expectDelta(endpoints, TypeUrl.ClusterLoadAssignment, [], ["c2"])
      })
    )
  )

  it.live("a subscribed resource that does not exist is reported once in removed_resources", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["a"]))
        const c = yield* deltaClient((yield* AdsServer).address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["a", "ghost"] })
        const response = yield* c.next()
        expectDelta(response, TypeUrl.ClusterLoadAssignment, ["a"], ["ghost"])
        yield* c.send(deltaAck(response))
        yield* cache.setResources({ ...httpFleet("f", ["a"]), endpoints: [assignment("a", 5)] })
        expectDelta(yield* c.next(), TypeUrl.ClusterLoadAssignment, ["a"])
      })
    )
  )

  it.live("a reconnect with initial_resource_versions gets only what differs", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["c1", "c2", "c3"]))
        const address = (yield* AdsServer).address
        const received = yield* Effect.scoped(
          Effect.gen(function* () {
            const c = yield* deltaClient(address, node("f"))
            yield* settle(c, ["c1", "c2", "c3"], ["r"])
            return [...c.received]
          })
        )
        // While disconnected: c2's endpoints change, c3 goes away.
        const next = httpFleet("f", ["c1", "c2"])
        yield* cache.setResources({ ...next, endpoints: [assignment("c1", 9000), assignment("c2", 4242)] })
        const c = yield* deltaClient(address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.Cluster, initialResourceVersions: holdings(received, TypeUrl.Cluster) })
        yield* c.send({
          typeUrl: TypeUrl.ClusterLoadAssignment,
          resourceNamesSubscribe: ["c1", "c2", "c3"],
          initialResourceVersions: holdings(received, TypeUrl.ClusterLoadAssignment)
        })
        yield* c.send({ typeUrl: TypeUrl.Listener, initialResourceVersions: holdings(received, TypeUrl.Listener) })
        yield* c.send({
          typeUrl: TypeUrl.RouteConfiguration,
          resourceNamesSubscribe: ["r"],
          initialResourceVersions: holdings(received, TypeUrl.RouteConfiguration)
        })
        // Endpoints first (make), the changed route next (break), the removals last.
        const eds = yield* c.next()
        expectDelta(eds, TypeUrl.ClusterLoadAssignment, ["c2"])
        yield* c.send(deltaAck(eds))
        const rds = yield* c.next()
        expectDelta(rds, TypeUrl.RouteConfiguration, ["r"])
        yield* c.send(deltaAck(rds))
        const removals = [yield* c.next(), yield* c.next()]
        expect(removals.map((r) => [r.typeUrl, deltaNames(r), r.removedResources])).toEqual([
          [TypeUrl.Cluster, [], ["c3"]],
          [TypeUrl.ClusterLoadAssignment, [], ["c3"]]
        ])
        yield* c.silence(100)
      })
    )
  )

  it.live("explicit wildcard: '*' subscribes to everything and unsubscribing it stops updates", () =>
    withAds(
      Effect.gen(function* () {
        const cache = yield* SnapshotCache
        yield* cache.setResources(httpFleet("f", ["a", "b"]))
        const c = yield* deltaClient((yield* AdsServer).address, node("f"))
        yield* c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: ["*"] })
        const all = yield* c.next()
        expectDelta(all, TypeUrl.ClusterLoadAssignment, ["a", "b"])
        yield* c.send({ ...deltaAck(all), resourceNamesUnsubscribe: ["*"] })
        yield* deltaBarrier(c)
        yield* cache.setResources({
          ...httpFleet("f", ["a", "b"]),
          endpoints: [assignment("a", 1), assignment("b", 2)]
        })
        yield* c.silence(100)
      })
    )
  )
})
