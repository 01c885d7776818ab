/**
 * HTTPRoute (and GRPCRoute) filters -> IR: header modifiers, redirects, URL
 * rewrites, mirrors, CORS, extension references. Pure.
 */
import type { CorsIR, HeaderMutationIR, MirrorIR, RedirectIR, UrlRewriteIR } from "../ir/Xds.ts"
import { Reason } from "../status/Conditions.ts"
import { buildDestination, type RefFailure } from "./Destinations.ts"
import type { ResourceSnapshot } from "./Snapshot.ts"

interface HeaderValue {
  readonly name: string
  readonly value: string
}

export interface HeaderFilterInput {
  readonly set?: ReadonlyArray<HeaderValue>
  readonly add?: ReadonlyArray<HeaderValue>
  readonly remove?: ReadonlyArray<string>
}

/** The filter fields shared by HTTPRouteFilter and GRPCRouteFilter. */
export interface FilterInput {
  readonly type: string
  readonly requestHeaderModifier?: HeaderFilterInput
  readonly responseHeaderModifier?: HeaderFilterInput
  readonly requestRedirect?: {
    readonly scheme?: string
    readonly hostname?: string
    readonly path?: { readonly type: string; readonly replaceFullPath?: string; readonly replacePrefixMatch?: string }
    readonly port?: number
    readonly statusCode?: number
  }
  readonly urlRewrite?: {
    readonly hostname?: string
    readonly path?: { readonly type: string; readonly replaceFullPath?: string; readonly replacePrefixMatch?: string }
  }
  readonly requestMirror?: {
    readonly backendRef: {
      readonly group?: string
      readonly kind?: string
      readonly name: string
      readonly namespace?: string
      readonly port?: number
    }
    readonly percent?: number
    readonly fraction?: { readonly numerator: number; readonly denominator?: number }
  }
  readonly cors?: {
    readonly allowOrigins?: ReadonlyArray<string>
    readonly allowMethods?: ReadonlyArray<string>
    readonly allowHeaders?: ReadonlyArray<string>
    readonly exposeHeaders?: ReadonlyArray<string>
    readonly allowCredentials?: boolean
    readonly maxAge?: number
  }
  readonly extensionRef?: { readonly group: string; readonly kind: string; readonly name: string }
}

export interface FilterResult {
  readonly requestHeaders?: HeaderMutationIR
  readonly responseHeaders?: HeaderMutationIR
  readonly redirect?: RedirectIR
  readonly urlRewrite?: UrlRewriteIR
  readonly mirrors?: ReadonlyArray<MirrorIR>
  readonly cors?: CorsIR
  readonly extensionRefs?: ReadonlyArray<{ readonly group: string; readonly kind: string; readonly name: string }>
  /** A filter Portico cannot implement: the rule answers 500. */
  readonly unsupported?: RefFailure
  /** Filters that cannot be combined (e.g. RequestRedirect with URLRewrite). */
  readonly incompatible?: string
  /** A filter type Portico does not implement (e.g. ExternalAuth): the rule is dropped, never served without it. */
  readonly unsupportedType?: string
  /** Mirror backends that did not resolve. */
  readonly refFailures: ReadonlyArray<RefFailure>
}

export const headerMutation = (f: HeaderFilterInput | undefined): HeaderMutationIR | undefined => {
  if (f === undefined) return undefined
  const out: { set?: ReadonlyArray<HeaderValue>; add?: ReadonlyArray<HeaderValue>; remove?: ReadonlyArray<string> } = {}
  if (f.set !== undefined && f.set.length > 0) out.set = f.set.map(({ name, value }) => ({ name, value }))
  if (f.add !== undefined && f.add.length > 0) out.add = f.add.map(({ name, value }) => ({ name, value }))
  if (f.remove !== undefined && f.remove.length > 0) out.remove = [...f.remove]
  return out
}

const pathModifier = (p: {
  readonly type: string
  readonly replaceFullPath?: string
  readonly replacePrefixMatch?: string
}): { type: "ReplaceFullPath" | "ReplacePrefixMatch"; value: string } | undefined =>
  p.type === "ReplaceFullPath"
    ? { type: "ReplaceFullPath", value: p.replaceFullPath ?? "/" }
    : p.type === "ReplacePrefixMatch"
      ? { type: "ReplacePrefixMatch", value: p.replacePrefixMatch ?? "/" }
      : undefined

/** Extension kinds Portico itself implements (none yet: the extension API records them). */
const SUPPORTED_EXTENSIONS = new Set<string>()

