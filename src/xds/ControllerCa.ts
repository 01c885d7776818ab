/**
 * ControllerCa: the CA that signs the xDS server's certificate, and that certificate.
 *
 * The CA lives in one Secret of the controller's namespace (`portico-xds-ca`, type
 * kubernetes.io/tls; nothing is ever written into user namespaces): `tls.crt`/`tls.key` the newest
 * CA, `previous.crt`/`previous.key` the one it replaced (empty when none), and `ca.crt` the trust
 * bundle that every fleet's bootstrap ConfigMap gets (newest + previous while it is valid). Every
 * replica reads it; the first one to find it missing creates it. Creation is a server-side apply
 * with a field manager of this instance and without force, so a replica that loses the race gets a
 * 409 (the winner owns fields with other values) and reads the winner's CA: replicas agree.
 *
 * Rotation, checked at start and every `refreshInterval`. A CA with less than a third of its
 * lifetime left (or an expired, unreadable or mismatched one) is replaced by a new CA, written
 * with the Secret's resourceVersion as precondition (a concurrent writer makes it a 409, and the
 * loser reads again). The replaced CA stays in the bundle and keeps signing serving certificates
 * while it can still cover a whole serving lifetime, so the fleets have years to pick up the new
 * bundle (their bootstrap hash changes, so they roll) before a certificate of the new CA is served.
 * Each replica issues its own serving certificate (ECDSA P-256, `<service>.<ns>.svc`,
 * `<service>.<ns>.svc.cluster.local` and `extraHosts`) in memory, and issues a new one when less
 * than a third of its lifetime is left or when the signing CA changes; {@link ControllerCa}
 * `servingChanges` feeds AdsServer's rotating TLS.
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from "node:crypto"
import { isIP } from "node:net"
import type * as X509 from "@peculiar/x509"
import { Clock, Context, Duration, Effect, Layer, Option, Schema, Stream, SubscriptionRef } from "effect"
import { CONTROLLER_SERVICE, XDS_CA_SECRET } from "../charts/ControllerInstall.ts"
import { FIELD_MANAGER, isConflict, isNotFound, type KubeObject } from "../providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../providers/kubernetes/KubeClient.ts"
import type { TlsKeyPair } from "./AdsServer.ts"

// @peculiar/x509 loads tsyringe, which needs the reflect-metadata polyfill first.
import "reflect-metadata"

export { XDS_CA_SECRET }
/** The Secret's keys. */
export const CA_CERT_KEY = "tls.crt"
export const CA_KEY_KEY = "tls.key"
export const PREVIOUS_CERT_KEY = "previous.crt"
export const PREVIOUS_KEY_KEY = "previous.key"
export const BUNDLE_KEY = "ca.crt"

export interface ControllerCaOptions {
  /** The controller's namespace: home of the Secret and of the Service the certificate names. */
  readonly namespace: string
  /** Default {@link XDS_CA_SECRET}. */
  readonly secretName?: string
  /** The controller Service; default `envoy-gateway`. */
  readonly serviceName?: string
  /** More DNS names or IP addresses for the serving certificate. */
  readonly extraHosts?: ReadonlyArray<string>
  /** Default 3650 days. */
  readonly caLifetime?: Duration.Input
  /** Default 90 days. */
  readonly servingLifetime?: Duration.Input
  /** How often the Secret is read again and due rotations happen; default 10 minutes. */
  readonly refreshInterval?: Duration.Input
}

export class ControllerCaError extends Schema.TaggedError<ControllerCaError>()("ControllerCaError", {
  secret: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `xDS CA Secret ${this.secret}: ${this.reason}`
  }
}

export class ControllerCa extends Context.Service<
  ControllerCa,
  {
    /** The trust bundle (PEM) for the fleets' bootstrap ConfigMaps (EnvoyFleet's `xdsCaPem`). */
    readonly bundle: Effect.Effect<string>
    /** The serving certificate (chain: leaf only) and key, PEM. */
    readonly serving: Effect.Effect<TlsKeyPair>
    /** The serving pair now, then each new one (AdsServer's `tls.updates`). */
    readonly servingChanges: Stream.Stream<TlsKeyPair>
    /** The serving certificate's names. */
    readonly hosts: ReadonlyArray<string>
    /** Reads the Secret again and rotates what is due (the layer does it every refreshInterval). */
    readonly refresh: Effect.Effect<void, ControllerCaError>
  }
>()("portico/xds/ControllerCa") {
  static readonly layer = (options: ControllerCaOptions): Layer.Layer<ControllerCa, ControllerCaError, KubeClient> =>
    Layer.effect(ControllerCa, make(options))
}

// ---------------------------------------------------------------------------------------------
// Certificates

interface CaPair {
  readonly certPem: string
  readonly keyPem: string
  readonly fingerprint: string
  readonly notBefore: number
  readonly notAfter: number
}

interface CaSet {
  readonly current: CaPair
  readonly previous: CaPair | undefined
}

const HOUR_MS = 3_600_000
const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const

