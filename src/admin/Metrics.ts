/**
 * The `/metrics` exposition: one Prometheus text document (format 0.0.4) made of three parts.
 *
 * 1. prom-client's default process metrics (`process_*`, `nodejs_*`), collected into a registry of
 *    our own ({@link processRegistry}), never prom-client's global one, so that nothing else in the
 *    process can add to or clash with what we expose.
 * 2. Every Effect `Metric` of the app, read from Effect's metric registry on each scrape
 *    (`Metric.snapshot`) and rendered by {@link effectFamilies}: names as given (sanitized only when
 *    Prometheus would reject them), attributes as labels.
 * 3. Gauges computed on scrape from the SnapshotCache and the StatusSource ({@link scrapeFamilies}),
 *    because their truth lives in those services and copying it into Effect gauges would only add a
 *    second place to keep in sync.
 *
 * Parts 2 and 3 are rendered here rather than by prom-client: prom-client has no way to set a
 * histogram's bucket counts from an existing state, and Effect's own `PrometheusMetrics` (unstable)
 * neither merges families with prom-client's nor guards against one name used with two types. A
 * family name appears once in the document: the first part that claims it keeps it.
 *
 * Everything but {@link processRegistry} is pure.
 */
import type { Metric } from "effect"
import { collectDefaultMetrics, Registry } from "prom-client"
import type { NodeStatus } from "../xds/SnapshotCache.ts"
import type { StatusView } from "./StatusSource.ts"

export type PrometheusType = "counter" | "gauge" | "histogram" | "summary"

/** One exposition line: `name{labels} value`. */
export interface Sample {
  /** The full sample name, e.g. `foo_bucket` of family `foo`. */
  readonly name: string
  readonly labels: ReadonlyArray<readonly [string, string]>
  readonly value: number | bigint
}

/** All series of one metric name, under one `# HELP` and `# TYPE`. */
export interface MetricFamily {
  readonly name: string
  readonly help: string
  readonly type: PrometheusType
  readonly samples: ReadonlyArray<Sample>
}

let processRegistryInstance: Registry | undefined

/**
 * The registry of prom-client's default metrics, created on first use and shared by every admin
 * server of the process: the collectors start process-wide monitors (event-loop delay, GC observer)
 * that cannot be stopped, so one set per process, not one per server.
 */
export const processRegistry = (): Registry => {
  if (processRegistryInstance === undefined) {
    processRegistryInstance = new Registry()
    collectDefaultMetrics({ register: processRegistryInstance })
  }
  return processRegistryInstance
}

/** Prometheus metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export const metricName = (name: string): string => {
  const replaced = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(replaced) ? replaced : `_${replaced}`
}

/** Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export const labelName = (name: string): string => {
  const replaced = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[a-zA-Z_]/.test(replaced) ? replaced : `_${replaced}`
}

const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A sample value (or `le`/`quantile` label) as Prometheus spells it. */
export const formatNumber = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const formatLabels = (labels: ReadonlyArray<readonly [string, string]>): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${labelName(k)}="${escapeLabelValue(v)}"`).join(",")}}`

/** Families as Prometheus text, a blank line between them (as prom-client prints); "" for none. */
export const renderFamilies = (families: ReadonlyArray<MetricFamily>): string =>
  families
    .map((family) => {
      const lines = [`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`]
      for (const sample of family.samples)
        lines.push(`${sample.name}${formatLabels(sample.labels)} ${formatNumber(sample.value)}`)
      return `${lines.join("\n")}\n`
    })
    .join("\n")

