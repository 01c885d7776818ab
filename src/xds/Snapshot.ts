/**
 * One fleet's xDS resources as the ADS server serves them: an immutable snapshot built from
 * {@link FleetResources}, with every resource packed into a `google.protobuf.Any` once, a
 * per-resource version (the sha256 of its serialized bytes, so equal content means equal version
 * in every process and every run) and a version per resource type (the hash of its names and
 * versions).
 *
 * A snapshot is checked for consistency before the cache accepts it ({@link makeSnapshot},
 * {@link checkSnapshot}): every RouteConfiguration a listener's HttpConnectionManager names over RDS
 * exists, every EDS cluster has its ClusterLoadAssignment, every cluster a route, tcp_proxy or
 * udp_proxy names exists, every secret named over SDS exists, every typed config decodes, and names
 * are non-empty and unique per type. References are found by walking the messages, unpacking every
 * `Any` through the registry (HCM in filter chains and API listeners, tcp_proxy, udp_proxy and its
 * matcher actions, transport sockets, per-filter configs).
 *
 * Pure: no Effect, no I/O.
 */
import { createHash } from "node:crypto"
import { type DescMessage, isMessage, type MessageShape } from "@bufbuild/protobuf"
import { type Any, AnySchema } from "@bufbuild/protobuf/wkt"
import { Result, Schema } from "effect"
import { type Cluster, Cluster_DiscoveryType, ClusterSchema } from "./proto/envoy/config/cluster/v3/cluster_pb.ts"
import { ClusterLoadAssignmentSchema } from "./proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import { ListenerSchema } from "./proto/envoy/config/listener/v3/listener_pb.ts"
import {
  RouteAction_RequestMirrorPolicySchema,
  RouteActionSchema,
  WeightedCluster_ClusterWeightSchema
} from "./proto/envoy/config/route/v3/route_components_pb.ts"
import { RouteConfigurationSchema } from "./proto/envoy/config/route/v3/route_pb.ts"
import { RdsSchema } from "./proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.ts"
import {
  TcpProxy_WeightedCluster_ClusterWeightSchema,
  TcpProxySchema
} from "./proto/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.ts"
import { RouteSchema as UdpRouteSchema } from "./proto/envoy/extensions/filters/udp/udp_proxy/v3/route_pb.ts"
import { UdpProxyConfigSchema } from "./proto/envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy_pb.ts"
import { SdsSecretConfigSchema, SecretSchema } from "./proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"
import { pack, TypeUrl, unpack } from "./Registry.ts"
import { type FleetResources, INVALID_BACKEND_CLUSTER } from "./Resources.ts"

/** The short name of each resource type, as errors and logs spell it. */
export const ResourceKind = Schema.Literals([
  "Listener",
  "RouteConfiguration",
  "Cluster",
  "ClusterLoadAssignment",
  "Secret"
])
export type ResourceKind = typeof ResourceKind.Type

export const kindOfTypeUrl: Readonly<Record<TypeUrl, ResourceKind>> = {
  [TypeUrl.Listener]: "Listener",
  [TypeUrl.RouteConfiguration]: "RouteConfiguration",
  [TypeUrl.Cluster]: "Cluster",
  [TypeUrl.ClusterLoadAssignment]: "ClusterLoadAssignment",
  [TypeUrl.Secret]: "Secret"
}

/** Every type URL a snapshot holds, in make-before-break push order (CDS, EDS, SDS, LDS, RDS). */
export const TYPE_URLS: ReadonlyArray<TypeUrl> = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Secret,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration
]

export const isTypeUrl = (value: string): value is TypeUrl => Object.hasOwn(kindOfTypeUrl, value)

/** A resource named by its kind: `Cluster "httproute/default/backend/rule/0"`. */
export const ResourceRef = Schema.Struct({ kind: ResourceKind, name: Schema.String })
export type ResourceRef = typeof ResourceRef.Type

