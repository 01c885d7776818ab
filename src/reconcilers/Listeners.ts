/**
 * Listener validation shared by Gateways and ListenerSets: protocol, route
 * kinds, TLS certificate references, and conflicts between listeners. Pure.
 */
import { isIP } from "node:net"
import type { FrontendTLSConfig, Listener } from "../api/gatewayapi/Gateway.ts"
import { type Condition, ConditionType, makeCondition, Reason } from "../status/Conditions.ts"
import { type TlsCertificate, validateCaConfigMap, validateCaSecret, validateTlsSecret } from "./Certificates.ts"
import type { LabelSelector } from "./LabelSelector.ts"
import { isReferenceAllowed, normalizeGroup } from "./ReferenceGrants.ts"
import { key, type ResourceSnapshot } from "./Snapshot.ts"

export const GATEWAY_GROUP = "gateway.networking.k8s.io"

export interface RouteGroupKind {
  readonly group: string
  readonly kind: string
}

export type ParentKind = "Gateway" | "ListenerSet"

export interface ListenerParent {
  readonly kind: ParentKind
  readonly namespace: string
  readonly name: string
  readonly generation: number
}

/** One validated listener, of a Gateway or of a ListenerSet attached to it. */
export interface ListenerContext {
  /** Unique: `<parent kind>/<namespace>/<parent name>/<listener name>`. */
  readonly id: string
  /** The xDS name of the listener: `<gw-ns>/<gw>/<listener>` (ListenerSet: `<gw-ns>/<gw>/<ls-ns>/<ls>/<listener>`). */
  readonly xdsName: string
  readonly gatewayKey: string
  readonly parent: ListenerParent
  readonly name: string
  readonly port: number
  readonly protocol: string
  /** undefined = any hostname (also for TCP and UDP, which ignore it). */
  readonly hostname: string | undefined
  readonly tlsMode: "Terminate" | "Passthrough" | undefined
  readonly certificates: ReadonlyArray<TlsCertificate>
  /** Client certificate validation (spec.tls.frontend) for this listener's port, when it terminates TLS. */
  readonly clientValidation?: ClientValidation
  readonly supportedKinds: ReadonlyArray<RouteGroupKind>
  readonly allowedNamespaces: { readonly from: string; readonly selector?: LabelSelector }
  /** Accepted=True: a supported, non-conflicted listener. */
  readonly accepted: boolean
  /** Programmed=True: accepted with every reference resolved; only these reach the data plane. */
  readonly programmed: boolean
  /** Conditions, attachedRoutes aside (it depends on routes). */
  readonly conditions: ReadonlyArray<Condition>
}

export interface ClientValidation {
  /** `kind/namespace/name` of each CA bundle. */
  readonly caCertificateRefs: ReadonlyArray<string>
  /** The CA certificates (PEM, concatenated) client certificates must chain to. */
  readonly caBundle: string
  readonly mode: "AllowValidOnly" | "AllowInsecureFallback"
}

const SUPPORTED_PROTOCOLS = new Set(["HTTP", "HTTPS", "TLS", "TCP", "UDP"])

/** Route kinds a listener can carry, by protocol and TLS mode. */
export const kindsForProtocol = (protocol: string, tlsMode: string | undefined): ReadonlyArray<string> => {
  switch (protocol) {
    case "HTTP":
    case "HTTPS":
      return ["HTTPRoute", "GRPCRoute"]
    case "TLS":
      return tlsMode === "Terminate" ? ["TLSRoute", "TCPRoute"] : ["TLSRoute"]
    case "TCP":
      return ["TCPRoute"]
    case "UDP":
      return ["UDPRoute"]
    default:
      return []
  }
}