/** Attributes as labels, sorted by name so that a series always prints the same way. */
const attributeLabels = (attributes: Metric.Metric.AttributeSet | undefined): ReadonlyArray<[string, string]> =>
  Object.entries(attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** The Prometheus type of an Effect metric: a counter that may decrease is a gauge to Prometheus. */
const prometheusTypeOf = (snapshot: Metric.Metric.Snapshot): PrometheusType => {
  switch (snapshot.type) {
    case "Counter":
      return snapshot.state.incremental ? "counter" : "gauge"
    case "Gauge":
      return "gauge"
    case "Frequency":
      return "counter"
    case "Histogram":
      return "histogram"
    case "Summary":
      return "summary"
  }
}

const samplesOf = (name: string, snapshot: Metric.Metric.Snapshot): ReadonlyArray<Sample> => {
  const labels = attributeLabels(snapshot.attributes)
  const sample = (suffix: string, value: number | bigint, extra: ReadonlyArray<[string, string]> = []): Sample => ({
    name: `${name}${suffix}`,
    labels: [...labels, ...extra],
    value
  })
  switch (snapshot.type) {
    case "Counter":
      return [sample("", snapshot.state.count)]
    case "Gauge":
      return [sample("", snapshot.state.value)]
    case "Frequency":
      // One series per observed value, as a `key` label (what Effect's own exporter does).
      return [...snapshot.state.occurrences].map(([key, count]) => sample("", count, [["key", key]]))
    case "Histogram": {
      // Effect's buckets are cumulative already; the +Inf bucket is the total count, whether or not
      // the boundaries end with Infinity.
      const finite = snapshot.state.buckets.filter(([bound]) => bound !== Number.POSITIVE_INFINITY)
      return [
        ...finite.map(([bound, count]) => sample("_bucket", count, [["le", formatNumber(bound)]])),
        sample("_bucket", snapshot.state.count, [["le", "+Inf"]]),
        sample("_sum", snapshot.state.sum),
        sample("_count", snapshot.state.count)
      ]
    }
    case "Summary":
      return [
        ...snapshot.state.quantiles.map(([q, value]) =>
          sample("", value ?? Number.NaN, [["quantile", formatNumber(q)]])
        ),
        sample("_sum", snapshot.state.sum),
        sample("_count", snapshot.state.count)
      ]
  }
}

/**
 * Effect metric snapshots as families, sorted by name. Series of one name are grouped (one series per
 * attribute set); a series whose type differs from the first one of its name is left out, since one
 * family cannot have two types. Names in `taken` (claimed by another part of the document) are left out.
 */
export const effectFamilies = (
  snapshots: ReadonlyArray<Metric.Metric.Snapshot>,
  taken: ReadonlySet<string> = new Set()
): ReadonlyArray<MetricFamily> => {
  const byName = new Map<string, { help: string; type: PrometheusType; samples: Array<Sample> }>()
  for (const snapshot of snapshots) {
    const name = metricName(snapshot.id)
    if (taken.has(name)) continue
    const type = prometheusTypeOf(snapshot)
    let family = byName.get(name)
    if (family === undefined) {
      family = { help: snapshot.description ?? snapshot.id, type, samples: [] }
      byName.set(name, family)
    }
    if (family.type !== type) continue
    if (family.help === snapshot.id && snapshot.description) family.help = snapshot.description
    family.samples.push(...samplesOf(name, snapshot))
  }
  return [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, family]) => ({ name, ...family }))
}

/** What the scrape-time gauges are computed from. */
export interface ScrapeInput {
  /** Fleets with a snapshot (SnapshotCache.fleets). */
  readonly fleets: ReadonlyArray<string>
  readonly nodes: ReadonlyArray<NodeStatus>
  readonly view: StatusView
  /** ADS streams open now, when an ADS server runs in the same process. */
  readonly streams?: number
}

const gauge = (name: string, help: string, samples: ReadonlyArray<Omit<Sample, "name">>): MetricFamily => ({
  name,
  help,
  type: "gauge",
  samples: samples.map((s) => ({ name, ...s }))
})

/** The gauges computed on scrape from the SnapshotCache and the StatusSource. */
export const scrapeFamilies = (input: ScrapeInput): ReadonlyArray<MetricFamily> => {
  const nodesPerFleet = new Map<string, number>(input.fleets.map((fleet) => [fleet, 0]))
  for (const node of input.nodes) nodesPerFleet.set(node.fleet, (nodesPerFleet.get(node.fleet) ?? 0) + 1)
  const fleets = [...nodesPerFleet].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return [
    gauge("portico_config_errors", "input errors of the current translation", [
      { labels: [], value: input.view.errors.length }
    ]),
    gauge("portico_ready", "1 once the initial sync is done and a first translation applied", [
      { labels: [], value: input.view.ready ? 1 : 0 }
    ]),
    gauge("portico_translation_generation", "generation of the translation applied last", [
      { labels: [], value: input.view.generation }
    ]),
    gauge(
      "portico_xds_connected_nodes",
      "proxies of each fleet that have answered the ADS server (ACK or NACK) since the controller started",
      fleets.map(([fleet, count]) => ({ labels: [["fleet", fleet]], value: count }))
    ),
    gauge("portico_xds_fleets", "fleets with a configuration snapshot", [{ labels: [], value: input.fleets.length }]),
    ...(input.streams === undefined
      ? []
      : [gauge("portico_xds_streams", "ADS streams open now", [{ labels: [], value: input.streams }])])
  ]
}

/**
 * The whole document: prom-client's text first, then the scrape gauges, then the Effect metrics,
 * each family once (a later part never repeats a name an earlier part used).
 */
export const exposition = (
  processText: string,
  processNames: ReadonlySet<string>,
  scrape: ReadonlyArray<MetricFamily>,
  snapshots: ReadonlyArray<Metric.Metric.Snapshot>
): string => {
  const own = scrape.filter((family) => !processNames.has(family.name))
  const taken = new Set([...processNames, ...own.map((family) => family.name)])
  return [processText, renderFamilies(own), renderFamilies(effectFamilies(snapshots, taken))]
    .filter((part) => part !== "")
    .map((part) => (part.endsWith("\n") ? part : `${part}\n`))
    .join("\n")
}