/** Cluster names that resources reference on purpose and that are never defined (see Resources.ts). */
export const UNDEFINED_CLUSTER_NAMES: ReadonlySet<string> = new Set([INVALID_BACKEND_CLUSTER])

const showRef = (ref: ResourceRef): string => `${ref.kind} ${JSON.stringify(ref.name)}`

/** What makes a snapshot inconsistent. */
export const SnapshotProblem = Schema.Union([
  /** `missing` does not exist but `referencedBy` names it. */
  Schema.TaggedStruct("MissingResource", { missing: ResourceRef, referencedBy: ResourceRef }),
  /** A typed config (`Any`) inside `resource` whose type the registry does not know or whose bytes do not decode. */
  Schema.TaggedStruct("UndecodableConfig", { resource: ResourceRef, typeUrl: Schema.String, reason: Schema.String }),
  /** Two resources of one type with the same name. */
  Schema.TaggedStruct("DuplicateName", { resource: ResourceRef }),
  /** A resource without a name. */
  Schema.TaggedStruct("EmptyName", { kind: ResourceKind, index: Schema.Number }),
  /** A snapshot set for another fleet than the one it was built for. */
  Schema.TaggedStruct("FleetMismatch", { expected: Schema.String, actual: Schema.String })
])
export type SnapshotProblem = typeof SnapshotProblem.Type

export const showProblem = (problem: SnapshotProblem): string => {
  switch (problem._tag) {
    case "MissingResource":
      return `${showRef(problem.missing)} referenced by ${showRef(problem.referencedBy)} does not exist`
    case "UndecodableConfig":
      return `${showRef(problem.resource)} holds a typed config ${problem.typeUrl} that does not decode: ${problem.reason}`
    case "DuplicateName":
      return `${showRef(problem.resource)} is defined more than once`
    case "EmptyName":
      return `${problem.kind} #${problem.index} has no name`
    case "FleetMismatch":
      return `the snapshot was built for fleet ${problem.actual}, not ${problem.expected}`
  }
}

/** A snapshot that fails the consistency check: the cache keeps the fleet's last good snapshot. */
export class InconsistentSnapshot extends Schema.TaggedError<InconsistentSnapshot>()("InconsistentSnapshot", {
  fleet: Schema.String,
  problems: Schema.Array(SnapshotProblem)
}) {
  override get message(): string {
    const shown = this.problems.slice(0, 5).map(showProblem)
    const more = this.problems.length > shown.length ? `; and ${this.problems.length - shown.length} more` : ""
    return `inconsistent snapshot for fleet ${this.fleet}: ${shown.join("; ")}${more}`
  }
}

/** One resource as served: its name, content version and packed message. */
export interface VersionedResource {
  readonly name: string
  /** sha256 (hex) of the serialized message. */
  readonly version: string
  readonly resource: Any
}

/** All resources of one type. */
export interface ResourceSet {
  /** sha256 (hex) of the sorted names and versions. */
  readonly version: string
  readonly items: ReadonlyMap<string, VersionedResource>
}

export interface Snapshot {
  readonly fleet: string
  readonly resources: Readonly<Record<TypeUrl, ResourceSet>>
  /** The RouteConfigurations each listener names over RDS (listener name -> route config names). */
  readonly routesByListener: ReadonlyMap<string, ReadonlyArray<string>>
  /** Empty for a consistent snapshot. */
  readonly problems: ReadonlyArray<SnapshotProblem>
}

const sha256 = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex")

/** The version of a set of (name, version) pairs: independent of their order. */
export const versionOfEntries = (entries: Iterable<readonly [string, string]>): string => {
  const lines = [...entries].map(([name, version]) => `${name}\u0000${version}\n`).sort()
  return sha256(lines.join(""))
}

interface References {
  readonly routes: ReadonlyArray<string>
  readonly clusters: ReadonlyArray<string>
  readonly secrets: ReadonlyArray<string>
  readonly undecodable: ReadonlyArray<{ readonly typeUrl: string; readonly reason: string }>
}

