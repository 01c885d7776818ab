/**
 * The changes a conformance test makes mid-test (create, delete, JSON merge
 * patch, listener append/removal), applied to the working set the way the API
 * server would: a changed spec bumps metadata.generation.
 *
 * Placeholders in patches and created objects:
 * - `<copy of KEY from ConfigMap NS/NAME>`: that ConfigMap's current data[KEY];
 * - `<original ...>`: the value at the same path in the object as first created.
 * Mutations the data only describes (no patch) are implemented by id below.
 */
import { Schema } from "effect"
import { type Mutation, ObjectRef } from "./Expectations.ts"
import { prepareManifestObject, UNUSABLE_ADDRESSES } from "./Input.ts"
import {
  arr,
  at,
  describeRef,
  isRec,
  keyOfRef,
  type Rec,
  type Ref,
  rec,
  recs,
  refOf,
  str,
  type WorkingSet
} from "./Objects.ts"

export interface MutationOutcome {
  /** Set when the mutation was not (fully) applied, saying why. */
  readonly note?: string
}

const decodeRef = Schema.decodeUnknownSync(ObjectRef)

/** RFC 7386 JSON merge patch. */
export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isRec(patch)) return structuredClone(patch)
  const out: Rec = isRec(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = mergePatch(out[key], value)
  }
  return out
}

const resolvePlaceholder = (text: string, set: WorkingSet, ref: Ref, path: ReadonlyArray<string>): unknown => {
  const copy = /^<copy of (\S+) from ConfigMap ([^/\s]+)\/(\S+)>$/.exec(text)
  if (copy !== null) {
    const [, key = "", namespace, name = ""] = copy
    const source = set.get({ kind: "ConfigMap", namespace, name })
    const value = at(source, "data", key)
    if (value === undefined) throw new Error(`placeholder ${text}: ConfigMap ${namespace}/${name} has no data.${key}`)
    return value
  }
  if (/^<original .*>$/.test(text)) {
    const value = at(set.original(ref), ...path)
    if (value === undefined) throw new Error(`placeholder ${text}: ${describeRef(ref)} had no ${path.join(".")}`)
    return structuredClone(value)
  }
  if (/^<.*>$/.test(text)) throw new Error(`unknown placeholder ${text} in a mutation of ${describeRef(ref)}`)
  return text
}

const resolvePlaceholders = (u: unknown, set: WorkingSet, ref: Ref, path: ReadonlyArray<string> = []): unknown => {
  if (typeof u === "string") return resolvePlaceholder(u, set, ref, path)
  if (Array.isArray(u)) return u.map((v, i) => resolvePlaceholders(v, set, ref, [...path, String(i)]))
  if (isRec(u)) {
    return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, resolvePlaceholders(v, set, ref, [...path, k])]))
  }
  return u
}

const current = (set: WorkingSet, ref: Ref): Rec => {
  const obj = set.get(ref)
  if (obj === undefined) throw new Error(`${describeRef(ref)} does not exist`)
  return obj
}

const specOf = (obj: Rec): Rec => {
  const spec = rec(obj.spec)
  if (spec === undefined) throw new Error(`${describeRef({ kind: str(obj.kind) ?? "", name: "" })} has no spec`)
  return spec
}

const editGateway = (set: WorkingSet, ref: Ref, edit: (spec: Rec) => void): void => {
  const obj = current(set, ref)
  edit(specOf(obj))
  set.update(keyOfRef(ref), obj)
}

const seconds = (duration: string | undefined): number => {
  if (duration === undefined) return 1
  const m = /^(\d+)s$/.exec(duration)
  if (m === null) throw new Error(`unsupported delayBefore ${duration}`)
  return Number(m[1])
}

const sameAddress = (a: unknown, b: unknown): boolean =>
  str(rec(a)?.value) === str(rec(b)?.value) && (str(rec(a)?.type) ?? "IPAddress") === (str(rec(b)?.type) ?? "IPAddress")

/** Mutations given only as a description, by id. */
const DESCRIBED: Record<string, (set: WorkingSet, ref: Ref | undefined) => MutationOutcome> = {
  "remove-invalid-address": (set, ref) => {
    if (ref === undefined) throw new Error("needs an object")
    editGateway(set, ref, (spec) => {
      spec.addresses = arr(spec.addresses).filter((a) => str(rec(a)?.type) !== "test/fake-invalid-type")
    })
    return {}
  },
  "remove-unusable-address": (set, ref) => {
    if (ref === undefined) throw new Error("needs an object")
    editGateway(set, ref, (spec) => {
      spec.addresses = arr(spec.addresses).filter((a) => !UNUSABLE_ADDRESSES.some((u) => sameAddress(a, u)))
    })
    return {}
  },
  "fill-endpointslices": () => ({
    note: "not applied: it fills EndpointSlices with Pod IPs for the data plane (there are no Pods here)"
  })
}

/** Applies `mutation` to `set`; throws with the reason when it cannot be applied. */
export const applyMutation = (set: WorkingSet, mutation: Mutation): MutationOutcome => {
  try {
    const described = DESCRIBED[mutation.id]
    const needsDescribed = mutation.patch === undefined && (mutation.op === "merge-patch" || mutation.op === "patch")
    if (mutation.op === "create") {
      if (!isRec(mutation.object)) throw new Error("no object given")
      const ref = refOf(mutation.object)
      const obj = resolvePlaceholders(mutation.object, set, ref)
      set.apply(prepareManifestObject(obj), seconds(mutation.delayBefore))
      return {}
    }
    const ref = mutation.object === undefined ? undefined : decodeRef(mutation.object)
    if (needsDescribed) {
      if (described === undefined) throw new Error(`no patch given and no implementation for "${mutation.description}"`)
      return described(set, ref)
    }
    if (ref === undefined) throw new Error("no object given")
    switch (mutation.op) {
      case "delete":
        set.delete(ref)
        return {}
      case "merge-patch":
      case "patch": {
        const patched = mergePatch(current(set, ref), resolvePlaceholders(mutation.patch, set, ref))
        if (!isRec(patched)) throw new Error("the patch replaced the whole object")
        set.update(keyOfRef(ref), patched)
        return {}
      }
      case "append-listener": {
        if (!isRec(mutation.listener)) throw new Error("no listener given")
        const listener = structuredClone(mutation.listener)
        editGateway(set, ref, (spec) => {
          spec.listeners = [...recs(spec.listeners), listener]
        })
        return {}
      }
      case "remove-listener": {
        const name = mutation.listenerName
        if (name === undefined) throw new Error("no listenerName given")
        editGateway(set, ref, (spec) => {
          const before = recs(spec.listeners)
          if (!before.some((l) => l.name === name)) throw new Error(`no listener named ${name}`)
          spec.listeners = before.filter((l) => l.name !== name)
        })
        return {}
      }
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(`mutation ${mutation.id} (${mutation.op}) cannot be applied: ${message}`)
  }
}