interface Draft {
  readonly listener: Listener
  readonly parent: ListenerParent
  readonly protocolSupported: boolean
  readonly acceptedFailure?: { readonly reason: string; readonly message: string }
  readonly refsFailure?: { readonly reason: string; readonly message: string }
  readonly supportedKinds: ReadonlyArray<RouteGroupKind>
  readonly certificates: ReadonlyArray<TlsCertificate>
  readonly clientValidation?: ClientValidation
  readonly tlsMode: "Terminate" | "Passthrough" | undefined
  readonly hostname: string | undefined
}

const validateKinds = (
  l: Listener,
  tlsMode: string | undefined
): { kinds: ReadonlyArray<RouteGroupKind>; invalid: ReadonlyArray<string> } => {
  const allowed = kindsForProtocol(l.protocol, tlsMode)
  const requested = l.allowedRoutes?.kinds
  if (requested === undefined) return { kinds: allowed.map((kind) => ({ group: GATEWAY_GROUP, kind })), invalid: [] }
  const kinds: Array<RouteGroupKind> = []
  const invalid: Array<string> = []
  for (const k of requested) {
    const group = k.group ?? GATEWAY_GROUP
    if (group === GATEWAY_GROUP && allowed.includes(k.kind)) {
      if (!kinds.some((x) => x.kind === k.kind)) kinds.push({ group, kind: k.kind })
    } else invalid.push(group === "" ? k.kind : `${group}/${k.kind}`)
  }
  return { kinds, invalid }
}

const validateCertificates = (
  snapshot: ResourceSnapshot,
  parent: ListenerParent,
  l: Listener
): { certificates: ReadonlyArray<TlsCertificate>; failure?: { reason: string; message: string } } => {
  const refs = l.tls?.certificateRefs ?? []
  if (refs.length === 0) {
    return {
      certificates: [],
      failure: {
        reason: Reason.InvalidCertificateRef,
        message: `listener ${l.name} terminates TLS but has no certificateRefs`
      }
    }
  }
  const certificates: Array<TlsCertificate> = []
  for (const ref of refs) {
    const group = normalizeGroup(ref.group)
    const kind = ref.kind ?? "Secret"
    const ns = ref.namespace ?? parent.namespace
    const desc = `${kind} ${ns}/${ref.name}`
    if (group !== "" || kind !== "Secret") {
      return {
        certificates,
        failure: {
          reason: Reason.InvalidCertificateRef,
          message: `certificateRef ${group === "" ? "" : `${group}/`}${desc} is not supported: only core Secrets hold certificates`
        }
      }
    }
    if (
      !isReferenceAllowed(
        snapshot,
        { group: GATEWAY_GROUP, kind: parent.kind, namespace: parent.namespace },
        { group: "", kind: "Secret", namespace: ns, name: ref.name }
      )
    ) {
      return {
        certificates,
        failure: {
          reason: Reason.RefNotPermitted,
          message: `certificateRef to Secret ${ns}/${ref.name} is not permitted by any ReferenceGrant in namespace ${ns}`
        }
      }
    }
    const secret = snapshot.secrets.get(key(ns, ref.name))
    if (secret === undefined) {
      return {
        certificates,
        failure: { reason: Reason.InvalidCertificateRef, message: `Secret ${ns}/${ref.name} does not exist` }
      }
    }
    const result = validateTlsSecret(secret)
    if (!result.ok) return { certificates, failure: { reason: Reason.InvalidCertificateRef, message: result.message } }
    certificates.push(result.certificate)
  }
  return { certificates }
}

/** The frontend validation that applies to a port: its perPort entry, else the default. */
const validationFor = (frontend: FrontendTLSConfig | undefined, port: number) => {
  if (frontend === undefined) return undefined
  const perPort = frontend.perPort?.find((p) => p.port === port)
  return perPort !== undefined ? perPort.tls.validation : frontend.default.validation
}

