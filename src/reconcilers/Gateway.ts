/**
 * Gateway reconciler: which Gateways are ours, their listeners (including
 * those of attached ListenerSets) validated and de-conflicted, and the
 * Gateway-level conditions. Route attachment is counted later. Pure.
 */
import { createHash } from "node:crypto"
import { isIP } from "node:net"
import type { Gateway } from "../api/gatewayapi/Gateway.ts"
import type { ListenerSet } from "../api/gatewayapi/ListenerSet.ts"
import { type Condition, ConditionType, makeCondition, Reason } from "../status/Conditions.ts"
import { type TlsCertificate, validateTlsSecret } from "./Certificates.ts"
import type { GatewayClassResult } from "./GatewayClass.ts"
import { matchesSelector } from "./LabelSelector.ts"
import { GATEWAY_GROUP, type ListenerContext, validateListenerGroups } from "./Listeners.ts"
import { isReferenceAllowed, normalizeGroup } from "./ReferenceGrants.ts"
import { key, namespaceOf, type ResourceSnapshot } from "./Snapshot.ts"

export interface ListenerSetContext {
  readonly object: ListenerSet
  readonly gatewayKey: string
  readonly accepted: boolean
  readonly conditions: ReadonlyArray<Condition>
  readonly listeners: ReadonlyArray<ListenerContext>
}

export interface GatewayContext {
  readonly gateway: Gateway
  readonly namespace: string
  readonly name: string
  readonly key: string
  /** The proxy fleet serving this Gateway: `envoy-<ns>-<name>-<8 hex of sha256("<ns>/<name>")>`. */
  readonly fleetName: string
  readonly accepted: boolean
  /** The Gateway's listeners, then those of accepted ListenerSets (precedence order). */
  readonly listeners: ReadonlyArray<ListenerContext>
  readonly listenerSets: ReadonlyArray<ListenerSetContext>
  readonly conditions: ReadonlyArray<Condition>
  readonly addresses: ReadonlyArray<{ readonly type: string; readonly value: string }>
  /** spec.tls.backend.clientCertificateRef, when it resolved to a valid certificate. */
  readonly backendClientCertificate?: TlsCertificate
}

export const fleetNameOf = (namespace: string, name: string): string =>
  `envoy-${namespace}-${name}-${createHash("sha256").update(`${namespace}/${name}`).digest("hex").slice(0, 8)}`

const SUPPORTED_ADDRESS_TYPES = new Set(["IPAddress", "Hostname"])

/** Namespace labels, with the label Kubernetes adds to every namespace. */
export const namespaceLabels = (snapshot: ResourceSnapshot, ns: string): { readonly [k: string]: string } => ({
  ...(snapshot.namespaces.get(ns)?.metadata.labels ?? {}),
  "kubernetes.io/metadata.name": ns
})

const byAge = (a: ListenerSet, b: ListenerSet): number => {
  const ta = a.metadata.creationTimestamp ?? ""
  const tb = b.metadata.creationTimestamp ?? ""
  if (ta !== tb) return ta < tb ? -1 : 1
  const ka = key(namespaceOf(a), a.metadata.name)
  const kb = key(namespaceOf(b), b.metadata.name)
  return ka < kb ? -1 : ka > kb ? 1 : 0
}

const listenerSetAllowed = (snapshot: ResourceSnapshot, gw: Gateway, ls: ListenerSet): boolean => {
  const allowed = gw.spec.allowedListeners?.namespaces
  const from = allowed?.from ?? "None"
  const lsNs = namespaceOf(ls)
  switch (from) {
    case "All":
      return true
    case "Same":
      return lsNs === namespaceOf(gw)
    case "Selector":
      return allowed?.selector !== undefined && matchesSelector(allowed.selector, namespaceLabels(snapshot, lsNs))
    default:
      return false
  }
}

const gatewayOfListenerSet = (ls: ListenerSet): { namespace: string; name: string } | undefined => {
  const ref = ls.spec.parentRef
  if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? "Gateway") !== "Gateway") return undefined
  return { namespace: ref.namespace ?? namespaceOf(ls), name: ref.name }
}