interface Encoded {
  readonly resource: VersionedResource
  readonly references: References
}

/** Finds every resource a message names, descending into typed configs. */
const collectReferences = (root: unknown): References => {
  const routes = new Set<string>()
  const clusters = new Set<string>()
  const secrets = new Set<string>()
  const undecodable: Array<{ typeUrl: string; reason: string }> = []
  const addCluster = (name: string) => {
    if (name !== "") clusters.add(name)
  }
  const visit = (value: unknown): void => {
    if (typeof value !== "object" || value === null || value instanceof Uint8Array) return
    if (Array.isArray(value)) {
      for (const item of value) visit(item)
      return
    }
    if (isMessage(value, AnySchema)) {
      let inner: unknown
      try {
        inner = unpack(value)
      } catch (error) {
        undecodable.push({ typeUrl: value.typeUrl, reason: error instanceof Error ? error.message : String(error) })
        return
      }
      if (inner === undefined) undecodable.push({ typeUrl: value.typeUrl, reason: "type not in the registry" })
      else visit(inner)
      return
    }
    if (isMessage(value, RdsSchema)) routes.add(value.routeConfigName)
    else if (isMessage(value, RouteActionSchema)) {
      if (value.clusterSpecifier.case === "cluster") addCluster(value.clusterSpecifier.value)
    } else if (isMessage(value, WeightedCluster_ClusterWeightSchema)) addCluster(value.name)
    else if (isMessage(value, RouteAction_RequestMirrorPolicySchema)) addCluster(value.cluster)
    else if (isMessage(value, TcpProxySchema)) {
      if (value.clusterSpecifier.case === "cluster") addCluster(value.clusterSpecifier.value)
    } else if (isMessage(value, TcpProxy_WeightedCluster_ClusterWeightSchema)) addCluster(value.name)
    else if (isMessage(value, UdpProxyConfigSchema)) {
      if (value.routeSpecifier.case === "cluster") addCluster(value.routeSpecifier.value)
    } else if (isMessage(value, UdpRouteSchema)) addCluster(value.cluster)
    else if (isMessage(value, SdsSecretConfigSchema)) {
      // Without sds_config the name refers to a static secret of the bootstrap, not to SDS.
      if (value.sdsConfig !== undefined && value.name !== "") secrets.add(value.name)
    }
    for (const field of Object.values(value)) visit(field)
  }
  visit(root)
  return { routes: [...routes], clusters: [...clusters], secrets: [...secrets], undecodable }
}

const encode = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, name: string): Encoded => {
  const resource = pack(schema, message)
  return { resource: { name, version: sha256(resource.value), resource }, references: collectReferences(message) }
}

interface Entry {
  readonly name: string
  readonly encoded: Encoded
  /** The ClusterLoadAssignment an EDS cluster needs. */
  readonly eds?: string
}

const isEds = (cluster: Cluster): boolean =>
  cluster.clusterDiscoveryType.case === "type" && cluster.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS

/**
 * Builds the snapshot of a fleet's resources, recording (not failing on) what is inconsistent:
 * {@link makeSnapshot} and {@link checkSnapshot} turn problems into an {@link InconsistentSnapshot}.
 */