const validateClientCas = (
  snapshot: ResourceSnapshot,
  gateway: { readonly namespace: string },
  validation: NonNullable<ReturnType<typeof validationFor>>
): { readonly validation: ClientValidation } | { readonly failure: { reason: string; message: string } } => {
  const refs: Array<string> = []
  const pems: Array<string> = []
  for (const ref of validation.caCertificateRefs) {
    const group = normalizeGroup(ref.group)
    const ns = ref.namespace ?? gateway.namespace
    if (group !== "" || (ref.kind !== "ConfigMap" && ref.kind !== "Secret")) {
      return {
        failure: {
          reason: Reason.InvalidCACertificateKind,
          message: `caCertificateRef ${group === "" ? "" : `${group}/`}${ref.kind} ${ns}/${ref.name} is not supported; use a ConfigMap or Secret`
        }
      }
    }
    if (
      !isReferenceAllowed(
        snapshot,
        { group: GATEWAY_GROUP, kind: "Gateway", namespace: gateway.namespace },
        { group: "", kind: ref.kind, namespace: ns, name: ref.name }
      )
    ) {
      return {
        failure: {
          reason: Reason.RefNotPermitted,
          message: `caCertificateRef to ${ref.kind} ${ns}/${ref.name} is not permitted by any ReferenceGrant in namespace ${ns}`
        }
      }
    }
    const checked =
      ref.kind === "ConfigMap"
        ? (() => {
            const cm = snapshot.configMaps.get(key(ns, ref.name))
            return cm === undefined
              ? { ok: false as const, message: `ConfigMap ${ns}/${ref.name} does not exist` }
              : validateCaConfigMap(cm)
          })()
        : (() => {
            const secret = snapshot.secrets.get(key(ns, ref.name))
            return secret === undefined
              ? { ok: false as const, message: `Secret ${ns}/${ref.name} does not exist` }
              : validateCaSecret(secret)
          })()
    if (!checked.ok) return { failure: { reason: Reason.InvalidCACertificateRef, message: checked.message } }
    refs.push(`${ref.kind}/${ns}/${ref.name}`)
    pems.push(checked.pem.trim())
  }
  return {
    validation: { caCertificateRefs: refs, caBundle: `${pems.join("\n")}\n`, mode: validation.mode ?? "AllowValidOnly" }
  }
}

const draftListener = (
  snapshot: ResourceSnapshot,
  parent: ListenerParent,
  l: Listener,
  gateway: { readonly namespace: string; readonly frontend?: FrontendTLSConfig }
): Draft => {
  const protocolSupported = SUPPORTED_PROTOCOLS.has(l.protocol)
  const terminatesTls = l.protocol === "HTTPS" || (l.protocol === "TLS" && (l.tls?.mode ?? "Terminate") === "Terminate")
  const tlsMode: "Terminate" | "Passthrough" | undefined =
    l.protocol === "HTTPS" || l.protocol === "TLS" ? (l.tls?.mode ?? "Terminate") : undefined
  const hostname = l.protocol === "TCP" || l.protocol === "UDP" ? undefined : (l.hostname ?? undefined)
  const { kinds, invalid } = validateKinds(l, tlsMode)
  let acceptedFailure: { reason: string; message: string } | undefined
  if (!protocolSupported) {
    acceptedFailure = {
      reason: Reason.UnsupportedProtocol,
      message: `protocol ${l.protocol} is not supported; use HTTP, HTTPS, TLS, TCP or UDP`
    }
  } else if (l.protocol === "HTTPS" && tlsMode === "Passthrough") {
    acceptedFailure = {
      reason: Reason.UnsupportedValue,
      message: "HTTPS listeners terminate TLS; use protocol TLS for passthrough"
    }
  } else if (hostname !== undefined && isIP(hostname) !== 0) {
    acceptedFailure = {
      reason: Reason.UnsupportedValue,
      message: `hostname ${hostname} is an IP address; listener hostnames must be DNS names`
    }
  } else if ((l.protocol === "HTTPS" || l.protocol === "TLS") && l.tls === undefined) {
    acceptedFailure = { reason: Reason.UnsupportedValue, message: `${l.protocol} listeners need a tls configuration` }
  }
  let refsFailure: { reason: string; message: string } | undefined
  let certificates: ReadonlyArray<TlsCertificate> = []
  if (invalid.length > 0) {
    refsFailure = {
      reason: Reason.InvalidRouteKinds,
      message: `route kinds ${invalid.join(", ")} are not supported on a ${l.protocol} listener`
    }
  }
  let clientValidation: ClientValidation | undefined
  if (protocolSupported && terminatesTls && l.tls !== undefined && acceptedFailure === undefined) {
    const certs = validateCertificates(snapshot, parent, l)
    certificates = certs.certificates
    if (certs.failure !== undefined && refsFailure === undefined) refsFailure = certs.failure
    const validation = validationFor(gateway.frontend, l.port)
    if (validation !== undefined) {
      const cas = validateClientCas(snapshot, gateway, validation)
      if ("failure" in cas) {
        if (refsFailure === undefined) refsFailure = cas.failure
        if (acceptedFailure === undefined) {
          acceptedFailure = { reason: Reason.NoValidCACertificate, message: cas.failure.message }
        }
      } else clientValidation = cas.validation
    }
  }
  return {
    listener: l,
    parent,
    protocolSupported,
    supportedKinds: protocolSupported ? kinds : [],
    certificates,
    ...(clientValidation === undefined ? {} : { clientValidation }),
    tlsMode,
    hostname,
    ...(acceptedFailure === undefined ? {} : { acceptedFailure }),
    ...(refsFailure === undefined ? {} : { refsFailure })
  }
}

