/**
 * Gateway API path modifiers (URLRewrite and RequestRedirect `path`) as Envoy path rewrites.
 * Pure.
 *
 * ReplacePrefixMatch replaces the matched prefix element-wise (Gateway API's table: prefix `/foo`
 * replaced by `/xyz` turns `/foo/bar` into `/xyz/bar` and `/foo` into `/xyz`; by `/` or `` it turns
 * `/foo/bar` into `/bar` and `/foo` into `/`). Envoy's `prefix_rewrite` swaps the matched prefix
 * literally, which is right except when the replacement is `/` (`/foo/bar` would become `//bar`),
 * so that case is a `regex_rewrite` of `^<prefix>/*` to `/`. A trailing `/` of the replacement is
 * dropped: the rest of the path keeps its own.
 *
 * ReplaceFullPath replaces the whole path, keeping the query: `regex_rewrite` of `^/.*$`.
 */
import type { RouteMatchIR } from "../../ir/Xds.ts"

export type PathRewrite =
  | { readonly kind: "prefix"; readonly value: string }
  | { readonly kind: "regex"; readonly pattern: string; readonly substitution: string }

/** Escapes RE2 metacharacters. */
export const escapeRegex = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const withoutTrailingSlashes = (value: string): string => value.replace(/\/+$/, "")

/** ReplaceFullPath. */
export const fullPathRewrite = (value: string): PathRewrite => ({
  kind: "regex",
  pattern: "^/.*$",
  substitution: value
})

/** ReplacePrefixMatch for a route matching `match`; `undefined` when the path stays as it is. */
export const prefixRewrite = (match: RouteMatchIR, replacement: string): PathRewrite | undefined => {
  const path = match.path
  const r = withoutTrailingSlashes(replacement)
  if (path?.type === "Exact") return { kind: "prefix", value: r === "" ? "/" : r }
  if (path?.type === "RegularExpression") {
    // Not a prefix match (Gateway API requires PathPrefix): the whole matched path is replaced.
    return { kind: "regex", pattern: `^(?:${path.value})$`, substitution: r === "" ? "/" : r }
  }
  if (match.grpc !== undefined && path !== undefined) return { kind: "prefix", value: replacement }
  const p = withoutTrailingSlashes(path?.value ?? "/")
  if (p === "") return r === "" ? undefined : { kind: "prefix", value: `${r}/` }
  return r === "" ? { kind: "regex", pattern: `^${escapeRegex(p)}/*`, substitution: "/" } : { kind: "prefix", value: r }
}