export interface GatewayResult {
  readonly gateways: ReadonlyArray<GatewayContext>
  /** ListenerSets whose parent Gateway is ours but that are not attached (not allowed). */
  readonly rejectedListenerSets: ReadonlyArray<ListenerSetContext>
}

export const reconcileGateways = (snapshot: ResourceSnapshot, classes: GatewayClassResult): GatewayResult => {
  const gateways: Array<GatewayContext> = []
  const rejectedListenerSets: Array<ListenerSetContext> = []
  const setsByGateway = new Map<string, Array<ListenerSet>>()
  for (const ls of snapshot.listenerSets) {
    const parent = gatewayOfListenerSet(ls)
    if (parent === undefined) continue
    const k = key(parent.namespace, parent.name)
    const arr = setsByGateway.get(k)
    if (arr === undefined) setsByGateway.set(k, [ls])
    else arr.push(ls)
  }
  for (const gw of snapshot.gateways) {
    if (!classes.ours.has(gw.spec.gatewayClassName)) continue
    const ctx = reconcileGateway(snapshot, classes, gw, setsByGateway.get(key(namespaceOf(gw), gw.metadata.name)) ?? [])
    gateways.push(ctx.gateway)
    rejectedListenerSets.push(...ctx.rejected)
  }
  return { gateways, rejectedListenerSets }
}