let library: Promise<typeof X509> | undefined
const x509Library = (): Promise<typeof X509> => {
  library ??= import("@peculiar/x509").then((x509) => {
    x509.cryptoProvider.set(webcrypto)
    return x509
  })
  return library
}

const pem = (label: string, der: ArrayBuffer): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd()}\n-----END ${label}-----\n`

/** PEM text ending in exactly one newline, so that PEMs concatenate into a valid bundle. */
const line = (text: string): string => `${text.trimEnd()}\n`

/** A positive random serial number (hex). */
const serial = (): string => `0${randomBytes(15).toString("hex")}`

/** A CA from PEM, or undefined unless it is a CA certificate whose key is this one. */
export const parseCa = (certPem: string, keyPem: string): CaPair | undefined => {
  try {
    const cert = new X509Certificate(certPem)
    if (!cert.ca || !cert.checkPrivateKey(createPrivateKey(keyPem))) return undefined
    return {
      certPem: line(certPem),
      keyPem: line(keyPem),
      fingerprint: cert.fingerprint256,
      notBefore: cert.validFromDate.getTime(),
      notAfter: cert.validToDate.getTime()
    }
  } catch {
    return undefined
  }
}

/** Less than a third of the validity left (or not valid at all). */
const due = (notBefore: number, notAfter: number, now: number): boolean =>
  now < notBefore || notAfter - now < (notAfter - notBefore) / 3

const newCa = async (now: number, lifetimeMs: number): Promise<CaPair> => {
  const x509 = await x509Library()
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=portico-xds-ca ${new Date(now).toISOString()},O=Portico`,
    notBefore: new Date(now - HOUR_MS),
    notAfter: new Date(now + lifetimeMs),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  const keyPem = pem("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey))
  const parsed = parseCa(cert.toString("pem"), keyPem)
  if (parsed === undefined) throw new Error("a freshly made CA does not parse")
  return parsed
}

interface Serving {
  readonly pair: TlsKeyPair
  readonly signer: string
  readonly notBefore: number
  readonly notAfter: number
}

