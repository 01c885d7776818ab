/**
 * Gateway API RequestRedirect as Envoy RedirectAction. Pure.
 *
 * Ports (Gateway API, RequestRedirect.port): without a port, the redirect uses the well-known port
 * of the redirect's scheme when the scheme is set, else the Gateway listener's port; the Location
 * header SHOULD NOT carry `:80` for http nor `:443` for https. Envoy keeps the request's `Host`
 * port unless told otherwise, drops it when `host_redirect` is set without `port_redirect`, drops
 * the default port of the old scheme when the scheme changes, and always prints `port_redirect`.
 * So:
 * - `port_redirect` is set only when the port is not the well-known port of the effective scheme
 *   (the redirect's, else the listener's);
 * - otherwise the Location must carry no port: when the virtual host is one exact hostname, the
 *   redirect names it (`host_redirect`), which makes Envoy drop whatever port the request's Host
 *   had (`http://a.example.com:8080/` -> `https://a.example.com/`). On wildcard virtual hosts a
 *   port in the request's Host is kept (a limitation: Envoy cannot drop it without naming the
 *   host; clients normally send no port for 80 and 443).
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { RedirectIR, RouteMatchIR } from "../../ir/Xds.ts"
import {
  RedirectAction_RedirectResponseCode,
  type RedirectActionSchema
} from "../proto/envoy/config/route/v3/route_components_pb.ts"
import { type PathRewrite, prefixRewrite } from "./PathRewrite.ts"

type RedirectActionInit = MessageInitShape<typeof RedirectActionSchema>

const RESPONSE_CODES: Readonly<Record<number, RedirectAction_RedirectResponseCode>> = {
  301: RedirectAction_RedirectResponseCode.MOVED_PERMANENTLY,
  302: RedirectAction_RedirectResponseCode.FOUND,
  303: RedirectAction_RedirectResponseCode.SEE_OTHER,
  307: RedirectAction_RedirectResponseCode.TEMPORARY_REDIRECT,
  308: RedirectAction_RedirectResponseCode.PERMANENT_REDIRECT
}

const WELL_KNOWN_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 }

export interface RedirectContext {
  /** The scheme clients use on this listener. */
  readonly listenerScheme: "http" | "https"
  /** The Gateway listener's port (not the container port). */
  readonly listenerPort: number
  /** The virtual host's hostname (`*`, `*.example.com` or exact). */
  readonly hostname: string
}

const pathSpecifier = (rewrite: PathRewrite | undefined): NonNullable<RedirectActionInit["pathRewriteSpecifier"]> =>
  rewrite === undefined
    ? { case: undefined }
    : rewrite.kind === "prefix"
      ? { case: "prefixRewrite", value: rewrite.value }
      : { case: "regexRewrite", value: { pattern: { regex: rewrite.pattern }, substitution: rewrite.substitution } }

export const redirectAction = (
  redirect: RedirectIR,
  match: RouteMatchIR,
  context: RedirectContext
): RedirectActionInit => {
  const scheme = redirect.scheme ?? context.listenerScheme
  const wellKnown = WELL_KNOWN_PORTS[scheme.toLowerCase()]
  const port = redirect.port ?? (redirect.scheme === undefined ? context.listenerPort : wellKnown)
  const portRedirect = port !== wellKnown ? port : undefined
  const exactHost = context.hostname !== "*" && !context.hostname.startsWith("*.")
  const hostRedirect = redirect.hostname ?? (portRedirect === undefined && exactHost ? context.hostname : undefined)
  const path = redirect.path
  const rewrite =
    path === undefined ? undefined : path.type === "ReplaceFullPath" ? undefined : prefixRewrite(match, path.value)
  return {
    ...(redirect.scheme === undefined
      ? {}
      : { schemeRewriteSpecifier: { case: "schemeRedirect", value: redirect.scheme } }),
    ...(hostRedirect === undefined ? {} : { hostRedirect }),
    ...(portRedirect === undefined ? {} : { portRedirect }),
    pathRewriteSpecifier:
      path?.type === "ReplaceFullPath" ? { case: "pathRedirect", value: path.value } : pathSpecifier(rewrite),
    responseCode: RESPONSE_CODES[redirect.statusCode] ?? RedirectAction_RedirectResponseCode.FOUND
  }
}
