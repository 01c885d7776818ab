/**
 * What one ADS stream knows about one resource type: the client's subscription (wildcard and/or
 * names), what the client holds (as far as this stream sent it or the client declared it), and the
 * latest response's nonce while it waits for an ACK or NACK. Mutable, owned by one stream's fiber.
 */
import type { Any } from "@bufbuild/protobuf/wkt"
import { TypeUrl } from "../Registry.ts"

/** A resource as the client holds it; `resource` is unknown when the client only declared its version. */
export interface Held {
  readonly version: string
  readonly resource?: Any
}

/** Types whose empty (legacy) subscription means "everything": LDS and CDS. */
export const WILDCARD_TYPES: ReadonlySet<string> = new Set([TypeUrl.Listener, TypeUrl.Cluster])

/** How many earlier nonces per type are remembered, so a late NACK of one is still recorded. */
const REMEMBERED_NONCES = 16

export class TypeState {
  /** The client asked for this type on this stream. */
  started = false
  wildcard = false
  /** SotW: the client has named resources, so an empty list no longer means wildcard. */
  namedBefore = false
  subscribed: Set<string> = new Set()
  /** What the client holds: SotW, the last response's resources; delta, what was sent or declared. */
  known: Map<string, Held> = new Map()
  /** A response of this type was sent (or adopted on reconnect) on this stream. */
  everSent = false
  /** SotW: version_info of the client's first request on this stream (what it had before reconnecting). */
  clientVersion: string | undefined = undefined
  /** The nonce of the latest response. */
  latestNonce: string | undefined = undefined
  /** When the latest response was sent, while neither ACK nor NACK has come back. */
  pendingSince: number | undefined = undefined
  /** The ACK timeout of the latest response was already reported. */
  timeoutReported = false
  /** Recent nonces of this type and the version each response carried. */
  readonly sentVersions: Map<string, string> = new Map()
  /** Names to send again even when unchanged (a RouteConfiguration whose listener changed). */
  readonly forced: Set<string> = new Set()
  /** Delta: subscribed names already reported as absent (removed_resources). */
  readonly absent: Set<string> = new Set()
  /**
   * SotW: the latest request subscribed to names it had not asked for before. When one of them
   * does not exist, the next response must go out even if nothing in it changed: for LDS and CDS
   * a response without a subscribed name is how the client learns that it does not exist (else
   * it waits for its does-not-exist timer, 15 s in gRPC, before applying a config naming it).
   */
  grew = false

  /** Whether the client wants `name`. */
  wants(name: string): boolean {
    return this.wildcard || this.subscribed.has(name)
  }

  sent(nonce: string, version: string, now: number): void {
    this.latestNonce = nonce
    this.pendingSince = now
    this.timeoutReported = false
    this.everSent = true
    this.sentVersions.set(nonce, version)
    if (this.sentVersions.size > REMEMBERED_NONCES) {
      const oldest = this.sentVersions.keys().next()
      if (oldest.done !== true) this.sentVersions.delete(oldest.value)
    }
  }

  /** SotW: a request replaces the subscription (resource_names is the full list). */
  applySotw(typeUrl: string, names: ReadonlyArray<string>, versionInfo: string): void {
    if (!this.started && versionInfo !== "") this.clientVersion = versionInfo
    const explicit = names.filter((name) => name !== "*")
    if (explicit.some((name) => !this.subscribed.has(name))) this.grew = true
    if (explicit.length > 0) this.namedBefore = true
    this.wildcard = names.includes("*") || (names.length === 0 && WILDCARD_TYPES.has(typeUrl) && !this.namedBefore)
    this.subscribed = new Set(explicit)
    this.started = true
    // A client drops what it unsubscribes from: subscribing again must resend it even if unchanged.
    for (const name of [...this.known.keys()]) if (!this.wants(name)) this.known.delete(name)
  }

  /** Delta: a request changes the subscription; the first one may declare what the client already holds. */
  applyDelta(
    typeUrl: string,
    subscribe: ReadonlyArray<string>,
    unsubscribe: ReadonlyArray<string>,
    initialVersions: { readonly [name: string]: string }
  ): void {
    if (!this.started) {
      this.started = true
      for (const [name, version] of Object.entries(initialVersions)) this.known.set(name, { version })
      if (subscribe.length === 0 && WILDCARD_TYPES.has(typeUrl)) this.wildcard = true
    }
    for (const name of subscribe) {
      if (name === "*") this.wildcard = true
      else this.subscribed.add(name)
    }
    for (const name of unsubscribe) {
      if (name === "*") {
        this.wildcard = false
        for (const held of [...this.known.keys()]) if (!this.subscribed.has(held)) this.known.delete(held)
      } else {
        this.subscribed.delete(name)
        this.absent.delete(name)
        this.forced.delete(name)
        // Still covered by the wildcard: the client keeps it.
        if (!this.wildcard) this.known.delete(name)
      }
    }
  }
}
