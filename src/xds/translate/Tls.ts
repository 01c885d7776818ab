/**
 * TLS transport sockets: DownstreamTlsContext for HTTPS / TLS Terminate filter chains and
 * UpstreamTlsContext for backends with a BackendTLSPolicy. Certificates and CA bundles are never
 * inlined here: they are SDS references (over ADS) to the fleet's Secrets (Secret.ts). Pure.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { TlsChainIR, UpstreamTlsIR } from "../../ir/Xds.ts"
import type { TransportSocketSchema } from "../proto/envoy/config/core/v3/base_pb.ts"
import {
  CertificateValidationContext_TrustChainVerification,
  type CertificateValidationContextSchema,
  SubjectAltNameMatcher_SanType
} from "../proto/envoy/extensions/transport_sockets/tls/v3/common_pb.ts"
import {
  type CommonTlsContextSchema,
  DownstreamTlsContextSchema,
  UpstreamTlsContextSchema
} from "../proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.ts"
import { sdsSecret } from "./Ads.ts"
import { typedExtension } from "./Extension.ts"

type TransportSocketInit = MessageInitShape<typeof TransportSocketSchema>
type ValidationInit = NonNullable<MessageInitShape<typeof CommonTlsContextSchema>["validationContextType"]>

const TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls"

/**
 * The system trust store inside the Envoy image (`envoyproxy/envoy` is Debian/Ubuntu based). The
 * `system_root_certs` field of CertificateValidationContext is not implemented by Envoy yet.
 */
export const SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"

/** ALPN offered by HTTPS listeners: HTTP/2 first, then HTTP/1.1. */
export const HTTPS_ALPN: ReadonlyArray<string> = ["h2", "http/1.1"]

/**
 * The TLS transport socket of a terminating filter chain: the chain's certificates (SDS) and, with
 * client validation, the CA bundle (SDS). AllowValidOnly requires a valid client certificate;
 * AllowInsecureFallback accepts connections without one, or with one that does not verify.
 */
export const downstreamTls = (chain: TlsChainIR, alpn: ReadonlyArray<string>): TransportSocketInit => {
  const validation = chain.clientValidation
  const validationContextType: ValidationInit | undefined =
    validation === undefined
      ? undefined
      : validation.mode === "AllowValidOnly"
        ? { case: "validationContextSdsSecretConfig", value: sdsSecret(validation.caBundle) }
        : {
            case: "combinedValidationContext",
            value: {
              defaultValidationContext: {
                trustChainVerification: CertificateValidationContext_TrustChainVerification.ACCEPT_UNTRUSTED
              },
              validationContextSdsSecretConfig: sdsSecret(validation.caBundle)
            }
          }
  return typedExtension(TLS_TRANSPORT_SOCKET, DownstreamTlsContextSchema, {
    commonTlsContext: {
      tlsCertificateSdsSecretConfigs: chain.certificates.map(sdsSecret),
      alpnProtocols: [...alpn],
      ...(validationContextType === undefined ? {} : { validationContextType })
    },
    ...(validation === undefined ? {} : { requireClientCertificate: validation.mode === "AllowValidOnly" })
  })
}

const SAN_TYPES: Readonly<Record<string, SubjectAltNameMatcher_SanType>> = {
  Hostname: SubjectAltNameMatcher_SanType.DNS,
  URI: SubjectAltNameMatcher_SanType.URI
}

/**
 * What the backend's certificate must carry: the BackendTLSPolicy's subjectAltNames when given,
 * else its hostname (the SNI) as a DNS SAN. A DNS matcher with an exact value also accepts a
 * wildcard certificate covering it.
 */
const sanMatchers = (
  tls: UpstreamTlsIR
): NonNullable<MessageInitShape<typeof CertificateValidationContextSchema>["matchTypedSubjectAltNames"]> => {
  const given = (tls.subjectAltNames ?? []).flatMap((san) => {
    const sanType = SAN_TYPES[san.type]
    return sanType === undefined
      ? []
      : [{ sanType, matcher: { matchPattern: { case: "exact" as const, value: san.value } } }]
  })
  return given.length > 0
    ? given
    : [{ sanType: SubjectAltNameMatcher_SanType.DNS, matcher: { matchPattern: { case: "exact", value: tls.sni } } }]
}

/**
 * The TLS transport socket of a cluster: SNI, the server certificate verified against the policy's
 * CA bundle (SDS) or the system trust store, the SAN check, the Gateway's client certificate when
 * it has one, and ALPN `h2` for HTTP/2 backends.
 */
export const upstreamTls = (
  tls: UpstreamTlsIR,
  options: { readonly http2: boolean; readonly clientCertificate?: string | undefined }
): TransportSocketInit => {
  const matchTypedSubjectAltNames = sanMatchers(tls)
  const validationContextType: ValidationInit =
    tls.caBundle !== undefined
      ? {
          case: "combinedValidationContext",
          value: {
            defaultValidationContext: { matchTypedSubjectAltNames },
            validationContextSdsSecretConfig: sdsSecret(tls.caBundle.name)
          }
        }
      : {
          case: "validationContext",
          value: { matchTypedSubjectAltNames, trustedCa: { specifier: { case: "filename", value: SYSTEM_CA_FILE } } }
        }
  return typedExtension(TLS_TRANSPORT_SOCKET, UpstreamTlsContextSchema, {
    sni: tls.sni,
    commonTlsContext: {
      validationContextType,
      ...(options.clientCertificate === undefined
        ? {}
        : { tlsCertificateSdsSecretConfigs: [sdsSecret(options.clientCertificate)] }),
      ...(options.http2 ? { alpnProtocols: ["h2"] } : {})
    }
  })
}
