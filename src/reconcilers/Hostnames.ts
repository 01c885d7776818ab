/**
 * Hostname semantics of the Gateway API: wildcard matching, listener/route
 * intersection, and listener specificity. Pure.
 *
 * A wildcard `*.example.com` matches one or more labels before `.example.com`
 * (`a.example.com`, `a.b.example.com`) but not `example.com` itself.
 */

/** The hostname that stands for "any host" in the IR. */
export const ANY_HOST = "*"

export const isWildcard = (host: string): boolean => host.startsWith("*.")

/** True when `host` (exact or wildcard) is covered by `pattern` (exact or wildcard). */
export const hostnameMatches = (pattern: string, host: string): boolean => {
  if (pattern === host) return true
  if (!isWildcard(pattern)) return false
  const suffix = pattern.slice(1) // ".example.com"
  if (isWildcard(host)) {
    // *.a.example.com is within *.example.com
    return host.slice(1).endsWith(suffix) && host.length > pattern.length
  }
  return host.endsWith(suffix) && host.length > suffix.length
}

/**
 * The hostnames a route serves on a listener: the intersection of the
 * listener's hostname (undefined = any) and the route's hostnames (empty = any).
 * Returns `[ANY_HOST]` when both are unrestricted and `[]` when they do not
 * intersect. Order follows the route's hostnames, without duplicates.
 */
export const intersectHostnames = (
  listenerHostname: string | undefined,
  routeHostnames: ReadonlyArray<string>
): ReadonlyArray<string> => {
  if (routeHostnames.length === 0) return [listenerHostname ?? ANY_HOST]
  if (listenerHostname === undefined) return dedupe(routeHostnames)
  const out: Array<string> = []
  for (const r of routeHostnames) {
    if (hostnameMatches(listenerHostname, r)) out.push(r)
    else if (hostnameMatches(r, listenerHostname)) out.push(listenerHostname)
  }
  return dedupe(out)
}

const dedupe = (xs: ReadonlyArray<string>): ReadonlyArray<string> => [...new Set(xs)]

/**
 * Orders listener hostnames from most to least specific for a request: exact
 * hostnames first, then wildcards with more labels, then less specific
 * wildcards, then "no hostname". Returns a negative number when `a` is more
 * specific than `b`.
 */
export const compareHostSpecificity = (a: string | undefined, b: string | undefined): number => {
  const rank = (h: string | undefined): [number, number] => {
    if (h === undefined || h === ANY_HOST) return [2, 0]
    if (isWildcard(h)) return [1, -h.split(".").length]
    return [0, -h.length]
  }
  const [ra, la] = rank(a)
  const [rb, lb] = rank(b)
  return ra !== rb ? ra - rb : la - lb
}

/** Virtual host / xDS name fragment of a hostname: dots become underscores. */
export const hostKey = (host: string): string => host.replaceAll(".", "_")
