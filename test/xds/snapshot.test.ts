/**
 * src/xds/Snapshot.ts: content versions and the consistency check.
 */
import { create, equals, toBinary } from "@bufbuild/protobuf"
import { AnySchema } from "@bufbuild/protobuf/wkt"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { ListenerSchema } from "../../src/xds/proto/envoy/config/listener/v3/listener_pb.ts"
import { RouteConfigurationSchema } from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import { pack, TypeUrl, unpack } from "../../src/xds/Registry.ts"
import {
  checkSnapshot,
  emptySnapshot,
  InconsistentSnapshot,
  makeSnapshot,
  type SnapshotProblem,
  snapshotOf
} from "../../src/xds/Snapshot.ts"
import {
  assignment,
  edsCluster,
  fleetResources,
  httpFleet,
  httpListener,
  routeConfig,
  staticCluster,
  tcpListener,
  tlsSecret,
  udpListener
} from "../support/adsClient.ts"

const problemsOf = (result: ReturnType<typeof makeSnapshot>): ReadonlyArray<SnapshotProblem> => {
  if (Result.isSuccess(result)) throw new Error("expected an inconsistent snapshot")
  return result.failure.problems
}

describe("snapshot versions", () => {
  it("versions each resource by the sha256 of its bytes, the same across builds", () => {
    const a = Result.getOrThrow(makeSnapshot(httpFleet("f", ["c1", "c2"])))
    const b = Result.getOrThrow(makeSnapshot(httpFleet("f", ["c1", "c2"])))
    for (const typeUrl of Object.values(TypeUrl)) {
      expect(b.resources[typeUrl].version).toBe(a.resources[typeUrl].version)
      expect([...b.resources[typeUrl].items.values()].map((r) => r.version)).toEqual(
        [...a.resources[typeUrl].items.values()].map((r) => r.version)
      )
    }
    const route = a.resources[TypeUrl.RouteConfiguration].items.get("r")
    expect(route?.version).toMatch(/^[0-9a-f]{64}$/)
  })

  it("changes only the versions of what changed", () => {
    const before = Result.getOrThrow(makeSnapshot(httpFleet("f", ["c1", "c2"])))
    const changed = httpFleet("f", ["c1", "c2"])
    const after = Result.getOrThrow(
      makeSnapshot({ ...changed, endpoints: [assignment("c1", 9000), assignment("c2", 9999)] })
    )
    const eds = TypeUrl.ClusterLoadAssignment
    expect(after.resources[eds].items.get("c1")?.version).toBe(before.resources[eds].items.get("c1")?.version)
    expect(after.resources[eds].items.get("c2")?.version).not.toBe(before.resources[eds].items.get("c2")?.version)
    expect(after.resources[eds].version).not.toBe(before.resources[eds].version)
    for (const typeUrl of [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.Secret]) {
      expect(after.resources[typeUrl].version).toBe(before.resources[typeUrl].version)
    }
  })

  it("packs every resource as an Any that round-trips to the same message", () => {
    const resources = httpFleet("f", ["c1"])
    const snapshot = Result.getOrThrow(makeSnapshot(resources))
    const listener = snapshot.resources[TypeUrl.Listener].items.get("l")
    expect(listener?.resource.typeUrl).toBe(TypeUrl.Listener)
    const unpacked = listener === undefined ? undefined : unpack(listener.resource, ListenerSchema)
    expect(unpacked !== undefined && equals(ListenerSchema, unpacked, resources.listeners[0]!)).toBe(true)
    const bytes = toBinary(RouteConfigurationSchema, resources.routes[0]!)
    expect(snapshot.resources[TypeUrl.RouteConfiguration].items.get("r")?.resource.value).toEqual(bytes)
  })

  it("sorts resources by name, is frozen, and maps listeners to their route configurations", () => {
    const snapshot = Result.getOrThrow(
      makeSnapshot(
        fleetResources("f", {
          listeners: [httpListener("b", "rb", { port: 1 }), httpListener("a", "ra", { port: 2 })],
          routes: [routeConfig("rb", ["c"]), routeConfig("ra", ["c"])],
          clusters: [staticCluster("c")]
        })
      )
    )
    expect([...snapshot.resources[TypeUrl.Listener].items.keys()]).toEqual(["a", "b"])
    expect(snapshot.routesByListener.get("a")).toEqual(["ra"])
    expect(Object.isFrozen(snapshot)).toBe(true)
    expect(Object.isFrozen(snapshot.resources)).toBe(true)
  })

  it("an empty fleet is consistent", () => {
    const snapshot = emptySnapshot("f")
    expect(snapshot.problems).toEqual([])
    expect(snapshot.resources[TypeUrl.Cluster].items.size).toBe(0)
  })
})

