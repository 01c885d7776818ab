/**
 * Where Envoy fetches the resources a resource names: every RDS, EDS and SDS reference goes over
 * the same ADS stream the node's bootstrap opened (DESIGN.md section 3). Pure.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import { ApiVersion, type ConfigSourceSchema } from "../proto/envoy/config/core/v3/config_source_pb.ts"
import type { SdsSecretConfigSchema } from "../proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"

/** `{ ads: {}, resource_api_version: V3 }`. */
export const adsConfigSource = (): MessageInitShape<typeof ConfigSourceSchema> => ({
  configSourceSpecifier: { case: "ads", value: {} },
  resourceApiVersion: ApiVersion.V3
})

/** A reference to the SDS Secret `name`, fetched over ADS. */
export const sdsSecret = (name: string): MessageInitShape<typeof SdsSecretConfigSchema> => ({
  name,
  sdsConfig: adsConfigSource()
})