export const snapshotOf = (input: FleetResources): Snapshot => {
  const problems: Array<SnapshotProblem> = []
  const entries: Record<TypeUrl, Array<Entry>> = {
    [TypeUrl.Listener]: input.listeners.map((m) => ({ name: m.name, encoded: encode(ListenerSchema, m, m.name) })),
    [TypeUrl.RouteConfiguration]: input.routes.map((m) => ({
      name: m.name,
      encoded: encode(RouteConfigurationSchema, m, m.name)
    })),
    [TypeUrl.Cluster]: input.clusters.map((m) => ({
      name: m.name,
      encoded: encode(ClusterSchema, m, m.name),
      ...(isEds(m) ? { eds: m.edsClusterConfig?.serviceName || m.name } : {})
    })),
    [TypeUrl.ClusterLoadAssignment]: input.endpoints.map((m) => ({
      name: m.clusterName,
      encoded: encode(ClusterLoadAssignmentSchema, m, m.clusterName)
    })),
    [TypeUrl.Secret]: input.secrets.map((m) => ({ name: m.name, encoded: encode(SecretSchema, m, m.name) }))
  }

  const setOf = (typeUrl: TypeUrl): ResourceSet => {
    const kind = kindOfTypeUrl[typeUrl]
    const items = new Map<string, VersionedResource>()
    entries[typeUrl].forEach((entry, index) => {
      if (entry.name === "") problems.push({ _tag: "EmptyName", kind, index })
      else if (items.has(entry.name)) problems.push({ _tag: "DuplicateName", resource: { kind, name: entry.name } })
      else items.set(entry.name, entry.encoded.resource)
    })
    const sorted = new Map([...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    return { version: versionOfEntries([...sorted.values()].map((r) => [r.name, r.version] as const)), items: sorted }
  }
  const sets: Record<TypeUrl, ResourceSet> = {
    [TypeUrl.Listener]: setOf(TypeUrl.Listener),
    [TypeUrl.RouteConfiguration]: setOf(TypeUrl.RouteConfiguration),
    [TypeUrl.Cluster]: setOf(TypeUrl.Cluster),
    [TypeUrl.ClusterLoadAssignment]: setOf(TypeUrl.ClusterLoadAssignment),
    [TypeUrl.Secret]: setOf(TypeUrl.Secret)
  }

  const has = (typeUrl: TypeUrl, name: string) => sets[typeUrl].items.has(name)
  const routesByListener = new Map<string, ReadonlyArray<string>>()
  for (const typeUrl of TYPE_URLS) {
    const referencedBy = (name: string): ResourceRef => ({ kind: kindOfTypeUrl[typeUrl], name })
    for (const { name, encoded, eds } of entries[typeUrl]) {
      const refs = encoded.references
      const missing = (kind: ResourceKind, target: TypeUrl, names: ReadonlyArray<string>) => {
        for (const n of names) {
          if (!has(target, n))
            problems.push({ _tag: "MissingResource", missing: { kind, name: n }, referencedBy: referencedBy(name) })
        }
      }
      missing("RouteConfiguration", TypeUrl.RouteConfiguration, refs.routes)
      missing(
        "Cluster",
        TypeUrl.Cluster,
        refs.clusters.filter((cluster) => !UNDEFINED_CLUSTER_NAMES.has(cluster))
      )
      missing("Secret", TypeUrl.Secret, refs.secrets)
      if (eds !== undefined) missing("ClusterLoadAssignment", TypeUrl.ClusterLoadAssignment, [eds])
      for (const u of refs.undecodable) {
        problems.push({ _tag: "UndecodableConfig", resource: referencedBy(name), typeUrl: u.typeUrl, reason: u.reason })
      }
      if (typeUrl === TypeUrl.Listener && refs.routes.length > 0) routesByListener.set(name, refs.routes)
    }
  }

  return Object.freeze({ fleet: input.fleet, resources: Object.freeze(sets), routesByListener, problems })
}

/** The snapshot, or why it is inconsistent. */
export const checkSnapshot = (snapshot: Snapshot): Result.Result<Snapshot, InconsistentSnapshot> =>
  snapshot.problems.length === 0
    ? Result.succeed(snapshot)
    : Result.fail(new InconsistentSnapshot({ fleet: snapshot.fleet, problems: snapshot.problems }))

/** Builds and checks a fleet's snapshot. */
export const makeSnapshot = (resources: FleetResources): Result.Result<Snapshot, InconsistentSnapshot> =>
  checkSnapshot(snapshotOf(resources))

/** An empty (consistent) snapshot: the fleet is known and has nothing. */
export const emptySnapshot = (fleet: string): Snapshot =>
  snapshotOf({ fleet, listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] })