const reconcileGateway = (
  snapshot: ResourceSnapshot,
  classes: GatewayClassResult,
  gw: Gateway,
  sets: ReadonlyArray<ListenerSet>
): { gateway: GatewayContext; rejected: ReadonlyArray<ListenerSetContext> } => {
  const namespace = namespaceOf(gw)
  const name = gw.metadata.name
  const gen = gw.metadata.generation
  const allowedSets = [...sets].sort(byAge).filter((ls) => listenerSetAllowed(snapshot, gw, ls))
  const rejected = sets
    .filter((ls) => !allowedSets.includes(ls))
    .map(
      (ls): ListenerSetContext => ({
        object: ls,
        gatewayKey: key(namespace, name),
        accepted: false,
        listeners: [],
        conditions: [
          makeCondition(
            ConditionType.Accepted,
            "False",
            "NotAllowed",
            `Gateway ${namespace}/${name} does not allow ListenerSets from namespace ${namespaceOf(ls)} (spec.allowedListeners)`,
            ls.metadata.generation
          ),
          makeCondition(
            ConditionType.Programmed,
            "False",
            "NotAllowed",
            "ListenerSet is not attached to its Gateway",
            ls.metadata.generation
          )
        ]
      })
    )
  const groups = [
    {
      parent: { kind: "Gateway" as const, namespace, name, generation: gen },
      listeners: gw.spec.listeners
    },
    ...allowedSets.map((ls) => ({
      parent: {
        kind: "ListenerSet" as const,
        namespace: namespaceOf(ls),
        name: ls.metadata.name,
        generation: ls.metadata.generation
      },
      listeners: ls.spec.listeners
    }))
  ]
  const frontend = gw.spec.tls?.frontend
  const listeners = validateListenerGroups(
    snapshot,
    { namespace, name, ...(frontend === undefined ? {} : { frontend }) },
    groups
  )
  const own = listeners.filter((l) => l.parent.kind === "Gateway")
  const listenerSets = allowedSets.map((ls) => listenerSetContext(ls, key(namespace, name), listeners))

  const conditions: Array<Condition> = []
  const addresses: Array<{ type: string; value: string }> = []
  let unusableReason: string | undefined
  let acceptedFailure: { reason: string; message: string } | undefined
  if (!classes.accepted.has(gw.spec.gatewayClassName)) {
    acceptedFailure = { reason: Reason.Invalid, message: `GatewayClass ${gw.spec.gatewayClassName} is not accepted` }
  }
  const params = gw.spec.infrastructure?.parametersRef
  if (acceptedFailure === undefined && params !== undefined) {
    acceptedFailure = {
      reason: Reason.InvalidParameters,
      message: `infrastructure.parametersRef ${params.group === "" ? "" : `${params.group}/`}${params.kind} ${params.name} is not supported or does not exist`
    }
  }
  for (const a of gw.spec.addresses ?? []) {
    const type = a.type ?? "IPAddress"
    if (acceptedFailure === undefined && !SUPPORTED_ADDRESS_TYPES.has(type)) {
      acceptedFailure = {
        reason: Reason.UnsupportedAddress,
        message: `address type ${type} is not supported; use IPAddress or Hostname`
      }
    } else if (acceptedFailure === undefined && type === "IPAddress" && a.value !== undefined && isIP(a.value) === 0) {
      acceptedFailure = { reason: Reason.UnsupportedAddress, message: `address ${a.value} is not a valid IP address` }
    } else if (a.value !== undefined && a.value !== "") {
      addresses.push({ type, value: a.value })
      if (type === "IPAddress" && unusableReason === undefined) unusableReason = unusableAddress(a.value)
    }
  }
  const invalid = own.filter((l) => !l.accepted || !l.programmed)
  const rejectedListeners = own.filter((l) => !l.accepted)
  if (acceptedFailure === undefined && own.length > 0 && rejectedListeners.length === own.length) {
    acceptedFailure = {
      reason: Reason.ListenersNotValid,
      message: `no valid listener: ${invalid.map((l) => l.name).join(", ")}`
    }
  }
  const accepted = acceptedFailure === undefined
  if (acceptedFailure !== undefined) {
    conditions.push(
      makeCondition(ConditionType.Accepted, "False", acceptedFailure.reason, acceptedFailure.message, gen)
    )
    conditions.push(makeCondition(ConditionType.Programmed, "False", Reason.Invalid, acceptedFailure.message, gen))
  } else {
    conditions.push(
      invalid.length > 0
        ? makeCondition(
            ConditionType.Accepted,
            "True",
            Reason.ListenersNotValid,
            `Gateway accepted; invalid listeners: ${invalid.map((l) => l.name).join(", ")}`,
            gen
          )
        : makeCondition(ConditionType.Accepted, "True", Reason.Accepted, "Gateway is accepted", gen)
    )
    const anyProgrammed = listeners.some((l) => l.programmed)
    conditions.push(
      unusableReason !== undefined
        ? makeCondition(ConditionType.Programmed, "False", Reason.AddressNotUsable, unusableReason, gen)
        : anyProgrammed
          ? makeCondition(ConditionType.Programmed, "True", Reason.Programmed, "Gateway is programmed", gen)
          : makeCondition(ConditionType.Programmed, "False", Reason.Invalid, "no listener can be programmed", gen)
    )
  }
  const backendTls = backendClientCertificate(snapshot, gw)
  conditions.push(backendTls.condition)
  if (frontendModes(gw).includes("AllowInsecureFallback")) {
    conditions.push(
      makeCondition(
        "InsecureFrontendValidationMode",
        "True",
        "ConfigurationChanged",
        "client certificate validation allows connections without a valid certificate (AllowInsecureFallback)",
        gen
      )
    )
  }
  return {
    gateway: {
      gateway: gw,
      namespace,
      name,
      key: key(namespace, name),
      fleetName: fleetNameOf(namespace, name),
      accepted,
      listeners: accepted ? listeners : listeners.map((l) => notProgrammed(l, acceptedFailure?.message ?? "")),
      listenerSets,
      conditions,
      addresses: accepted ? addresses : [],
      ...(backendTls.certificate === undefined ? {} : { backendClientCertificate: backendTls.certificate })
    },
    rejected
  }
}

/** A listener of a Gateway that is not accepted: never programmed, whatever its own validity. */
const notProgrammed = (l: ListenerContext, why: string): ListenerContext =>
  !l.programmed
    ? l
    : {
        ...l,
        programmed: false,
        conditions: l.conditions.map((c) =>
          c.type === ConditionType.Programmed
            ? makeCondition(
                ConditionType.Programmed,
                "False",
                Reason.Invalid,
                `the Gateway is not accepted: ${why}`,
                c.observedGeneration
              )
            : c
        )
      }

const frontendModes = (gw: Gateway): ReadonlyArray<string> => {
  const f = gw.spec.tls?.frontend
  if (f === undefined) return []
  return [f.default.validation?.mode, ...(f.perPort ?? []).map((p) => p.tls.validation?.mode)].filter(
    (m): m is NonNullable<typeof m> => m !== undefined
  )
}

/**
 * Why a static IP address can never be assigned to a Gateway (unspecified,
 * multicast or broadcast), if it cannot.
 */
