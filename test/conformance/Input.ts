/**
 * The translate input of one conformance test, built the way the suite applies
 * it to a cluster: the suite's GatewayClass, the base manifests, the resources
 * the suite creates programmatically (certificates), then the test's manifests
 * in order, with the suite's substitutions (setup.manifestApply).
 */
import { DEFAULT_CONTROLLER_NAME } from "../../src/reconcilers/Translate.ts"
import {
  caConfigMap,
  certificateAuthority,
  selfSignedCertificate,
  signedCertificate,
  type TlsKeyPair,
  tlsSecret
} from "../support/certs.ts"
import { gatewayApiFile } from "../support/gatewayApiDir.ts"
import { type JsonObject, readManifests } from "../support/manifests.ts"
import { type ConformanceTest, loadExpectations, type ProgrammaticResource } from "./Expectations.ts"
import { arr, isRec, type Rec, rec, str, WorkingSet } from "./Objects.ts"

/** The suite's GatewayClass ({GATEWAY_CLASS_NAME}). */
export const SUITE_GATEWAY_CLASS = "portico"
/** Our controllerName ({GATEWAY_CONTROLLER_NAME}); every route parent status must carry it. */
export const CONTROLLER_NAME = DEFAULT_CONTROLLER_NAME

/**
 * The suite's address pools, substituted for PLACEHOLDER_USABLE_ADDRS and
 * PLACEHOLDER_UNUSABLE_ADDRS (only GatewayStaticAddresses uses them; it assumes
 * one of each). translate has no pool of assignable addresses, so the choice
 * must be decidable from the address alone:
 * - usable: an ordinary IPv4 address (TEST-NET-1), which translate must accept
 *   and consider assignable;
 * - unusable: the IPv4 unspecified address 0.0.0.0 — a well-formed IPAddress
 *   (so the Gateway stays Accepted) that can never be assigned to a Gateway
 *   (so Programmed=False/AddressNotUsable).
 */
export const USABLE_ADDRESSES: ReadonlyArray<JsonObject> = [{ type: "IPAddress", value: "192.0.2.10" }]
export const UNUSABLE_ADDRESSES: ReadonlyArray<JsonObject> = [{ type: "IPAddress", value: "0.0.0.0" }]

export const suiteGatewayClass = (): Rec => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GatewayClass",
  metadata: { name: SUITE_GATEWAY_CLASS },
  spec: { controllerName: CONTROLLER_NAME }
})

const substitutePlaceholders = (u: unknown): unknown => {
  if (typeof u === "string") {
    return u
      .replaceAll("{GATEWAY_CLASS_NAME}", SUITE_GATEWAY_CLASS)
      .replaceAll("{GATEWAY_CONTROLLER_NAME}", CONTROLLER_NAME)
  }
  if (Array.isArray(u)) return u.map(substitutePlaceholders)
  if (isRec(u)) return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, substitutePlaceholders(v)]))
  return u
}

const expandAddresses = (addresses: unknown): Array<unknown> =>
  arr(addresses).flatMap((a) => {
    const value = str(rec(a)?.value)
    if (value === "PLACEHOLDER_USABLE_ADDRS") return structuredClone([...USABLE_ADDRESSES])
    if (value === "PLACEHOLDER_UNUSABLE_ADDRS") return structuredClone([...UNUSABLE_ADDRESSES])
    return [a]
  })

/** setup.manifestApply: placeholders, the suite's class on every Gateway, our controller on every GatewayClass. */
export const prepareManifestObject = (obj: unknown): Rec => {
  const out = substitutePlaceholders(obj)
  if (!isRec(out)) throw new Error("manifest object is not a mapping")
  const spec = rec(out.spec)
  if (out.kind === "Gateway" && spec !== undefined) {
    spec.gatewayClassName = SUITE_GATEWAY_CLASS
    if (spec.addresses !== undefined) spec.addresses = expandAddresses(spec.addresses)
  }
  if (out.kind === "GatewayClass" && spec !== undefined) spec.controllerName = CONTROLLER_NAME
  return out
}

const listOf = (text: string): ReadonlyArray<string> =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")

type Material = { readonly secret: TlsKeyPair } | { readonly ca: string }

/** Interprets a programmaticResources `content` description. */
const materialFor = async (content: string): Promise<Material> => {
  const selfSigned = /^self-signed cert for hosts \[(.*)\]$/.exec(content)
  if (selfSigned !== null) return { secret: await selfSignedCertificate(listOf(selfSigned[1] ?? "")) }
  const ca = /^(.+?) \(ca\.crt\)$/.exec(content)
  if (ca !== null) return { ca: (await certificateAuthority(ca[1] ?? "")).certPem }
  const client = /^client cert signed by (.+)$/.exec(content)
  if (client !== null) return { secret: await signedCertificate(client[1] ?? "", [], "client") }
  const server = /^cert signed by (.+?) for \[(.*)\]$/.exec(content)
  if (server !== null) return { secret: await signedCertificate(server[1] ?? "", listOf(server[2] ?? ""), "server") }
  throw new Error(`programmaticResources: cannot interpret content "${content}"`)
}

const programmaticObject = async (resource: ProgrammaticResource): Promise<JsonObject> => {
  const material = await materialFor(resource.content)
  const where = `programmaticResources ${resource.kind} ${resource.namespace}/${resource.name}`
  if ("ca" in material) {
    if (resource.kind !== "ConfigMap") throw new Error(`${where}: a CA is published as a ConfigMap`)
    return caConfigMap(resource.namespace, resource.name, material.ca)
  }
  if (resource.kind !== "Secret") throw new Error(`${where}: a certificate is published as a Secret`)
  return tlsSecret(resource.namespace, resource.name, material.secret)
}

let programmatic: Promise<ReadonlyArray<JsonObject>> | undefined

/** The suite's programmatic resources (certificates), generated once per process. */
export const programmaticResources = (): Promise<ReadonlyArray<JsonObject>> => {
  if (programmatic === undefined) {
    programmatic = Promise.all(loadExpectations().programmaticResources.map(programmaticObject))
  }
  return programmatic
}

/** The objects of a manifest file relative to conformance/, as parsed (do not mutate). */
export const conformanceManifest = (relativePath: string): ReadonlyArray<JsonObject> =>
  readManifests(gatewayApiFile("conformance", relativePath))

/** The suite's objects before any test manifest: GatewayClass, base manifests, programmatic resources. */
export const applySetup = async (set: WorkingSet): Promise<void> => {
  set.apply(suiteGatewayClass())
  for (const obj of conformanceManifest(loadExpectations().baseManifests)) set.apply(prepareManifestObject(obj))
  for (const obj of await programmaticResources()) set.apply(prepareManifestObject(obj))
}

/** The working set of `test` before its first mutation. */
export const initialWorkingSet = async (test: ConformanceTest): Promise<WorkingSet> => {
  const set = new WorkingSet()
  await applySetup(set)
  for (const manifest of test.manifests) {
    for (const obj of conformanceManifest(manifest)) set.apply(prepareManifestObject(obj))
  }
  return set
}