describe("snapshot consistency", () => {
  it("accepts a consistent fleet with HTTP, TCP, UDP and TLS listeners", () => {
    const result = makeSnapshot(
      fleetResources("f", {
        listeners: [httpListener("https", "r", { secret: "cert" }), tcpListener("tcp", "t"), udpListener("udp", "u")],
        routes: [routeConfig("r", ["a", "b"], { mirror: "m" })],
        clusters: ["a", "b", "m", "t", "u"].map((c) => edsCluster(c)),
        endpoints: ["a", "b", "m", "t", "u"].map((c, i) => assignment(c, 9000 + i)),
        secrets: [tlsSecret("cert")]
      })
    )
    expect(Result.isSuccess(result)).toBe(true)
  })

  it("names a RouteConfiguration that a listener's HCM wants over RDS but does not exist", () => {
    const problems = problemsOf(makeSnapshot({ ...httpFleet("f", ["c"]), routes: [] }))
    expect(problems).toEqual([
      {
        _tag: "MissingResource",
        missing: { kind: "RouteConfiguration", name: "r" },
        referencedBy: { kind: "Listener", name: "l" }
      }
    ])
  })

  it("names the ClusterLoadAssignment an EDS cluster lacks (by service name when set)", () => {
    const problems = problemsOf(
      makeSnapshot(
        fleetResources("f", {
          clusters: [edsCluster("a"), edsCluster("b", { serviceName: "b-svc" }), staticCluster("s")],
          endpoints: [assignment("a", 1)]
        })
      )
    )
    expect(problems).toEqual([
      {
        _tag: "MissingResource",
        missing: { kind: "ClusterLoadAssignment", name: "b-svc" },
        referencedBy: { kind: "Cluster", name: "b" }
      }
    ])
  })

  it("names clusters that routes (single, weighted, mirror), tcp_proxy and udp_proxy want", () => {
    const problems = problemsOf(
      makeSnapshot(
        fleetResources("f", {
          listeners: [httpListener("l", "r"), tcpListener("tcp", "t"), udpListener("udp", "u")],
          routes: [routeConfig("r", ["a", "w"], { mirror: "m" })],
          clusters: [staticCluster("a")]
        })
      )
    )
    const missing = problems.map((p) =>
      p._tag === "MissingResource" ? `${p.missing.name}<-${p.referencedBy.name}` : p._tag
    )
    expect(missing.sort()).toEqual(["m<-r", "t<-tcp", "u<-udp", "w<-r"])
    expect(new InconsistentSnapshot({ fleet: "f", problems }).message).toContain(
      'Cluster "t" referenced by Listener "tcp" does not exist'
    )
  })

  it("does not require the cluster that invalid backends are routed to on purpose", () => {
    const result = makeSnapshot(
      fleetResources("f", {
        listeners: [httpListener("l", "r"), tcpListener("tcp", "portico/invalid-backend")],
        routes: [routeConfig("r", ["a", "portico/invalid-backend"])],
        clusters: [staticCluster("a")]
      })
    )
    expect(Result.isSuccess(result)).toBe(true)
  })

  it("names an SDS secret a transport socket wants", () => {
    const problems = problemsOf(
      makeSnapshot(
        fleetResources("f", {
          listeners: [httpListener("l", "r", { secret: "cert" })],
          routes: [routeConfig("r", ["a"])],
          clusters: [staticCluster("a")]
        })
      )
    )
    expect(problems).toEqual([
      {
        _tag: "MissingResource",
        missing: { kind: "Secret", name: "cert" },
        referencedBy: { kind: "Listener", name: "l" }
      }
    ])
  })

  it("reports typed configs that do not decode or whose type is unknown", () => {
    const listener = tcpListener("tcp", "t")
    const filter = listener.filterChains[0]!.filters[0]!
    filter.configType = {
      case: "typedConfig",
      value: create(AnySchema, { typeUrl: "type.googleapis.com/not.a.Type", value: new Uint8Array([1, 2]) })
    }
    const broken = tcpListener("broken", "t")
    broken.filterChains[0]!.filters[0]!.configType = {
      case: "typedConfig",
      value: create(AnySchema, {
        typeUrl: pack(ListenerSchema, create(ListenerSchema)).typeUrl,
        value: new Uint8Array([0xff, 0xff, 0xff])
      })
    }
    const problems = problemsOf(
      makeSnapshot(fleetResources("f", { listeners: [listener, broken], clusters: [staticCluster("t")] }))
    )
    expect(problems.map((p) => p._tag)).toEqual(["UndecodableConfig", "UndecodableConfig"])
    expect(problems[0]).toMatchObject({ resource: { name: "broken" } })
    expect(problems[1]).toMatchObject({ resource: { name: "tcp" }, typeUrl: "type.googleapis.com/not.a.Type" })
  })

  it("reports duplicate and empty names", () => {
    const problems = problemsOf(
      makeSnapshot(fleetResources("f", { clusters: [staticCluster("a"), staticCluster("a"), staticCluster("")] }))
    )
    // fleetResources sorts by name: the nameless cluster comes first.
    expect(problems).toEqual([
      { _tag: "EmptyName", kind: "Cluster", index: 0 },
      { _tag: "DuplicateName", resource: { kind: "Cluster", name: "a" } }
    ])
  })

  it("snapshotOf records problems and checkSnapshot turns them into the tagged error", () => {
    const snapshot = snapshotOf({ ...httpFleet("f", ["c"]), clusters: [] })
    expect(snapshot.problems.length).toBe(1)
    const checked = checkSnapshot(snapshot)
    expect(Result.isFailure(checked) && checked.failure._tag).toBe("InconsistentSnapshot")
    expect(Result.isFailure(checked) && checked.failure.message).toBe(
      'inconsistent snapshot for fleet f: Cluster "c" referenced by RouteConfiguration "r" does not exist'
    )
  })
})
