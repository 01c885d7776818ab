/**
 * Test certificates: self-signed server certificates, CAs, certificates signed
 * by a CA and client certificates, as PEM and as the Kubernetes objects the
 * Gateway API conformance suite creates (Secret of type kubernetes.io/tls,
 * ConfigMap with ca.crt). ECDSA P-256 keys; every certificate is generated once
 * per process (module-level cache), so a test run pays for each only once.
 */
import { webcrypto } from "node:crypto"
import { isIP } from "node:net"
import type * as X509 from "@peculiar/x509"
import type { JsonObject } from "./manifests.ts"

// @peculiar/x509 loads tsyringe, which needs the reflect-metadata polyfill first.
import "reflect-metadata"

let library: Promise<typeof X509> | undefined

/** @peculiar/x509, loaded once, using node's webcrypto. */
const x509Library = (): Promise<typeof X509> => {
  if (library === undefined) {
    library = import("@peculiar/x509").then((x509) => {
      x509.cryptoProvider.set(webcrypto)
      return x509
    })
  }
  return library
}

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const
const HOUR_MS = 3_600_000

/** A certificate and its private key, both PEM. */
export interface TlsKeyPair {
  readonly certPem: string
  readonly keyPem: string
}

/** A CA able to sign certificates. */
export interface CertificateAuthority extends TlsKeyPair {
  readonly label: string
  readonly subject: string
  readonly keys: webcrypto.CryptoKeyPair
}

export type CertificateUsage = "server" | "client"

const generateKeys = (): Promise<webcrypto.CryptoKeyPair> =>
  webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"])

const privateKeyPem = async (key: webcrypto.CryptoKey): Promise<string> => {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key)).toString("base64")
  return `-----BEGIN PRIVATE KEY-----\n${der.replace(/(.{64})/g, "$1\n").trimEnd()}\n-----END PRIVATE KEY-----\n`
}

const validity = (): { readonly notBefore: Date; readonly notAfter: Date } => {
  const now = Date.now()
  return { notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + 365 * 24 * HOUR_MS) }
}

let serial = 0
const nextSerial = (): string => {
  serial += 1
  return (0x1000 + serial).toString(16)
}

/** `dns`, `ip` or `url` subject alternative names from host strings (`spiffe://...` is a URI SAN). */
const subjectAltNames = (x509: typeof X509, hosts: ReadonlyArray<string>): X509.SubjectAlternativeNameExtension =>
  new x509.SubjectAlternativeNameExtension(
    hosts.map((host) =>
      host.includes("://")
        ? { type: "url" as const, value: host }
        : isIP(host) !== 0
          ? { type: "ip" as const, value: host }
          : { type: "dns" as const, value: host }
    )
  )

const leafExtensions = (
  x509: typeof X509,
  hosts: ReadonlyArray<string>,
  usage: CertificateUsage
): Array<X509.Extension> => [
  new x509.BasicConstraintsExtension(false, undefined, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  new x509.ExtendedKeyUsageExtension(
    [usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
    false
  ),
  ...(hosts.length > 0 ? [subjectAltNames(x509, hosts)] : [])
]

/** CN from the first host that is a DNS name (wildcards kept), else a fixed name. */
const commonName = (hosts: ReadonlyArray<string>, fallback: string): string => {
  const dns = hosts.find((h) => !h.includes("://") && isIP(h) === 0)
  return `CN=${dns ?? fallback}`
}

const memo = <A>(cache: Map<string, Promise<A>>, key: string, make: () => Promise<A>): Promise<A> => {
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const made = make()
  cache.set(key, made)
  return made
}

const authorities = new Map<string, Promise<CertificateAuthority>>()
const selfSigned = new Map<string, Promise<TlsKeyPair>>()
const signed = new Map<string, Promise<TlsKeyPair>>()

/** The CA named `label` (one key pair per label per process). */
export const certificateAuthority = (label: string): Promise<CertificateAuthority> =>
  memo(authorities, label, async () => {
    const x509 = await x509Library()
    const keys = await generateKeys()
    const subject = `CN=Portico test ${label},O=Portico conformance`
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: nextSerial(),
      name: subject,
      ...validity(),
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
      ]
    })
    return { label, subject, keys, certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) }
  })

/** A self-signed server certificate for `hosts` (its own issuer, usable as its own trust root). */
export const selfSignedCertificate = (hosts: ReadonlyArray<string>): Promise<TlsKeyPair> =>
  memo(selfSigned, hosts.join(","), async () => {
    const x509 = await x509Library()
    const keys = await generateKeys()
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: nextSerial(),
      name: commonName(hosts, "portico-self-signed"),
      ...validity(),
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: leafExtensions(x509, hosts, "server")
    })
    return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) }
  })

/** A certificate for `hosts` signed by the CA `caLabel` (a client certificate when `usage` is client). */
export const signedCertificate = (
  caLabel: string,
  hosts: ReadonlyArray<string>,
  usage: CertificateUsage
): Promise<TlsKeyPair> =>
  memo(signed, `${caLabel}|${usage}|${hosts.join(",")}`, async () => {
    const x509 = await x509Library()
    const ca = await certificateAuthority(caLabel)
    const keys = await generateKeys()
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: commonName(hosts, usage === "client" ? "portico-test-client" : "portico-test-server"),
      issuer: ca.subject,
      ...validity(),
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        ...leafExtensions(x509, hosts, usage),
        await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey)
      ]
    })
    return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) }
  })

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64")

/** A Secret of type kubernetes.io/tls holding `pair` (data tls.crt / tls.key, base64 PEM). */
export const tlsSecret = (namespace: string, name: string, pair: TlsKeyPair): JsonObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace },
  type: "kubernetes.io/tls",
  data: { "tls.crt": base64(pair.certPem), "tls.key": base64(pair.keyPem) }
})

/** A ConfigMap holding a CA bundle under `ca.crt` (PEM). */
export const caConfigMap = (namespace: string, name: string, caPem: string): JsonObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data: { "ca.crt": caPem }
})
