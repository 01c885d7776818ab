/**
 * PEM validation of TLS Secrets and CA bundles. A malformed certificate or key
 * is a status reason, never a crash. Results are memoised per Secret object.
 */
import { createPrivateKey, X509Certificate } from "node:crypto"
import type { ConfigMap } from "../api/core/ConfigMap.ts"
import type { Secret } from "../api/core/Secret.ts"

export interface TlsCertificate {
  /** `namespace/name` of the Secret. */
  readonly name: string
  readonly certificateChain: string
  readonly privateKey: string
  /** DNS names of the leaf certificate (SANs, else CN). */
  readonly dnsNames: ReadonlyArray<string>
}

export type CertificateResult =
  | { readonly ok: true; readonly certificate: TlsCertificate }
  | { readonly ok: false; readonly message: string }

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

const decodeBase64 = (value: string): string => Buffer.from(value, "base64").toString("utf8")

/** The value of a Secret key: `stringData` wins over base64 `data`. */
const secretValue = (secret: Secret, k: string): string | undefined => {
  const s = secret.stringData?.[k]
  if (s !== undefined) return s
  const d = secret.data?.[k]
  return d === undefined ? undefined : decodeBase64(d)
}

/** Parses every certificate of a PEM bundle; throws nothing. */
export const parseCertificates = (pem: string): ReadonlyArray<X509Certificate> | string => {
  const blocks = pem.match(PEM_CERT)
  if (blocks === null || blocks.length === 0) return "no PEM certificate found"
  const certs: Array<X509Certificate> = []
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block))
    } catch (e) {
      return `certificate ${i} is not a valid X.509 certificate (${e instanceof Error ? e.message : String(e)})`
    }
  }
  return certs
}

const dnsNamesOf = (cert: X509Certificate): ReadonlyArray<string> => {
  const san = cert.subjectAltName
  if (san !== undefined) {
    const names = san
      .split(/,\s*/)
      .filter((s) => s.startsWith("DNS:"))
      .map((s) => s.slice(4))
    if (names.length > 0) return names
  }
  const cn = /CN=([^\n,]+)/.exec(cert.subject)
  return cn?.[1] !== undefined ? [cn[1]] : []
}

const memo = new WeakMap<Secret, CertificateResult>()

/** Validates a Secret holding `tls.crt` and `tls.key` (PEM), with a key that matches the leaf certificate. */
export const validateTlsSecret = (secret: Secret): CertificateResult => {
  const cached = memo.get(secret)
  if (cached !== undefined) return cached
  const result = validate(secret)
  memo.set(secret, result)
  return result
}

const validate = (secret: Secret): CertificateResult => {
  const name = `${secret.metadata.namespace ?? "default"}/${secret.metadata.name}`
  const crt = secretValue(secret, "tls.crt")
  const key = secretValue(secret, "tls.key")
  if (crt === undefined || crt.trim() === "") return { ok: false, message: `Secret ${name} has no tls.crt` }
  if (key === undefined || key.trim() === "") return { ok: false, message: `Secret ${name} has no tls.key` }
  const certs = parseCertificates(crt)
  if (typeof certs === "string") return { ok: false, message: `Secret ${name}: tls.crt: ${certs}` }
  let privateKey: ReturnType<typeof createPrivateKey>
  try {
    privateKey = createPrivateKey(key)
  } catch (e) {
    return {
      ok: false,
      message: `Secret ${name}: tls.key is not a valid PEM private key (${e instanceof Error ? e.message : String(e)})`
    }
  }
  const leaf = certs[0]!
  if (!leaf.checkPrivateKey(privateKey)) {
    return { ok: false, message: `Secret ${name}: tls.key does not match the certificate in tls.crt` }
  }
  return { ok: true, certificate: { name, certificateChain: crt, privateKey: key, dnsNames: dnsNamesOf(leaf) } }
}

/** Validates a CA bundle held in a ConfigMap's `ca.crt`. Returns the PEM or an error message. */
export const validateCaConfigMap = (
  cm: ConfigMap
): { readonly ok: true; readonly pem: string } | { readonly ok: false; readonly message: string } => {
  const name = `${cm.metadata.namespace ?? "default"}/${cm.metadata.name}`
  const pem = cm.data?.["ca.crt"]
  if (pem === undefined || pem.trim() === "") return { ok: false, message: `ConfigMap ${name} has no ca.crt` }
  const certs = parseCertificates(pem)
  if (typeof certs === "string") return { ok: false, message: `ConfigMap ${name}: ca.crt: ${certs}` }
  return { ok: true, pem }
}

/** Validates a CA bundle held in a Secret's `ca.crt`. */
export const validateCaSecret = (
  secret: Secret
): { readonly ok: true; readonly pem: string } | { readonly ok: false; readonly message: string } => {
  const name = `${secret.metadata.namespace ?? "default"}/${secret.metadata.name}`
  const pem = secretValue(secret, "ca.crt")
  if (pem === undefined || pem.trim() === "") return { ok: false, message: `Secret ${name} has no ca.crt` }
  const certs = parseCertificates(pem)
  if (typeof certs === "string") return { ok: false, message: `Secret ${name}: ca.crt: ${certs}` }
  return { ok: true, pem }
}