export const translateFilters = (
  snapshot: ResourceSnapshot,
  route: { readonly kind: string; readonly namespace: string; readonly name: string },
  ruleIndex: number,
  filters: ReadonlyArray<FilterInput>
): FilterResult => {
  const refFailures: Array<RefFailure> = []
  const mirrors: Array<MirrorIR> = []
  const extensionRefs: Array<{ group: string; kind: string; name: string }> = []
  let requestHeaders: HeaderMutationIR | undefined
  let responseHeaders: HeaderMutationIR | undefined
  let redirect: RedirectIR | undefined
  let urlRewrite: UrlRewriteIR | undefined
  let cors: CorsIR | undefined
  let unsupported: RefFailure | undefined
  let unsupportedType: string | undefined
  const types = new Set(filters.map((f) => f.type))
  const incompatible =
    types.has("RequestRedirect") && types.has("URLRewrite")
      ? "RequestRedirect and URLRewrite cannot be used in one rule"
      : undefined
  for (const f of filters) {
    switch (f.type) {
      case "RequestHeaderModifier":
        requestHeaders = headerMutation(f.requestHeaderModifier)
        break
      case "ResponseHeaderModifier":
        responseHeaders = headerMutation(f.responseHeaderModifier)
        break
      case "RequestRedirect": {
        const r = f.requestRedirect ?? {}
        const path = r.path === undefined ? undefined : pathModifier(r.path)
        redirect = {
          statusCode: r.statusCode ?? 302,
          ...(r.scheme === undefined ? {} : { scheme: r.scheme }),
          ...(r.hostname === undefined ? {} : { hostname: r.hostname }),
          ...(r.port === undefined ? {} : { port: r.port }),
          ...(path === undefined ? {} : { path })
        }
        break
      }
      case "URLRewrite": {
        const u = f.urlRewrite ?? {}
        const path = u.path === undefined ? undefined : pathModifier(u.path)
        urlRewrite = {
          ...(u.hostname === undefined ? {} : { hostname: u.hostname }),
          ...(path === undefined ? {} : { path })
        }
        break
      }
      case "RequestMirror": {
        const m = f.requestMirror
        if (m === undefined) break
        const { destination, failures } = buildDestination(
          snapshot,
          route,
          `${route.kind.toLowerCase()}/${route.namespace}/${route.name}/rule/${ruleIndex}/mirror/${mirrors.length}`,
          [{ ...m.backendRef, weight: 1 }],
          route.kind === "GRPCRoute" ? "GRPC" : "HTTP"
        )
        refFailures.push(...failures)
        if (failures.length > 0) break
        const percent =
          m.percent !== undefined
            ? m.percent
            : m.fraction !== undefined
              ? (m.fraction.numerator / (m.fraction.denominator ?? 100)) * 100
              : undefined
        mirrors.push({ destination, ...(percent === undefined ? {} : { percent }) })
        break
      }
      case "CORS": {
        const c = f.cors ?? {}
        cors = {
          ...(c.allowOrigins === undefined ? {} : { allowOrigins: [...c.allowOrigins] }),
          ...(c.allowMethods === undefined ? {} : { allowMethods: [...c.allowMethods] }),
          ...(c.allowHeaders === undefined ? {} : { allowHeaders: [...c.allowHeaders] }),
          ...(c.exposeHeaders === undefined ? {} : { exposeHeaders: [...c.exposeHeaders] }),
          ...(c.allowCredentials === undefined ? {} : { allowCredentials: c.allowCredentials }),
          ...(c.maxAge === undefined ? {} : { maxAge: c.maxAge })
        }
        break
      }
      case "ExtensionRef": {
        const e = f.extensionRef
        if (e === undefined) break
        extensionRefs.push({ group: e.group, kind: e.kind, name: e.name })
        if (!SUPPORTED_EXTENSIONS.has(`${e.group}/${e.kind}`) && unsupported === undefined) {
          unsupported = {
            reason: Reason.InvalidKind,
            message: `ExtensionRef filter ${e.group}/${e.kind} ${e.name} is not supported by any installed extension; the rule answers 500`
          }
        }
        break
      }
      default:
        if (unsupportedType === undefined) unsupportedType = f.type
    }
  }
  return {
    refFailures,
    ...(requestHeaders === undefined ? {} : { requestHeaders }),
    ...(responseHeaders === undefined ? {} : { responseHeaders }),
    ...(redirect === undefined ? {} : { redirect }),
    ...(urlRewrite === undefined ? {} : { urlRewrite }),
    ...(mirrors.length === 0 ? {} : { mirrors }),
    ...(cors === undefined ? {} : { cors }),
    ...(extensionRefs.length === 0 ? {} : { extensionRefs }),
    ...(unsupported === undefined ? {} : { unsupported }),
    ...(incompatible === undefined ? {} : { incompatible }),
    ...(unsupportedType === undefined ? {} : { unsupportedType })
  }
}