export const unusableAddress = (ip: string): string | undefined => {
  if (ip === "0.0.0.0" || ip === "::") return `address ${ip} is the unspecified address and cannot be assigned`
  if (ip === "255.255.255.255") return `address ${ip} is the broadcast address and cannot be assigned`
  const first = Number(ip.split(".")[0])
  if (isIP(ip) === 4 && first >= 224 && first <= 239)
    return `address ${ip} is a multicast address and cannot be assigned`
  if (isIP(ip) === 6 && ip.toLowerCase().startsWith("ff"))
    return `address ${ip} is a multicast address and cannot be assigned`
  return undefined
}

const listenerSetContext = (
  ls: ListenerSet,
  gatewayKey: string,
  all: ReadonlyArray<ListenerContext>
): ListenerSetContext => {
  const mine = all.filter(
    (l) =>
      l.parent.kind === "ListenerSet" && l.parent.namespace === namespaceOf(ls) && l.parent.name === ls.metadata.name
  )
  const gen = ls.metadata.generation
  // A ListenerSet needs at least one listener that is accepted and has every reference resolved.
  const valid = mine.filter((l) => l.accepted && l.programmed)
  const accepted = valid.length > 0
  const invalidNames = mine.filter((l) => !(l.accepted && l.programmed)).map((l) => l.name)
  return {
    object: ls,
    gatewayKey,
    accepted,
    listeners: mine,
    conditions: accepted
      ? [
          invalidNames.length > 0
            ? makeCondition(
                ConditionType.Accepted,
                "True",
                Reason.ListenersNotValid,
                `ListenerSet accepted; invalid listeners: ${invalidNames.join(", ")}`,
                gen
              )
            : makeCondition(ConditionType.Accepted, "True", Reason.Accepted, "ListenerSet is accepted", gen),
          makeCondition(ConditionType.Programmed, "True", Reason.Programmed, "ListenerSet is programmed", gen)
        ]
      : [
          makeCondition(
            ConditionType.Accepted,
            "False",
            Reason.ListenersNotValid,
            `no valid listener: ${invalidNames.join(", ")}`,
            gen
          ),
          makeCondition(ConditionType.Programmed, "False", Reason.ListenersNotValid, "no valid listener", gen)
        ]
  }
}

/** Gateway-level ResolvedRefs: the client certificate the Gateway presents to TLS backends. */
const backendClientCertificate = (
  snapshot: ResourceSnapshot,
  gw: Gateway
): { readonly condition: Condition; readonly certificate?: TlsCertificate } => {
  const gen = gw.metadata.generation
  const resolved = makeCondition(
    ConditionType.ResolvedRefs,
    "True",
    Reason.ResolvedRefs,
    "All references are resolved",
    gen
  )
  const ref = gw.spec.tls?.backend?.clientCertificateRef
  if (ref === undefined) return { condition: resolved }
  const ns = ref.namespace ?? namespaceOf(gw)
  const group = normalizeGroup(ref.group)
  const kind = ref.kind ?? "Secret"
  const fail = (reason: string, message: string) => ({
    condition: makeCondition(ConditionType.ResolvedRefs, "False", reason, message, gen)
  })
  if (group !== "" || kind !== "Secret") {
    return fail("InvalidClientCertificateRef", `clientCertificateRef must name a core Secret, not ${group}/${kind}`)
  }
  if (
    !isReferenceAllowed(
      snapshot,
      { group: GATEWAY_GROUP, kind: "Gateway", namespace: namespaceOf(gw) },
      { group: "", kind: "Secret", namespace: ns, name: ref.name }
    )
  ) {
    return fail(
      Reason.RefNotPermitted,
      `clientCertificateRef to Secret ${ns}/${ref.name} is not permitted by any ReferenceGrant`
    )
  }
  const secret = snapshot.secrets.get(key(ns, ref.name))
  if (secret === undefined) return fail("InvalidClientCertificateRef", `Secret ${ns}/${ref.name} does not exist`)
  const checked = validateTlsSecret(secret)
  if (!checked.ok) return fail("InvalidClientCertificateRef", checked.message)
  return { condition: resolved, certificate: checked.certificate }
}