type Family = "http" | "tls" | "tcp" | "udp"
const familyOf = (protocol: string): Family | undefined =>
  protocol === "HTTP"
    ? "http"
    : protocol === "HTTPS" || protocol === "TLS"
      ? "tls"
      : protocol === "TCP"
        ? "tcp"
        : protocol === "UDP"
          ? "udp"
          : undefined

/** Why `a` and `b` cannot both be accepted, if they cannot. */
const conflictBetween = (a: Draft, b: Draft): string | undefined => {
  if (a.listener.port !== b.listener.port) return undefined
  const fa = familyOf(a.listener.protocol)
  const fb = familyOf(b.listener.protocol)
  if (fa === undefined || fb === undefined) return undefined
  if ((fa === "udp") !== (fb === "udp")) return undefined // different transports share a port number
  if (fa !== fb) return Reason.ProtocolConflict
  if (fa === "tcp" || fa === "udp") return Reason.HostnameConflict
  return (a.hostname ?? "") === (b.hostname ?? "") ? Reason.HostnameConflict : undefined
}

const describe = (d: Draft): string =>
  `${d.parent.kind === "ListenerSet" ? `ListenerSet ${d.parent.namespace}/${d.parent.name} ` : ""}listener ${d.listener.name} (${d.listener.protocol} :${d.listener.port}${d.hostname === undefined ? "" : ` ${d.hostname}`})`

/**
 * Validates groups of listeners in precedence order (the Gateway's own first,
 * then each ListenerSet, oldest first). Within a group every indistinct
 * listener is rejected (no winner); a listener of a later group is rejected
 * when it conflicts with an accepted listener of an earlier group.
 */
