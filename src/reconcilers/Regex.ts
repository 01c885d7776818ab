/**
 * Envoy matches regular expressions with RE2. A pattern RE2 rejects would make
 * Envoy NACK the whole update, so translation rejects it first (re2js is a
 * faithful JavaScript port of RE2's parser).
 */
import { RE2JS } from "re2js"

const cache = new Map<string, string | undefined>()

/** undefined when `pattern` is valid RE2, else the parser's message. */
export const re2Error = (pattern: string): string | undefined => {
  if (cache.has(pattern)) return cache.get(pattern)
  let error: string | undefined
  try {
    RE2JS.compile(pattern)
  } catch (e) {
    error = e instanceof Error ? e.message : String(e)
  }
  if (cache.size > 10_000) cache.clear()
  cache.set(pattern, error)
  return error
}
