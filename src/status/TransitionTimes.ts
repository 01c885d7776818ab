/**
 * What the status writer actually writes, as a pure function of the object's current status and the
 * status a reconciler wants: other controllers' entries guarded, conditions merged by type and
 * stamped with `lastTransitionTime`, and a JSON equality that decides whether a write is needed.
 *
 * Reconcilers compute statuses without time (their output is golden-tested, so it carries no
 * timestamps); the writer is the one place that knows both the previous and the next status of an
 * object, so transition times are decided here, at the moment of writing, against what the API
 * server holds right now (after a 409 the whole thing is recomputed from the fresh object).
 */
import { ConditionType } from "./Conditions.ts"

type Json = { readonly [key: string]: unknown }

const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const arrayAt = (o: unknown, key: string): ReadonlyArray<unknown> | undefined => {
  if (!isRecord(o)) return undefined
  const v = o[key]
  return Array.isArray(v) ? v : undefined
}

/**
 * Condition types the Gateway API defines for the objects Portico writes (Accepted, Programmed,
 * ResolvedRefs, ...). A condition of one of these types that we no longer emit is removed; a
 * condition of any other type (e.g. `example.com/Healthy`, set by another controller) is kept.
 */
export const GATEWAY_API_CONDITION_TYPES: ReadonlySet<string> = new Set([
  ...Object.values(ConditionType),
  "Ready",
  "Detached",
  "OverlappingTLSConfig"
])

