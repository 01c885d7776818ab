/**
 * Gateway API header modifiers (RequestHeaderModifier, ResponseHeaderModifier, on a rule or a
 * backendRef) as Envoy `*_headers_to_add` / `*_headers_to_remove`: `set` overwrites (or adds),
 * `add` appends to any existing value. Pure.
 *
 * Envoy refuses config that adds or removes `:`-prefixed pseudo-headers or `host` on requests
 * (the Gateway API header name pattern already excludes `:`). Setting `host` is what a hostname
 * rewrite does, so a request `set` of `host` becomes `host_rewrite_literal` (unless the rule also
 * rewrites the hostname, which wins); `add` and `remove` of `host` are left out.
 *
 * Envoy reads added header values as format strings (`%DOWNSTREAM_REMOTE_ADDRESS%` ...) and
 * refuses a lone `%`; Gateway API values are literal, so `%` is written `%%`.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { HeaderMutationIR } from "../../ir/Xds.ts"
import {
  HeaderValueOption_HeaderAppendAction,
  type HeaderValueOptionSchema
} from "../proto/envoy/config/core/v3/base_pb.ts"

type HeaderValueOptionInit = MessageInitShape<typeof HeaderValueOptionSchema>

export interface HeaderOperations {
  readonly toAdd: ReadonlyArray<HeaderValueOptionInit>
  readonly toRemove: ReadonlyArray<string>
}

export interface RequestHeaderOperations extends HeaderOperations {
  /** A `set` of the `host` header: rewrite the authority instead. */
  readonly hostRewrite?: string
}

/** A literal header value as an Envoy header format string. */
export const literalHeaderValue = (value: string): string => value.replaceAll("%", "%%")

const option = (name: string, value: string, appendAction: HeaderValueOption_HeaderAppendAction) => ({
  header: { key: name, value: literalHeaderValue(value) },
  appendAction
})

const isHost = (name: string): boolean => name.toLowerCase() === "host"

/** The operations of a modifier, in Gateway API order: set, then add; removals. */
const operations = (mutation: HeaderMutationIR | undefined, skip: (name: string) => boolean): HeaderOperations => ({
  toAdd: [
    ...(mutation?.set ?? [])
      .filter((h) => !skip(h.name))
      .map((h) => option(h.name, h.value, HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)),
    ...(mutation?.add ?? [])
      .filter((h) => !skip(h.name))
      .map((h) => option(h.name, h.value, HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD))
  ],
  toRemove: (mutation?.remove ?? []).filter((name) => !skip(name))
})

export const requestHeaderOperations = (mutation: HeaderMutationIR | undefined): RequestHeaderOperations => {
  const host = mutation?.set?.find((h) => isHost(h.name))
  return { ...operations(mutation, isHost), ...(host === undefined ? {} : { hostRewrite: host.value }) }
}

export const responseHeaderOperations = (mutation: HeaderMutationIR | undefined): HeaderOperations =>
  operations(mutation, () => false)

/** The operations as fields of a Route or a WeightedCluster.ClusterWeight (empty lists left out). */
export const headerFields = (request: HeaderOperations, response: HeaderOperations) => ({
  ...(request.toAdd.length > 0 ? { requestHeadersToAdd: [...request.toAdd] } : {}),
  ...(request.toRemove.length > 0 ? { requestHeadersToRemove: [...request.toRemove] } : {}),
  ...(response.toAdd.length > 0 ? { responseHeadersToAdd: [...response.toAdd] } : {}),
  ...(response.toRemove.length > 0 ? { responseHeadersToRemove: [...response.toRemove] } : {})
})
