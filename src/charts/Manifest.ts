/**
 * What the charts hand to the rest of Portico: plain Kubernetes manifests (JSON-like objects, the
 * shape server-side apply takes), synthesized in memory from a cdk8s chart, and their YAML text.
 *
 * Every chart is built in a fresh `App` that is never `synth()`ed: nothing touches the file system,
 * and `chart.toJson()` returns the objects in construction order with their keys sorted (cdk8s sorts
 * unless the process sets `CDK8S_DISABLE_SORT`), so the same input always gives the same bytes.
 */

import { App, Chart } from "cdk8s"
import { stringify } from "yaml"

/** A reference from a generated object to the object that owns it (garbage collection). */
export interface OwnerReference {
  readonly apiVersion: string
  readonly kind: string
  readonly name: string
  readonly uid: string
  readonly controller?: boolean
  readonly blockOwnerDeletion?: boolean
}

/** One Kubernetes object, as server-side apply takes it. */
export interface KubeManifest {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly labels?: { readonly [key: string]: string }
    readonly annotations?: { readonly [key: string]: string }
    readonly ownerReferences?: ReadonlyArray<OwnerReference>
    readonly [key: string]: unknown
  }
  readonly [key: string]: unknown
}

const isRecord = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A JSON-like object with a string apiVersion, kind and metadata.name. */
export const isKubeManifest = (value: unknown): value is KubeManifest =>
  isRecord(value) &&
  typeof value.apiVersion === "string" &&
  typeof value.kind === "string" &&
  isRecord(value.metadata) &&
  typeof value.metadata.name === "string" &&
  value.metadata.name !== ""

/**
 * A chart in a fresh, in-memory app. `recordConstructMetadata` is pinned off so an environment
 * variable cannot add construct-path annotations to the output.
 */
export const newChart = (id: string): Chart => new Chart(new App({ recordConstructMetadata: false }), id)

/** The chart's objects, in construction order. */
export const manifestsOf = (chart: Chart): ReadonlyArray<KubeManifest> => {
  const objects: ReadonlyArray<unknown> = chart.toJson()
  return objects.map((object, index) => {
    if (!isKubeManifest(object)) throw new Error(`chart ${chart.node.id}: object ${index} is not a Kubernetes manifest`)
    return object
  })
}

/**
 * Manifests as one multi-document YAML stream (`kubectl apply -f` reads it). YAML 1.1 quoting, as
 * `portico translate` prints, so strings like "on" or "1.0" stay strings for every YAML reader.
 */
export const renderManifestsYaml = (manifests: ReadonlyArray<unknown>): string =>
  manifests
    .map((manifest) => stringify(manifest, { lineWidth: 0, aliasDuplicateObjects: false, version: "1.1" }))
    .join("---\n")

/**
 * String maps (labels, annotations) merged in order, later wins. An empty result is harmless in
 * `metadata` (cdk8s drops empty maps there) but must be left out by hand anywhere else.
 */
export const mergeMaps = (
  ...maps: ReadonlyArray<{ readonly [key: string]: string } | undefined>
): { [key: string]: string } => Object.assign({}, ...maps)
