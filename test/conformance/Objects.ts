/**
 * Kubernetes objects as untyped JSON: typed reads of fields, object identity,
 * and the working set the suite applies manifests and mutations to (the role
 * the API server plays in the real suite: generation, creationTimestamp).
 */

export type Rec = { [key: string]: unknown }

export const isRec = (u: unknown): u is Rec => typeof u === "object" && u !== null && !Array.isArray(u)
export const rec = (u: unknown): Rec | undefined => (isRec(u) ? u : undefined)
export const arr = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])
export const recs = (u: unknown): ReadonlyArray<Rec> => arr(u).filter(isRec)
export const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)
export const num = (u: unknown): number | undefined => (typeof u === "number" ? u : undefined)

/** The value at `path` (object keys) or undefined. */
export const at = (u: unknown, ...path: ReadonlyArray<string>): unknown => {
  let cur = u
  for (const key of path) {
    const r = rec(cur)
    if (r === undefined) return undefined
    cur = r[key]
  }
  return cur
}

export interface Ref {
  readonly kind: string
  readonly namespace?: string | undefined
  readonly name: string
}

export const keyOfRef = (ref: Ref): string => `${ref.kind}/${ref.namespace ?? ""}/${ref.name}`

export const refOf = (obj: Rec): Ref => ({
  kind: str(obj.kind) ?? "",
  namespace: str(at(obj, "metadata", "namespace")),
  name: str(at(obj, "metadata", "name")) ?? ""
})

export const keyOf = (obj: Rec): string => keyOfRef(refOf(obj))

/** `HTTPRoute gateway-conformance-infra/name` (cluster-scoped: `GatewayClass name`). */
export const describeRef = (ref: Ref): string =>
  `${ref.kind} ${ref.namespace === undefined ? "" : `${ref.namespace}/`}${ref.name}`

/** Structural equality of JSON values. */
export const jsonEqual = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

const EPOCH_MS = Date.UTC(2024, 0, 1)

/** Kubernetes timestamps have second precision. */
export const timestamp = (seconds: number): string =>
  new Date(EPOCH_MS + seconds * 1000).toISOString().replace(".000Z", "Z")

const metadataOf = (obj: Rec): Rec => {
  const existing = rec(obj.metadata)
  if (existing !== undefined) return existing
  const created: Rec = {}
  obj.metadata = created
  return created
}

/**
 * The objects of one test in apply order. Every applied object gets
 * metadata.generation 1 and a creationTimestamp one second after the previous
 * object's (unless it carries its own); a changed spec bumps the generation.
 */
export class WorkingSet {
  readonly #objects = new Map<string, Rec>()
  readonly #originals = new Map<string, Rec>()
  #clock = 0

  /** Creates or replaces (kubectl apply) a deep copy of `obj`; `delaySeconds` spaces its creation from the previous one. */
  apply(obj: Rec, delaySeconds = 1): Rec {
    const copy = structuredClone(obj)
    const key = keyOf(copy)
    const meta = metadataOf(copy)
    const existing = this.#objects.get(key)
    if (existing !== undefined) {
      const oldMeta = metadataOf(existing)
      meta.creationTimestamp = oldMeta.creationTimestamp
      const generation = num(oldMeta.generation) ?? 1
      meta.generation = jsonEqual(existing.spec, copy.spec) ? generation : generation + 1
    } else {
      this.#clock += Math.max(1, delaySeconds)
      if (meta.generation === undefined) meta.generation = 1
      if (meta.creationTimestamp === undefined) meta.creationTimestamp = timestamp(this.#clock)
      this.#originals.set(key, structuredClone(copy))
    }
    this.#objects.set(key, copy)
    return copy
  }

  /** Replaces an existing object by a changed copy, bumping the generation when its spec changed. */
  update(key: string, next: Rec): void {
    const existing = this.#objects.get(key)
    if (existing === undefined) throw new Error(`cannot update ${key}: no such object`)
    const meta = metadataOf(next)
    const generation = num(at(existing, "metadata", "generation")) ?? 1
    meta.generation = jsonEqual(existing.spec, next.spec) ? generation : generation + 1
    this.#objects.set(key, next)
  }

  delete(ref: Ref): void {
    const key = keyOfRef(ref)
    if (!this.#objects.delete(key)) throw new Error(`cannot delete ${describeRef(ref)}: no such object`)
  }

  /** A deep copy of the current object (mutable by the caller), or undefined. */
  get(ref: Ref): Rec | undefined {
    const obj = this.#objects.get(keyOfRef(ref))
    return obj === undefined ? undefined : structuredClone(obj)
  }

  /** The object as first created in this test (what `<original ...>` placeholders refer to). */
  original(ref: Ref): Rec | undefined {
    return this.#originals.get(keyOfRef(ref))
  }

  /** metadata.generation as the API server holds it. */
  generation(ref: Ref): number | undefined {
    return num(at(this.#objects.get(keyOfRef(ref)), "metadata", "generation"))
  }

  /** Deep copies of all objects in apply order (the translate input). */
  snapshot(): Array<Rec> {
    return [...this.#objects.values()].map((o) => structuredClone(o))
  }
}
