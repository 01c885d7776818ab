/**
 * Protocol truth for every test that produces xDS (DESIGN.md section 6.2): `assertRoundTrip`
 * checks that each resource of a fleet survives binary and canonical JSON (through the registry,
 * so every `Any` must resolve), passes protoc-gen-validate (pgv.ts: the rules Envoy enforces when
 * it loads a resource), and passes the checks Envoy makes beyond PGV that would NACK the update
 * (`envoyViolations`).
 */
import {
  type DescMessage,
  equals,
  fromBinary,
  fromJson,
  type JsonValue,
  type Message,
  type MessageShape,
  toBinary,
  toJson
} from "@bufbuild/protobuf"
import { type ReflectList, type ReflectMap, type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect"
import { anyUnpack } from "@bufbuild/protobuf/wkt"
import { RE2JS } from "re2js"
import { expect } from "vitest"
import { ClusterSchema } from "../../src/xds/proto/envoy/config/cluster/v3/cluster_pb.ts"
import { AddressSchema } from "../../src/xds/proto/envoy/config/core/v3/address_pb.ts"
import { ClusterLoadAssignmentSchema } from "../../src/xds/proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import { ListenerSchema } from "../../src/xds/proto/envoy/config/listener/v3/listener_pb.ts"
import { RouteConfigurationSchema } from "../../src/xds/proto/envoy/config/route/v3/route_pb.ts"
import { SecretSchema } from "../../src/xds/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"
import { registry } from "../../src/xds/Registry.ts"
import type { FleetResources } from "../../src/xds/Resources.ts"
import { INVALID_BACKEND_CLUSTER } from "../../src/xds/translate/Destination.ts"
import { validateMessage } from "./pgv.ts"

/** Binary and canonical JSON round trips of one message; returns its JSON. */
export const roundTrip = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue => {
  const binary = toBinary(schema, message)
  const fromBin = fromBinary(schema, binary)
  expect(equals(schema, fromBin, message), `${schema.typeName}: binary round trip`).toBe(true)
  expect(toBinary(schema, fromBin)).toEqual(binary)
  const json = JSON.parse(JSON.stringify(toJson(schema, message, { registry }))) as JsonValue
  const fromJs = fromJson(schema, json, { registry })
  expect(equals(schema, fromJs, message), `${schema.typeName}: JSON round trip`).toBe(true)
  expect(toBinary(schema, fromJs)).toEqual(binary)
  expect(JSON.parse(JSON.stringify(toJson(schema, fromJs, { registry })))).toEqual(json)
  return json
}

/** Every message inside `message` (itself included, `Any` unpacked), depth first. */
export const walkMessages = (schema: DescMessage, message: Message, visit: (m: Message) => void): void => {
  visit(message)
  const visitReflect = (value: ReflectMessage) => {
    if (value.desc.typeName === "google.protobuf.Any") {
      const inner = anyUnpack(value.message as Parameters<typeof anyUnpack>[0], registry)
      const desc = inner === undefined ? undefined : registry.getMessage(inner.$typeName)
      if (inner !== undefined && desc !== undefined) walkMessages(desc, inner, visit)
      return
    }
    walkMessages(value.desc, value.message, visit)
  }
  const r = reflect(schema, message)
  for (const field of r.fields) {
    if (!r.isSet(field)) continue
    if (field.fieldKind === "message") visitReflect(r.get(field) as ReflectMessage)
    else if (field.fieldKind === "list" && field.listKind === "message") {
      for (const item of r.get(field) as ReflectList) visitReflect(item as ReflectMessage)
    } else if (field.fieldKind === "map" && field.mapKind === "message") {
      for (const value of (r.get(field) as ReflectMap).values()) visitReflect(value as ReflectMessage)
    }
  }
}

/** Messages of one type inside `message`. */
const collect = <T extends Message>(schema: DescMessage, message: Message, typeName: string): Array<T> => {
  const out: Array<T> = []
  walkMessages(schema, message, (m) => {
    if (m.$typeName === typeName) out.push(m as T)
  })
  return out
}

type AnyRecord = Record<string, unknown>
const field = (m: unknown, name: string): unknown => (m as AnyRecord)[name]
const duplicates = (values: ReadonlyArray<string>): Array<string> =>
  [...new Set(values.filter((v, i) => values.indexOf(v) !== i))].sort()

/**
 * What Envoy rejects beyond PGV, and the references between resources: duplicate names, domains
 * or filter chain matches; weights summing to 0; regexes RE2 rejects; pseudo-headers or `host` in
 * request header mutations; header values that are not valid format strings; the HTTP router not
 * last; RDS / EDS / SDS / cluster names that no resource defines (except the intentionally
 * undefined invalid-backend cluster).
 */
export const envoyViolations = (resources: FleetResources): Array<string> => {
  const out: Array<string> = []
  const all: Array<[DescMessage, Message]> = [
    ...resources.listeners.map((m): [DescMessage, Message] => [ListenerSchema, m]),
    ...resources.routes.map((m): [DescMessage, Message] => [RouteConfigurationSchema, m]),
    ...resources.clusters.map((m): [DescMessage, Message] => [ClusterSchema, m]),
    ...resources.endpoints.map((m): [DescMessage, Message] => [ClusterLoadAssignmentSchema, m]),
    ...resources.secrets.map((m): [DescMessage, Message] => [SecretSchema, m])
  ]
  for (const [label, names] of [
    ["listener", resources.listeners.map((l) => l.name)],
    ["route configuration", resources.routes.map((r) => r.name)],
    ["cluster", resources.clusters.map((c) => c.name)],
    ["load assignment", resources.endpoints.map((e) => e.clusterName)],
    ["secret", resources.secrets.map((s) => s.name)]
  ] as const) {
    for (const name of duplicates(names)) out.push(`duplicate ${label} ${name}`)
    expect([...names], `${label}s sorted by name`).toEqual([...names].sort())
  }
  const clusterNames = new Set(resources.clusters.map((c) => c.name))
  const secretNames = new Set(resources.secrets.map((s) => s.name))
  const routeNames = new Set(resources.routes.map((r) => r.name))
  const edsNames = new Set(resources.endpoints.map((e) => e.clusterName))
  for (const c of resources.clusters) {
    if (
      c.clusterDiscoveryType.case === "type" &&
      c.clusterDiscoveryType.value === 3 &&
      !edsNames.has(c.edsClusterConfig?.serviceName || c.name)
    ) {
      out.push(`cluster ${c.name}: no ClusterLoadAssignment`)
    }
  }
  const clusterRef = (where: string, name: string) => {
    if (name !== INVALID_BACKEND_CLUSTER && !clusterNames.has(name)) out.push(`${where}: unknown cluster ${name}`)
  }
  const addresses = resources.listeners
    .filter((l) => l.apiListener === undefined)
    .map((l) => JSON.stringify(l.address === undefined ? null : toJson(AddressSchema, l.address, { registry })))
  for (const a of duplicates(addresses)) out.push(`two listeners on ${a}`)

  for (const [schema, message] of all) {
    const where = `${schema.name} ${String(field(message, "name") || field(message, "clusterName"))}`
    walkMessages(schema, message, (m) => {
      switch (m.$typeName) {
        case "envoy.type.matcher.v3.RegexMatcher": {
          const regex = String(field(m, "regex"))
          try {
            RE2JS.compile(regex)
          } catch (e) {
            out.push(`${where}: regex ${regex} is not RE2: ${String(e)}`)
          }
          break
        }
        case "envoy.config.core.v3.HeaderValue": {
          // Added header values are format strings: a `%` not part of `%%` starts an operator,
          // and Portico emits none (its values are literal), so any would be a config error.
          const value = String(field(m, "value"))
          if (value.replaceAll("%%", "").includes("%")) out.push(`${where}: header value ${value} has an unescaped %`)
          break
        }
        case "envoy.config.route.v3.WeightedCluster": {
          const clusters = field(m, "clusters") as ReadonlyArray<AnyRecord>
          const sum = clusters.reduce((s, c) => s + Number(c.weight ?? 0), 0)
          if (sum <= 0 || sum > 4_294_967_295) out.push(`${where}: weighted clusters sum to ${sum}`)
          for (const c of clusters) clusterRef(where, String(c.name))
          break
        }
        case "envoy.config.route.v3.RouteAction": {
          const spec = field(m, "clusterSpecifier") as { case?: string; value?: unknown }
          if (spec.case === "cluster") clusterRef(where, String(spec.value))
          for (const mirror of field(m, "requestMirrorPolicies") as ReadonlyArray<AnyRecord>) {
            clusterRef(where, String(mirror.cluster))
          }
          break
        }
        case "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy": {
          const spec = field(m, "clusterSpecifier") as { case?: string; value?: unknown }
          if (spec.case === "cluster") clusterRef(where, String(spec.value))
          else if (spec.case === "weightedClusters") {
            const clusters = field(spec.value, "clusters") as ReadonlyArray<AnyRecord>
            for (const c of clusters) clusterRef(where, String(c.name))
          }
          break
        }
        case "envoy.extensions.filters.udp.udp_proxy.v3.Route":
          clusterRef(where, String(field(m, "cluster")))
          break
        case "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager": {
          const rds = field(m, "routeSpecifier") as { case?: string; value?: AnyRecord }
          if (rds.case === "rds" && !routeNames.has(String(rds.value?.routeConfigName))) {
            out.push(`${where}: unknown route configuration ${String(rds.value?.routeConfigName)}`)
          }
          const filters = (field(m, "httpFilters") as ReadonlyArray<AnyRecord>).map((f) => String(f.name))
          if (filters.at(-1) !== "envoy.filters.http.router")
            out.push(`${where}: the router must be the last HTTP filter`)
          for (const name of duplicates(filters)) out.push(`${where}: HTTP filter ${name} twice`)
          break
        }
        case "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext": {
          const common = field(m, "commonTlsContext") as AnyRecord | undefined
          const certificates =
            ((common?.tlsCertificates as ReadonlyArray<unknown> | undefined) ?? []).length +
            ((common?.tlsCertificateSdsSecretConfigs as ReadonlyArray<unknown> | undefined) ?? []).length
          if (certificates === 0) out.push(`${where}: a TLS server context without a certificate`)
          const validation = (common?.validationContextType as { case?: string } | undefined)?.case
          if (field(m, "requireClientCertificate") === true && validation === undefined) {
            out.push(`${where}: client certificates required without a validation context`)
          }
          break
        }
        case "envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig": {
          const name = String(field(m, "name"))
          if (!secretNames.has(name)) out.push(`${where}: unknown secret ${name}`)
          break
        }
      }
    })
  }

  for (const rc of resources.routes) {
    const where = `route configuration ${rc.name}`
    for (const name of duplicates(rc.virtualHosts.map((vh) => vh.name)))
      out.push(`${where}: virtual host ${name} twice`)
    const domains = rc.virtualHosts.flatMap((vh) => vh.domains.map((d) => d.toLowerCase()))
    for (const d of duplicates(domains)) out.push(`${where}: domain ${d} in two virtual hosts`)
    for (const vh of rc.virtualHosts) {
      for (const route of vh.routes) {
        for (const h of route.requestHeadersToAdd) {
          const key = h.header?.key.toLowerCase() ?? ""
          if (key.startsWith(":") || key === "host") out.push(`${where}: ${route.name} may not modify ${key}`)
        }
        for (const key of route.requestHeadersToRemove.map((k) => k.toLowerCase())) {
          if (key.startsWith(":") || key === "host") out.push(`${where}: ${route.name} may not remove ${key}`)
        }
      }
    }
  }

  for (const listener of resources.listeners) {
    const where = `listener ${listener.name}`
    // Each server name (and the catch-all, none) may select one filter chain only.
    const serverNames = listener.filterChains.flatMap((fc) => {
      const names = fc.filterChainMatch?.serverNames ?? []
      return names.length === 0 ? ["(any)"] : names.map((n) => n.toLowerCase())
    })
    for (const m of duplicates(serverNames)) out.push(`${where}: two filter chains match server name ${m}`)
    for (const n of duplicates(listener.filterChains.map((fc) => fc.name)))
      out.push(`${where}: filter chain ${n} twice`)
    const usesSni = listener.filterChains.some((fc) => (fc.filterChainMatch?.serverNames.length ?? 0) > 0)
    const inspector = listener.listenerFilters.some((f) => f.name === "envoy.filters.listener.tls_inspector")
    if (usesSni && !inspector) out.push(`${where}: server_names without the TLS inspector`)
    const udp = listener.address?.address.case === "socketAddress" && listener.address.address.value.protocol === 1
    // An API listener (proxyless gRPC) has its connection manager in api_listener, no chains.
    const api = listener.apiListener !== undefined
    if (!udp && !api && listener.filterChains.length === 0 && listener.defaultFilterChain === undefined) {
      out.push(`${where}: no filter chains`)
    }
    // Every per-route filter config names a filter in the chain of the connection manager serving it.
    for (const hcm of collect<Message>(
      ListenerSchema,
      listener,
      "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    )) {
      const rds = field(hcm, "routeSpecifier") as { case?: string; value?: AnyRecord }
      const rc = resources.routes.find((r) => r.name === rds.value?.routeConfigName)
      const chain = new Set((field(hcm, "httpFilters") as ReadonlyArray<AnyRecord>).map((f) => String(f.name)))
      for (const vh of rc?.virtualHosts ?? []) {
        for (const route of vh.routes) {
          for (const name of Object.keys(route.typedPerFilterConfig)) {
            if (!chain.has(name)) out.push(`${where}: ${route.name} configures ${name}, which is not in the chain`)
          }
        }
      }
    }
  }
  return out
}

/** Round trips, PGV and Envoy's own checks for every resource of a fleet. */
export const assertRoundTrip = (resources: FleetResources): void => {
  const check = <Desc extends DescMessage>(schema: Desc, messages: ReadonlyArray<MessageShape<Desc>>) => {
    for (const message of messages) {
      roundTrip(schema, message)
      expect(validateMessage(schema, message), `${schema.typeName} PGV`).toEqual([])
    }
  }
  check(ListenerSchema, resources.listeners)
  check(RouteConfigurationSchema, resources.routes)
  check(ClusterSchema, resources.clusters)
  check(ClusterLoadAssignmentSchema, resources.endpoints)
  check(SecretSchema, resources.secrets)
  expect(envoyViolations(resources), "Envoy's own checks").toEqual([])
}
