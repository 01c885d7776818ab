/**
 * A fleet's resources as one printable document, the way `portico translate --to xds` shows them
 * and the xDS golden files hold them: `kind: XdsConfig`, the fleet, and each resource type as a
 * list of canonical proto JSON objects (`google.protobuf.Any` JSON, so each carries its `@type`,
 * as in Envoy's config dump). Private keys are replaced by their size, as in the printed IR. Pure.
 */
import { clone, type DescMessage, type JsonObject, type JsonValue, type MessageShape, toJson } from "@bufbuild/protobuf"
import { AnySchema } from "@bufbuild/protobuf/wkt"
import { ClusterSchema } from "../proto/envoy/config/cluster/v3/cluster_pb.ts"
import { ClusterLoadAssignmentSchema } from "../proto/envoy/config/endpoint/v3/endpoint_pb.ts"
import { ListenerSchema } from "../proto/envoy/config/listener/v3/listener_pb.ts"
import { RouteConfigurationSchema } from "../proto/envoy/config/route/v3/route_pb.ts"
import { type Secret, SecretSchema } from "../proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"
import { pack, registry } from "../Registry.ts"
import type { FleetResources } from "../Resources.ts"

export interface XdsConfigDocument {
  readonly kind: "XdsConfig"
  readonly fleet: string
  readonly listeners: ReadonlyArray<JsonObject>
  readonly routes: ReadonlyArray<JsonObject>
  readonly clusters: ReadonlyArray<JsonObject>
  readonly endpoints: ReadonlyArray<JsonObject>
  readonly secrets: ReadonlyArray<JsonObject>
}

/** `@type` first in every object, as Envoy's config dump prints it (key order only). */
const typeFirst = (value: JsonValue): JsonValue => {
  if (Array.isArray(value)) return value.map(typeFirst)
  if (value === null || typeof value !== "object") return value
  const out: JsonObject = {}
  if ("@type" in value && value["@type"] !== undefined) out["@type"] = value["@type"]
  for (const [key, field] of Object.entries(value))
    if (key !== "@type" && field !== undefined) out[key] = typeFirst(field)
  return out
}

/** A resource as `Any` JSON: `{ "@type": "type.googleapis.com/...", ...fields }`. */
export const resourceJson = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonObject =>
  typeFirst(toJson(AnySchema, pack(schema, message), { registry })) as JsonObject

/** The secret with its private key replaced by `[redacted: N bytes, see Secret NAME]`. */
export const redactSecret = (secret: Secret): Secret => {
  if (secret.type.case !== "tlsCertificate") return secret
  const key = secret.type.value.privateKey
  if (key === undefined || key.specifier.case !== "inlineString") return secret
  const redacted = clone(SecretSchema, secret)
  if (redacted.type.case === "tlsCertificate" && redacted.type.value.privateKey !== undefined) {
    redacted.type.value.privateKey.specifier = {
      case: "inlineString",
      value: `[redacted: ${key.specifier.value.length} bytes, see Secret ${secret.name}]`
    }
  }
  return redacted
}

export const xdsConfigDocument = (resources: FleetResources): XdsConfigDocument => ({
  kind: "XdsConfig",
  fleet: resources.fleet,
  listeners: resources.listeners.map((r) => resourceJson(ListenerSchema, r)),
  routes: resources.routes.map((r) => resourceJson(RouteConfigurationSchema, r)),
  clusters: resources.clusters.map((r) => resourceJson(ClusterSchema, r)),
  endpoints: resources.endpoints.map((r) => resourceJson(ClusterLoadAssignmentSchema, r)),
  secrets: resources.secrets.map((r) => resourceJson(SecretSchema, redactSecret(r)))
})
