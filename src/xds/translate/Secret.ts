/**
 * SDS Secrets: TLS certificates (chain and key, inline) and CA bundles (a validation context with
 * the trusted CAs, inline), named as the IR names them, which is how listeners and clusters
 * reference them (Tls.ts). Pure.
 */
import { create } from "@bufbuild/protobuf"
import type { SecretIR } from "../../ir/Xds.ts"
import { type Secret, SecretSchema } from "../proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.ts"

const inline = (value: string) => ({ specifier: { case: "inlineString" as const, value } })

export const translateSecret = (secret: SecretIR): Secret =>
  create(
    SecretSchema,
    secret.type === "TlsCertificate"
      ? {
          name: secret.name,
          type: {
            case: "tlsCertificate",
            value: { certificateChain: inline(secret.certificateChain), privateKey: inline(secret.privateKey) }
          }
        }
      : {
          name: secret.name,
          type: { case: "validationContext", value: { trustedCa: inline(secret.caCertificates) } }
        }
  )