/** RFC 3339 at second precision, as metav1.Time serializes (`2024-05-01T12:00:00Z`). */
export const formatTransitionTime = (epochMillis: number): string =>
  new Date(Math.floor(epochMillis / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")

export interface PrepareOptions {
  /** Our controllerName: route `parents` / policy `ancestors` entries carrying another are not ours. */
  readonly controllerName: string
  /** The time of this write, RFC 3339 ({@link formatTransitionTime}). */
  readonly now: string
  /** The object's metadata.generation: fills in a condition's missing observedGeneration. */
  readonly generation?: number | undefined
  /** Default {@link GATEWAY_API_CONDITION_TYPES}. */
  readonly ownedConditionTypes?: ReadonlySet<string>
}

/**
 * The status to write: `desired` with other controllers' entries restored verbatim
 * ({@link guardForeignEntries}) and every condition of ours merged and stamped
 * ({@link stampConditions}). `undefined` when the reconciler has nothing to say.
 */
export const prepareStatus = (previous: unknown, desired: unknown, options: PrepareOptions): unknown => {
  if (desired === undefined) return undefined
  return stampConditions(previous, guardForeignEntries(previous, desired, options.controllerName), options)
}

/** The per-controller lists of Gateway API statuses: route `parents`, policy `ancestors`. */
const ENTRY_LISTS = [
  { key: "parents", ref: "parentRef" },
  { key: "ancestors", ref: "ancestorRef" }
] as const

const isOurs = (entry: unknown, controllerName: string): boolean =>
  isRecord(entry) && entry.controllerName === controllerName

/** Canonical JSON: object keys sorted, `undefined` members left out (as JSON.stringify does). */
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonical(v))).join(",")}]`
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/**
 * A parentRef / ancestorRef as an identity: the CRD defaults group and kind, so a ref with them
 * left out and one with them filled in are the same parent.
 */
const refIdentity = (ref: unknown): string =>
  isRecord(ref) ? canonical({ group: "gateway.networking.k8s.io", kind: "Gateway", ...ref }) : canonical(ref)

/**
 * Route `status.parents` and policy `status.ancestors` as they must be written, position by
 * position from what the API server holds: every entry of another controller stays exactly as
 * it is and where it is (same object, even when it names our Gateways); each entry of ours is
 * replaced in place by our new entry for the same ref, or removed when we no longer report that
 * ref; our entries for new refs are appended. An entry in `desired` that claims another
 * controllerName is dropped: we never write for someone else.
 *
 * Keeping positions (rather than, say, "others first, ours last") is what rules out a write war
 * with another implementation that orders the list its own way: whatever order it leaves, our
 * next write keeps it, so neither side ever sees the other undo its write. The reconcilers
 * already keep other controllers' entries; the writer enforces all of it so that no reconciler
 * can start a war.
 */
export const guardForeignEntries = (previous: unknown, desired: unknown, controllerName: string): unknown => {
  if (!isRecord(desired)) return desired
  let out: Json = desired
  for (const { key, ref } of ENTRY_LISTS) {
    const before = arrayAt(previous, key) ?? []
    const wanted = arrayAt(desired, key)
    const theirs = before.filter((e) => !isOurs(e, controllerName))
    if (wanted === undefined && theirs.length === 0) continue
    const ours = new Map<string, Json>()
    for (const e of wanted ?? []) if (isRecord(e) && isOurs(e, controllerName)) ours.set(refIdentity(e[ref]), e)
    const merged: Array<unknown> = []
    for (const e of before) {
      if (!isOurs(e, controllerName)) merged.push(e)
      else if (isRecord(e)) {
        const id = refIdentity(e[ref])
        const next = ours.get(id)
        if (next !== undefined) merged.push(next)
        ours.delete(id)
      }
    }
    out = { ...out, [key]: [...merged, ...ours.values()] }
  }
  return out
}

/**
 * Deep equality of two JSON values: key order does not matter (the API server re-serializes),
 * array order does, `undefined` members count as absent. Nothing else is ignored: a status that
 * differs only in a message or a lastTransitionTime is different.
 */
export const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (!isRecord(a) || !isRecord(b)) return false
  const keys = Object.keys(a).filter((k) => a[k] !== undefined)
  if (keys.length !== Object.keys(b).filter((k) => b[k] !== undefined).length) return false
  for (const k of keys) if (!jsonEqual(a[k], b[k])) return false
  return true
}

/**
 * Stamps `lastTransitionTime` on every condition of ours anywhere in the status: the status's own
 * `conditions`, `listeners[*].conditions` (listener matched by name), and our
 * `parents[*]` / `ancestors[*]` entries (matched by ref and controllerName). Entries of other
 * controllers are not touched. See {@link mergeConditionList} for the per-condition rules.
 */
export const stampConditions = (previous: unknown, desired: unknown, options: PrepareOptions): unknown => {
  if (!isRecord(desired)) return desired
  const owned = options.ownedConditionTypes ?? GATEWAY_API_CONDITION_TYPES
  const merge = (before: unknown, after: Json): Json => {
    const conditions = arrayAt(after, "conditions")
    if (conditions === undefined) return after
    const merged = mergeConditionList(arrayAt(before, "conditions") ?? [], conditions, options, owned)
    return { ...after, conditions: merged }
  }
  let out = merge(previous, desired)

  const listeners = arrayAt(desired, "listeners")
  if (listeners !== undefined) {
    const byName = new Map<unknown, unknown>()
    for (const l of arrayAt(previous, "listeners") ?? []) if (isRecord(l)) byName.set(l.name, l)
    out = { ...out, listeners: listeners.map((l) => (isRecord(l) ? merge(byName.get(l.name), l) : l)) }
  }

  for (const { key, ref } of ENTRY_LISTS) {
    const entries = arrayAt(desired, key)
    if (entries === undefined) continue
    const mine = new Map<string, unknown>()
    for (const e of arrayAt(previous, key) ?? []) {
      if (isRecord(e) && isOurs(e, options.controllerName)) mine.set(refIdentity(e[ref]), e)
    }
    const stamped = entries.map((e) =>
      isRecord(e) && isOurs(e, options.controllerName) ? merge(mine.get(refIdentity(e[ref])), e) : e
    )
    out = { ...out, [key]: stamped }
  }
  return out
}

/**
 * One condition list, merged by type:
 * - each desired condition keeps the previous condition's `lastTransitionTime` when its `status`
 *   did not change, else takes `now` (the same rule as {@link mergeConditions});
 * - a missing `observedGeneration` is filled in with the object's generation;
 * - a previous condition with a newer `observedGeneration` than the desired one is kept as it is
 *   (a status computed from an older spec never overwrites one computed from a newer spec);
 * - previous conditions of types we do not emit are kept after ours when their type is not one we
 *   own (another controller's), and dropped when it is (we stopped reporting it).
 */
export const mergeConditionList = (
  previous: ReadonlyArray<unknown>,
  desired: ReadonlyArray<unknown>,
  options: PrepareOptions,
  owned: ReadonlySet<string> = options.ownedConditionTypes ?? GATEWAY_API_CONDITION_TYPES
): ReadonlyArray<unknown> => {
  const before = new Map<unknown, Json>()
  for (const c of previous) if (isRecord(c)) before.set(c.type, c)
  const emitted = new Set<unknown>()
  const merged: Array<unknown> = desired.map((c) => {
    if (!isRecord(c)) return c
    emitted.add(c.type)
    const withGeneration =
      typeof c.observedGeneration === "number" || options.generation === undefined
        ? c
        : { ...c, observedGeneration: options.generation }
    const prev = before.get(c.type)
    if (prev === undefined) return { ...withGeneration, lastTransitionTime: options.now }
    const prevGeneration = prev.observedGeneration
    const ourGeneration = withGeneration.observedGeneration
    if (typeof prevGeneration === "number" && typeof ourGeneration === "number" && prevGeneration > ourGeneration)
      return prev
    const kept = prev.status === c.status && typeof prev.lastTransitionTime === "string"
    return { ...withGeneration, lastTransitionTime: kept ? prev.lastTransitionTime : options.now }
  })
  for (const c of previous) {
    if (isRecord(c) && !emitted.has(c.type) && !(typeof c.type === "string" && owned.has(c.type))) merged.push(c)
  }
  return merged
}
