/**
 * XdsAuth: who may read which fleet over ADS. Implements the AdsServer's {@link AdsAuthenticate}.
 *
 * Every Envoy presents its pod's projected ServiceAccount token (audience {@link XDS_TOKEN_AUDIENCE})
 * as gRPC metadata: `x-portico-xds-token: <jwt>` (what the bootstrap's credential injector sends,
 * see Bootstrap.ts) or `authorization: Bearer <jwt>`. The token is verified with a TokenReview for
 * that audience, and the API server's answer must name the audience too (an authenticator that
 * ignores audiences does not pass). The identity must be a ServiceAccount,
 * `system:serviceaccount:<ns>:<sa>`, and it reads exactly one fleet: the one named `<sa>` (a
 * fleet's ServiceAccount is named after the fleet, see EnvoyFleet.ts), and only when `<ns>` is where
 * that fleet's objects live (`fleetNamespaceOf`). So a proxy of one Gateway never reads another
 * Gateway's listeners, routes or certificates, even when it names that fleet in node.cluster.
 *
 * Results are cached per SHA-256 of the token (the token itself is not kept): successes for
 * `cacheTtl` (never past the token's own `exp`), refusals for `failureTtl`; an API server that does
 * not answer is UNAVAILABLE and not cached. The cache holds at most `capacity` entries.
 */
import { createHash } from "node:crypto"
import type * as grpc from "@grpc/grpc-js"
import { Clock, Context, Duration, Effect, Layer, Option, Result, Schema } from "effect"
import type { FleetLayout } from "../charts/EnvoyFleet.ts"
import { KubeClient } from "../providers/kubernetes/KubeClient.ts"
import { fleetNameOf } from "../reconcilers/Gateway.ts"
import { AdsAccessDenied, type AdsAuthenticate } from "./AdsServer.ts"
import { XDS_TOKEN_AUDIENCE, XDS_TOKEN_HEADER } from "./Bootstrap.ts"

/** A verified ServiceAccount. */
export interface XdsPrincipal {
  /** `system:serviceaccount:<namespace>:<serviceAccount>`. */
  readonly identity: string
  readonly namespace: string
  readonly serviceAccount: string
}

export interface XdsAuthOptions {
  /**
   * The namespace where a fleet's objects (its ServiceAccount among them) live, or undefined when
   * the name is no fleet's. See {@link fleetNamespaceByLayout}.
   */
  readonly fleetNamespaceOf: (fleet: string) => string | undefined
  /** Default {@link XDS_TOKEN_AUDIENCE}. */
  readonly audience?: string
  /** How long a verified token is trusted without a new TokenReview; default 1 minute. */
  readonly cacheTtl?: Duration.Input
  /** How long a refused token stays refused; default 5 seconds. */
  readonly failureTtl?: Duration.Input
  /** Default 10,000 tokens. */
  readonly capacity?: number
}

export class XdsAuth extends Context.Service<
  XdsAuth,
  {
    /** For AdsServer's `authenticate` option. */
    readonly authenticate: AdsAuthenticate
    /** The ServiceAccount a token belongs to (TokenReview, cached), whatever fleet it may read. */
    readonly review: (token: string) => Effect.Effect<XdsPrincipal, AdsAccessDenied>
  }
>()("portico/xds/XdsAuth") {
  static readonly layer = (options: XdsAuthOptions): Layer.Layer<XdsAuth, never, KubeClient> =>
    Layer.effect(XdsAuth, make(options))
}

/** `system:serviceaccount:<ns>:<sa>` split, or undefined for any other user name. */
export const serviceAccountOf = (
  username: string
): { readonly namespace: string; readonly serviceAccount: string } | undefined => {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username)
  return m?.[1] === undefined || m[2] === undefined ? undefined : { namespace: m[1], serviceAccount: m[2] }
}

/**
 * The Gateway a fleet name belongs to: `envoy-<ns>-<name>-<hash8>` where the hash is that of
 * `<ns>/<name>`, which settles where the namespace ends. Undefined when no split matches (or,
 * astronomically unlikely, more than one does).
 */
export const gatewayOfFleet = (fleet: string): { readonly namespace: string; readonly name: string } | undefined => {
  const m = /^envoy-(.+)-[0-9a-f]{8}$/.exec(fleet)
  const middle = m?.[1]
  if (middle === undefined) return undefined
  const found: Array<{ readonly namespace: string; readonly name: string }> = []
  for (let i = middle.indexOf("-"); i !== -1; i = middle.indexOf("-", i + 1)) {
    const namespace = middle.slice(0, i)
    const name = middle.slice(i + 1)
    if (namespace !== "" && name !== "" && fleetNameOf(namespace, name) === fleet) found.push({ namespace, name })
  }
  return found.length === 1 ? found[0] : undefined
}

/**
 * `fleetNamespaceOf` for a fleet layout: the Gateway's namespace (GatewayNamespace, the default) or
 * the controller's (ControllerNamespace, Envoy Gateway's); undefined for a name that is no fleet's.
 */
export const fleetNamespaceByLayout =
  (layout: FleetLayout, controllerNamespace: string) =>
  (fleet: string): string | undefined => {
    const gateway = gatewayOfFleet(fleet)
    if (gateway === undefined) return undefined
    return layout === "ControllerNamespace" ? controllerNamespace : gateway.namespace
  }

/**
 * The token a call presents: `authorization: Bearer <jwt>`, else `x-portico-xds-token: <jwt>`.
 * Undefined when there is none, or when several differ.
 */