const issueServing = async (
  signer: CaPair,
  hosts: ReadonlyArray<string>,
  now: number,
  lifetimeMs: number
): Promise<Serving> => {
  const x509 = await x509Library()
  const ca = new x509.X509Certificate(signer.certPem)
  const signingKey = await webcrypto.subtle.importKey(
    "pkcs8",
    createPrivateKey(signer.keyPem).export({ type: "pkcs8", format: "der" }),
    KEY_ALGORITHM,
    false,
    ["sign"]
  )
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"])
  const notBefore = Math.max(now - HOUR_MS, signer.notBefore)
  const notAfter = Math.min(now + lifetimeMs, signer.notAfter)
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hosts[0] ?? "portico-xds"}`,
    issuer: ca.subject,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((host) => (isIP(host) !== 0 ? { type: "ip", value: host } : { type: "dns", value: host }))
      ),
      await x509.AuthorityKeyIdentifierExtension.create(ca)
    ]
  })
  const keyPem = pem("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey))
  return { pair: { cert: line(cert.toString("pem")), key: keyPem }, signer: signer.fingerprint, notBefore, notAfter }
}

/** The replaced CA while it can still cover a whole serving lifetime, else the newest. */
const signerOf = (cas: CaSet, now: number, servingLifetimeMs: number): CaPair =>
  cas.previous !== undefined && cas.previous.notAfter - now > servingLifetimeMs ? cas.previous : cas.current

const bundleOf = (cas: CaSet, now: number): string =>
  cas.current.certPem + (cas.previous !== undefined && cas.previous.notAfter > now ? cas.previous.certPem : "")

// ---------------------------------------------------------------------------------------------
// The Secret

const StoredSecret = Schema.Struct({
  metadata: Schema.Struct({ resourceVersion: Schema.optionalKey(Schema.String) }),
  data: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
})

interface Stored {
  readonly resourceVersion: string
  /** Undefined when the Secret holds no usable CA. */
  readonly cas: CaSet | undefined
}

const fromBase64 = (value: string | undefined): string => Buffer.from(value ?? "", "base64").toString("utf8")
const toBase64 = (value: string): string => Buffer.from(value, "utf8").toString("base64")

const parseStored = (object: KubeObject): Stored => {
  const decoded = Schema.decodeUnknownOption(StoredSecret)(object)
  const data = Option.getOrUndefined(decoded)?.data ?? {}
  const current = parseCa(fromBase64(data[CA_CERT_KEY]), fromBase64(data[CA_KEY_KEY]))
  const previous = parseCa(fromBase64(data[PREVIOUS_CERT_KEY]), fromBase64(data[PREVIOUS_KEY_KEY]))
  return {
    resourceVersion: object.metadata.resourceVersion ?? "",
    cas: current === undefined ? undefined : { current, previous }
  }
}

const make = Effect.fnUntraced(function* (options: ControllerCaOptions) {
  const kube = yield* KubeClient
  const namespace = options.namespace
  const name = options.secretName ?? XDS_CA_SECRET
  const service = options.serviceName ?? CONTROLLER_SERVICE
  const hosts = [
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
    ...(options.extraHosts ?? [])
  ]
  const caLifetimeMs = Duration.toMillis(options.caLifetime ?? "3650 days")
  const servingLifetimeMs = Duration.toMillis(options.servingLifetime ?? "90 days")
  const refreshInterval = options.refreshInterval ?? "10 minutes"
  const creator = `${FIELD_MANAGER}-xds-ca-${randomBytes(4).toString("hex")}`
  const fail = (reason: string) => new ControllerCaError({ secret: `${namespace}/${name}`, reason })
  const generate = <A>(what: string, run: () => Promise<A>) =>
    Effect.tryPromise({ try: run, catch: (cause) => fail(`${what}: ${String(cause)}`) })

  const read = kube
    .get({ apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true }, { namespace, name })
    .pipe(
      Effect.map((object) => Option.some(parseStored(object))),
      Effect.catchIf(isNotFound, () => Effect.succeedNone),
      Effect.mapError((error) => fail(`read: ${error.message}`))
    )

  const write = (cas: CaSet, resourceVersion: string | undefined, now: number) =>
    kube
      .serverSideApply(
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: {
            name,
            namespace,
            labels: { "app.kubernetes.io/managed-by": "portico" },
            ...(resourceVersion === undefined ? {} : { resourceVersion })
          },
          type: "kubernetes.io/tls",
          data: {
            [CA_CERT_KEY]: toBase64(cas.current.certPem),
            [CA_KEY_KEY]: toBase64(cas.current.keyPem),
            [PREVIOUS_CERT_KEY]: toBase64(cas.previous?.certPem ?? ""),
            [PREVIOUS_KEY_KEY]: toBase64(cas.previous?.keyPem ?? ""),
            [BUNDLE_KEY]: toBase64(bundleOf(cas, now))
          }
        },
        // Create: our own field manager, no force (a concurrent creator makes it a 409).
        // Replace: the resourceVersion we read is the precondition.
        resourceVersion === undefined ? { fieldManager: creator, force: false } : { force: true }
      )
      .pipe(
        Effect.as(true),
        Effect.catchIf(isConflict, () => Effect.succeed(false)),
        Effect.mapError((error) => fail(`write: ${error.message}`))
      )

  /** The CAs the Secret holds after creating or rotating what is due; a few attempts against concurrent writers. */
  const ensureCas = Effect.fnUntraced(function* () {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = yield* Clock.currentTimeMillis
      const stored = Option.getOrUndefined(yield* read)
      const cas = stored?.cas
      if (cas !== undefined && !due(cas.current.notBefore, cas.current.notAfter, now)) return cas
      const fresh = yield* generate("new CA", () => newCa(now, caLifetimeMs))
      const keep = cas !== undefined && cas.current.notAfter > now ? cas.current : undefined
      const next: CaSet = { current: fresh, previous: keep }
      if (yield* write(next, stored?.resourceVersion, now)) {
        yield* Effect.logInfo(stored === undefined ? "created the xDS CA" : "rotated the xDS CA").pipe(
          Effect.annotateLogs({ secret: `${namespace}/${name}`, fingerprint: fresh.fingerprint })
        )
        return next
      }
    }
    return yield* fail("another writer kept changing the Secret")
  })

  interface State {
    readonly bundle: string
    readonly serving: Serving
  }

  const nextState = Effect.fnUntraced(function* (before: State | undefined) {
    const cas = yield* ensureCas()
    const now = yield* Clock.currentTimeMillis
    const signer = signerOf(cas, now, servingLifetimeMs)
    const current = before?.serving
    const reissue =
      current === undefined || current.signer !== signer.fingerprint || due(current.notBefore, current.notAfter, now)
    const serving = reissue
      ? yield* generate("serving certificate", () => issueServing(signer, hosts, now, servingLifetimeMs))
      : current
    if (reissue) {
      yield* Effect.logInfo("issued the xDS serving certificate").pipe(
        Effect.annotateLogs({ hosts: hosts.join(","), notAfter: new Date(serving.notAfter).toISOString() })
      )
    }
    return { bundle: bundleOf(cas, now), serving }
  })

  const state = yield* SubscriptionRef.make<State>(yield* nextState(undefined))
  const refresh = Effect.flatMap(SubscriptionRef.get(state), nextState).pipe(
    Effect.flatMap((next) => SubscriptionRef.set(state, next))
  )
  yield* Effect.sleep(refreshInterval).pipe(
    Effect.andThen(refresh),
    Effect.catch((error) => Effect.logWarning("xDS CA refresh failed; retrying later", error.message)),
    Effect.forever,
    Effect.forkScoped
  )

  return ControllerCa.of({
    bundle: Effect.map(SubscriptionRef.get(state), (s) => s.bundle),
    serving: Effect.map(SubscriptionRef.get(state), (s) => s.serving.pair),
    servingChanges: SubscriptionRef.changes(state).pipe(
      Stream.map((s) => s.serving.pair),
      Stream.changesWith((a, b) => a.cert === b.cert)
    ),
    hosts,
    refresh
  })
})