export const validateListenerGroups = (
  snapshot: ResourceSnapshot,
  gateway: { readonly namespace: string; readonly name: string; readonly frontend?: FrontendTLSConfig },
  groups: ReadonlyArray<{ readonly parent: ListenerParent; readonly listeners: ReadonlyArray<Listener> }>
): ReadonlyArray<ListenerContext> => {
  const accepted: Array<Draft> = []
  const out: Array<ListenerContext> = []
  for (const group of groups) {
    const drafts = group.listeners.map((l) => draftListener(snapshot, group.parent, l, gateway))
    const conflicts = new Map<Draft, { reason: string; message: string }>()
    // First against the accepted listeners of earlier (higher-precedence) parents ...
    for (const d of drafts) {
      if (!d.protocolSupported) continue
      for (const prior of accepted) {
        const reason = conflictBetween(d, prior)
        if (reason !== undefined) {
          conflicts.set(d, { reason, message: `${describe(d)} conflicts with ${describe(prior)}` })
          break
        }
      }
    }
    // ... then, among the rest, every indistinct pair within this parent (no winner).
    const conflictsWithEarlier = new Set(conflicts.keys())
    for (const d of drafts) {
      if (!d.protocolSupported || conflicts.has(d)) continue
      for (const other of drafts) {
        if (other === d || !other.protocolSupported || conflictsWithEarlier.has(other)) continue
        const reason = conflictBetween(d, other)
        if (reason !== undefined) {
          conflicts.set(d, { reason, message: `${describe(d)} conflicts with ${describe(other)}` })
          break
        }
      }
    }
    for (const d of drafts) {
      const ctx = finalize(gateway, d, conflicts.get(d))
      if (ctx.accepted) accepted.push(d)
      out.push(ctx)
    }
  }
  return out
}

const finalize = (
  gateway: { readonly namespace: string; readonly name: string },
  d: Draft,
  conflict: { reason: string; message: string } | undefined
): ListenerContext => {
  const gen = d.parent.generation
  const l = d.listener
  const acceptedFailure = d.acceptedFailure ?? conflict
  const accepted = acceptedFailure === undefined
  // Unsupported route kinds alone do not stop a listener: it still serves the kinds it supports.
  const refsBlock =
    d.refsFailure !== undefined && !(d.refsFailure.reason === Reason.InvalidRouteKinds && d.supportedKinds.length > 0)
  const programmed = accepted && !refsBlock
  const conditions: Array<Condition> = [
    accepted
      ? makeCondition(ConditionType.Accepted, "True", Reason.Accepted, "Listener is valid", gen)
      : makeCondition(ConditionType.Accepted, "False", acceptedFailure.reason, acceptedFailure.message, gen),
    programmed
      ? makeCondition(ConditionType.Programmed, "True", Reason.Programmed, "Listener is programmed", gen)
      : conflict !== undefined
        ? makeCondition(ConditionType.Programmed, "False", conflict.reason, conflict.message, gen)
        : makeCondition(
            ConditionType.Programmed,
            "False",
            Reason.Invalid,
            (acceptedFailure ?? d.refsFailure)?.message ?? "Listener is invalid",
            gen
          ),
    d.refsFailure === undefined
      ? makeCondition(ConditionType.ResolvedRefs, "True", Reason.ResolvedRefs, "All references are resolved", gen)
      : makeCondition(ConditionType.ResolvedRefs, "False", d.refsFailure.reason, d.refsFailure.message, gen),
    conflict === undefined
      ? makeCondition(ConditionType.Conflicted, "False", Reason.NoConflicts, "No conflicts", gen)
      : makeCondition(ConditionType.Conflicted, "True", conflict.reason, conflict.message, gen)
  ]
  const parentPath = d.parent.kind === "ListenerSet" ? `${d.parent.namespace}/${d.parent.name}/` : ""
  const ns = l.allowedRoutes?.namespaces
  return {
    id: `${d.parent.kind}/${d.parent.namespace}/${d.parent.name}/${l.name}`,
    xdsName: `${gateway.namespace}/${gateway.name}/${parentPath}${l.name}`,
    gatewayKey: key(gateway.namespace, gateway.name),
    parent: d.parent,
    name: l.name,
    port: l.port,
    protocol: l.protocol,
    hostname: d.hostname,
    tlsMode: d.tlsMode,
    certificates: d.certificates,
    ...(d.clientValidation === undefined ? {} : { clientValidation: d.clientValidation }),
    supportedKinds: d.supportedKinds,
    allowedNamespaces: {
      from: ns?.from ?? "Same",
      ...(ns?.selector === undefined ? {} : { selector: ns.selector })
    },
    accepted,
    programmed,
    conditions
  }
}