export const tokenOf = (metadata: grpc.Metadata): string | undefined => {
  const values = (key: string) =>
    metadata.get(key).flatMap((value) => (typeof value === "string" ? [value.trim()] : []))
  const bearer = values("authorization").flatMap((value) => {
    const m = /^bearer\s+(\S+)$/i.exec(value)
    return m?.[1] === undefined ? [] : [m[1]]
  })
  const tokens = new Set(bearer.length > 0 ? bearer : values(XDS_TOKEN_HEADER).filter((t) => t !== ""))
  return tokens.size === 1 ? [...tokens][0] : undefined
}

/** A JWT's `exp` (seconds), read without verification: only to cap the cache. */
const JwtClaims = Schema.fromJsonString(Schema.Struct({ exp: Schema.optionalKey(Schema.Number) }))
const expiryOf = (token: string): number | undefined => {
  const payload = token.split(".")[1]
  if (payload === undefined) return undefined
  const claims = Schema.decodeUnknownOption(JwtClaims)(Buffer.from(payload, "base64url").toString("utf8"))
  return Option.getOrUndefined(claims)?.exp
}

interface CacheEntry {
  readonly expiresAt: number
  readonly result: Result.Result<XdsPrincipal, AdsAccessDenied>
}

const denied = (code: AdsAccessDenied["code"], reason: string) => new AdsAccessDenied({ code, reason })

const make = Effect.fnUntraced(function* (options: XdsAuthOptions) {
  const kube = yield* KubeClient
  const audience = options.audience ?? XDS_TOKEN_AUDIENCE
  const cacheTtlMs = Duration.toMillis(options.cacheTtl ?? "1 minute")
  const failureTtlMs = Duration.toMillis(options.failureTtl ?? "5 seconds")
  const capacity = options.capacity ?? 10_000
  const cache = new Map<string, CacheEntry>()

  const remember = (key: string, entry: CacheEntry, now: number): void => {
    cache.delete(key)
    if (cache.size >= capacity) {
      for (const [k, e] of cache) if (e.expiresAt <= now) cache.delete(k)
      // Still full: drop the oldest (a Map iterates in insertion order).
      for (const k of cache.keys()) {
        if (cache.size < capacity) break
        cache.delete(k)
      }
    }
    cache.set(key, entry)
  }

  /** One TokenReview, as a principal or a refusal (UNAVAILABLE when the API server does not answer). */
  const tokenReview = (token: string): Effect.Effect<XdsPrincipal, AdsAccessDenied> =>
    kube.createTokenReview(token, [audience]).pipe(
      Effect.catch((error) =>
        Effect.logWarning("TokenReview failed: cannot verify an xDS token").pipe(
          Effect.annotateLogs({ error: error.message }),
          Effect.andThen(Effect.fail(denied("UNAVAILABLE", `TokenReview failed: ${error.message}`)))
        )
      ),
      Effect.flatMap((review) => {
        if (!review.authenticated) {
          return Effect.fail(denied("UNAUTHENTICATED", `token not authenticated: ${review.error ?? "no reason given"}`))
        }
        if (!(review.audiences ?? []).includes(audience)) {
          return Effect.fail(denied("UNAUTHENTICATED", `token not issued for audience ${audience}`))
        }
        const username = review.user?.username ?? ""
        const account = serviceAccountOf(username)
        if (account === undefined) {
          return Effect.fail(denied("PERMISSION_DENIED", `${username || "an anonymous user"} is not a ServiceAccount`))
        }
        return Effect.succeed({ identity: username, ...account })
      })
    )

  const review = Effect.fnUntraced(function* (token: string) {
    const key = createHash("sha256").update(token).digest("hex")
    const now = yield* Clock.currentTimeMillis
    const hit = cache.get(key)
    if (hit !== undefined && hit.expiresAt > now) return yield* Effect.fromResult(hit.result)
    const result = yield* Effect.result(tokenReview(token))
    if (Result.isSuccess(result) || result.failure.code !== "UNAVAILABLE") {
      const exp = expiryOf(token)
      const ttl = Result.isSuccess(result) ? cacheTtlMs : failureTtlMs
      const expiresAt = Math.min(now + ttl, exp === undefined ? Number.POSITIVE_INFINITY : exp * 1000)
      if (expiresAt > now) remember(key, { expiresAt, result }, now)
    }
    return yield* Effect.fromResult(result)
  })

  /** The fleet a principal may read must be its own ServiceAccount's, in that fleet's namespace. */
  const authorize = (principal: XdsPrincipal, fleet: string): Effect.Effect<void, AdsAccessDenied> => {
    if (principal.serviceAccount !== fleet) {
      return Effect.fail(denied("PERMISSION_DENIED", `${principal.identity} asked for fleet ${fleet}, not its own`))
    }
    const namespace = options.fleetNamespaceOf(fleet)
    if (namespace === undefined) {
      return Effect.fail(denied("PERMISSION_DENIED", `${principal.identity}: ${fleet} is no fleet`))
    }
    if (namespace !== principal.namespace) {
      return Effect.fail(
        denied("PERMISSION_DENIED", `${principal.identity}: fleet ${fleet} lives in ${namespace}, not here`)
      )
    }
    return Effect.void
  }

  const authenticate: AdsAuthenticate = (metadata, nodeFleet) =>
    Effect.gen(function* () {
      const token = tokenOf(metadata)
      if (token === undefined) {
        return yield* denied("UNAUTHENTICATED", `no token (${XDS_TOKEN_HEADER} or authorization: Bearer)`)
      }
      const principal = yield* review(token)
      // At stream start: the identity must be some fleet's; then: the fleet the node names.
      yield* authorize(principal, nodeFleet ?? principal.serviceAccount)
      return principal
    })

  return XdsAuth.of({ authenticate, review })
})
