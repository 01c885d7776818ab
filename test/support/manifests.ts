/**
 * Multi-document YAML manifests read as plain JSON-like objects.
 */
import { readFileSync } from "node:fs"
import { parseAllDocuments } from "yaml"

/** A JSON-like object as decoded from YAML. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
export type JsonObject = { readonly [key: string]: Json }

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Parses every non-empty document of a YAML stream; each must be a mapping. */
export const parseManifests = (text: string, source: string): ReadonlyArray<JsonObject> => {
  const out: Array<JsonObject> = []
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      throw new Error(`${source}: YAML document ${index}: ${doc.errors.map((e) => e.message).join("; ")}`)
    }
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) return
    if (!isJsonObject(value)) throw new Error(`${source}: YAML document ${index} is not a mapping`)
    out.push(value)
  })
  return out
}

const cache = new Map<string, ReadonlyArray<JsonObject>>()

/** Reads and parses a manifest file once per process (callers must not mutate the result). */
export const readManifests = (path: string): ReadonlyArray<JsonObject> => {
  const cached = cache.get(path)
  if (cached !== undefined) return cached
  const parsed = parseManifests(readFileSync(path, "utf8"), path)
  cache.set(path, parsed)
  return parsed
}
