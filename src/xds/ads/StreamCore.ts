/**
 * The protocol logic of one ADS stream (SotW or delta), without I/O: requests and snapshots go in,
 * responses, ACKs, NACKs and log notes come out. The AdsServer runs one per gRPC stream, in that
 * stream's fiber.
 *
 * Make-before-break. What the stream offers the client of each type is a *view* of the fleet's
 * snapshot, opened in three gates evaluated before every round of responses:
 *
 * 1. CDS, EDS and SDS always carry the snapshot's new and changed resources, plus whatever the
 *    client still holds that the snapshot dropped (nothing is removed yet).
 * 2. LDS and RDS carry the snapshot's listeners and route configurations only once every CDS/EDS/SDS
 *    response this client subscribes to is answered (ACK or NACK, or unanswered for `ackTimeoutMs`)
 *    and the client holds the snapshot's version of every cluster, assignment and secret it wants.
 *    Until then LDS/RDS send nothing new, so no listener or route names a cluster the client lacks.
 * 3. Removals of clusters, assignments, secrets and route configurations go out only once the client
 *    also holds (and answered) the snapshot's listeners and route configurations, so nothing it still
 *    routes to disappears.
 *
 * A new snapshot in the middle simply re-evaluates the gates against what the client holds.
 */
import { create } from "@bufbuild/protobuf"
import {
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  DeltaDiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
  DiscoveryResponseSchema,
  type Resource,
  ResourceSchema
} from "../proto/envoy/service/discovery/v3/discovery_pb.ts"
import type { Status } from "../proto/google/rpc/status_pb.ts"
import { TypeUrl } from "../Registry.ts"
import { isTypeUrl, kindOfTypeUrl, type Snapshot, TYPE_URLS, versionOfEntries } from "../Snapshot.ts"
import { type Held, TypeState, WILDCARD_TYPES } from "./TypeState.ts"

export type Mode = "sotw" | "delta"

export interface Ack {
  readonly typeUrl: TypeUrl
  readonly nonce: string
  readonly version: string
}

export interface Nack {
  readonly typeUrl: TypeUrl
  readonly nonce: string
  readonly errorDetail: string
}

export interface Note {
  readonly level: "debug" | "info" | "warning"
  readonly message: string
  readonly annotations?: Readonly<Record<string, string>>
}

export type Outgoing =
  | { readonly _tag: "sotw"; readonly message: DiscoveryResponse }
  | { readonly _tag: "delta"; readonly message: DeltaDiscoveryResponse }

export interface Outcome {
  readonly responses: Array<Outgoing>
  readonly acks: Array<Ack>
  readonly nacks: Array<Nack>
  readonly notes: Array<Note>
}

export const emptyOutcome = (): Outcome => ({ responses: [], acks: [], nacks: [], notes: [] })

/** Types created first, removed last. */
const MAKE_TYPES: ReadonlyArray<TypeUrl> = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Secret]
/** Types that reference the make types. */
const BREAK_TYPES: ReadonlyArray<TypeUrl> = [TypeUrl.Listener, TypeUrl.RouteConfiguration]

const errorText = (status: Status): string =>
  status.message !== "" ? status.message : `error code ${status.code} without a message`

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export class AdsStreamCore {
  readonly mode: Mode
  readonly ackTimeoutMs: number
  private snapshot: Snapshot | undefined = undefined
  private readonly types = new Map<TypeUrl, TypeState>()
  private nonces = 0

  constructor(mode: Mode, options: { readonly ackTimeoutMs: number }) {
    this.mode = mode
    this.ackTimeoutMs = options.ackTimeoutMs
  }

  private state(typeUrl: TypeUrl): TypeState {
    let st = this.types.get(typeUrl)
    if (st === undefined) {
      st = new TypeState()
      this.types.set(typeUrl, st)
    }
    return st
  }

  setSnapshot(snapshot: Snapshot | undefined): void {
    this.snapshot = snapshot
  }

  /** Resolves the answer to a response: true when it is the latest of its type (not stale). */
  private answer(
    typeUrl: TypeUrl,
    st: TypeState,
    nonce: string,
    errorDetail: Status | undefined,
    version: string,
    out: Outcome
  ): boolean {
    if (nonce === "" || st.latestNonce === undefined) return true // initial request (or a nonce of another stream)
    if (nonce !== st.latestNonce) {
      // A NACK of an earlier response of this stream is still a rejection worth recording.
      if (errorDetail !== undefined && st.sentVersions.has(nonce)) {
        out.nacks.push({ typeUrl, nonce, errorDetail: errorText(errorDetail) })
      }
      out.notes.push({
        level: "debug",
        message: "ignoring a request with a stale nonce",
        annotations: { type: kindOfTypeUrl[typeUrl], nonce, latest: st.latestNonce }
      })
      return false
    }
    if (st.pendingSince !== undefined) {
      st.pendingSince = undefined
      if (errorDetail !== undefined) out.nacks.push({ typeUrl, nonce, errorDetail: errorText(errorDetail) })
      else out.acks.push({ typeUrl, nonce, version })
    }
    return true
  }

  /** A SotW request: ACK/NACK of the latest response, and the full list of wanted names. */
  onSotwRequest(request: DiscoveryRequest): Outcome {
    const out = emptyOutcome()
    const typeUrl = request.typeUrl
    if (!isTypeUrl(typeUrl)) {
      out.notes.push({ level: "debug", message: "ignoring a request for an unserved type", annotations: { typeUrl } })
      return out
    }
    const st = this.state(typeUrl)
    // A stale request's resource_names are outdated too: the client sends the current list with its next answer.
    if (!this.answer(typeUrl, st, request.responseNonce, request.errorDetail, request.versionInfo, out)) return out
    st.applySotw(typeUrl, request.resourceNames, request.versionInfo)
    return out
  }

  /** A delta request: ACK/NACK of the latest response, and subscription changes (applied even when stale). */
  onDeltaRequest(request: DeltaDiscoveryRequest): Outcome {
    const out = emptyOutcome()
    const typeUrl = request.typeUrl
    if (!isTypeUrl(typeUrl)) {
      out.notes.push({ level: "debug", message: "ignoring a request for an unserved type", annotations: { typeUrl } })
      return out
    }
    const st = this.state(typeUrl)
    const version = st.sentVersions.get(request.responseNonce) ?? ""
    this.answer(typeUrl, st, request.responseNonce, request.errorDetail, version, out)
    st.applyDelta(
      typeUrl,
      request.resourceNamesSubscribe,
      request.resourceNamesUnsubscribe,
      request.initialResourceVersions
    )
    return out
  }

  private settled(st: TypeState, now: number): boolean {
    return st.pendingSince === undefined || now - st.pendingSince >= this.ackTimeoutMs
  }

  /** The client holds the snapshot's version of everything of this type it wants (and, if `exact`, nothing else). */
  private covers(typeUrl: TypeUrl, st: TypeState, exact: boolean): boolean {
    const items = this.snapshot?.resources[typeUrl].items
    if (items === undefined) return true
    if (st.wildcard) {
      for (const [name, r] of items) if (st.known.get(name)?.version !== r.version) return false
    }
    for (const name of st.subscribed) {
      const r = items.get(name)
      if (r !== undefined && st.known.get(name)?.version !== r.version) return false
    }
    if (exact) for (const name of st.known.keys()) if (st.wants(name) && !items.has(name)) return false
    return true
  }

  private gateOpen(typeUrls: ReadonlyArray<TypeUrl>, exact: (t: TypeUrl) => boolean, now: number): boolean {
    return typeUrls.every((typeUrl) => {
      const st = this.types.get(typeUrl)
      return st === undefined || !st.started || (this.settled(st, now) && this.covers(typeUrl, st, exact(typeUrl)))
    })
  }

  /** What the client should hold of a type now, or undefined to send nothing new of it. */
  private view(
    typeUrl: TypeUrl,
    st: TypeState,
    referencesMay: boolean,
    removalsMay: boolean
  ): ReadonlyMap<string, Held> | undefined {
    const items = this.snapshot?.resources[typeUrl].items
    if (items === undefined) return undefined
    if (BREAK_TYPES.includes(typeUrl) && !referencesMay) return undefined
    if (typeUrl === TypeUrl.Listener || removalsMay) return items
    let merged: Map<string, Held> | undefined
    for (const [name, held] of st.known) {
      if (!items.has(name)) {
        merged ??= new Map<string, Held>(items)
        merged.set(name, held)
      }
    }
    return merged ?? items
  }

  /** Sends what changed, in make-before-break order. */
  reconcile(now: number): Outcome {
    const out = emptyOutcome()
    if (this.snapshot === undefined) return out
    for (const [typeUrl, st] of this.types) {
      if (st.pendingSince !== undefined && !st.timeoutReported && now - st.pendingSince >= this.ackTimeoutMs) {
        st.timeoutReported = true
        out.notes.push({
          level: "info",
          message: `no answer to a response within ${this.ackTimeoutMs} ms; continuing without it`,
          annotations: { type: kindOfTypeUrl[typeUrl], nonce: st.latestNonce ?? "" }
        })
      }
    }
    const referencesMay = this.gateOpen(MAKE_TYPES, () => false, now)
    const removalsMay = referencesMay && this.gateOpen(BREAK_TYPES, (typeUrl) => typeUrl === TypeUrl.Listener, now)
    for (const typeUrl of TYPE_URLS) {
      const st = this.types.get(typeUrl)
      if (st === undefined || !st.started) continue
      const view = this.view(typeUrl, st, referencesMay, removalsMay)
      if (view === undefined) continue
      const changed =
        this.mode === "sotw" ? this.sendSotw(typeUrl, st, view, now, out) : this.sendDelta(typeUrl, st, view, now, out)
      if (typeUrl === TypeUrl.Listener) this.forceRoutesOf(changed)
    }
    return out
  }

  /** When a listener changes, its RouteConfigurations go out again too (grpc-js-xds applies listener changes on RDS). */
  private forceRoutesOf(listeners: ReadonlyArray<string>): void {
    if (listeners.length === 0) return
    const routes = this.state(TypeUrl.RouteConfiguration)
    for (const listener of listeners) {
      for (const route of this.snapshot?.routesByListener.get(listener) ?? []) routes.forced.add(route)
    }
  }

  private nextNonce(): string {
    this.nonces += 1
    return String(this.nonces)
  }

  /** SotW: the full set of wanted resources of the type, when anything in it differs. Returns changed names. */
  private sendSotw(
    typeUrl: TypeUrl,
    st: TypeState,
    view: ReadonlyMap<string, Held>,
    now: number,
    out: Outcome
  ): ReadonlyArray<string> {
    const names = (st.wildcard ? [...view.keys()] : [...st.subscribed].filter((name) => view.has(name))).sort(byName)
    const entries: Array<[string, Held]> = []
    for (const name of names) {
      const held = view.get(name)
      if (held?.resource !== undefined) entries.push([name, held])
    }
    const items = this.snapshot?.resources[typeUrl]
    const version =
      st.wildcard && view === items?.items
        ? items.version
        : versionOfEntries(entries.map(([name, held]) => [name, held.version] as const))
    // A newly subscribed name that does not exist is answered by a response without it (see TypeState.grew).
    const answersAbsence = st.grew && WILDCARD_TYPES.has(typeUrl) && [...st.subscribed].some((name) => !view.has(name))
    st.grew = false
    const changedNames = entries
      .filter(([name, held]) => {
        const before = st.known.get(name)
        return before !== undefined && before.version !== held.version
      })
      .map(([name]) => name)
    if (!st.everSent) {
      if (st.clientVersion === version) {
        // Reconnected holding exactly this: nothing to send.
        st.known = new Map(entries)
        st.everSent = true
        return []
      }
      if (entries.length === 0 && !st.wildcard && !answersAbsence) return []
    } else {
      const included = new Set(names)
      const differs =
        entries.some(([name, held]) => st.known.get(name)?.version !== held.version || st.forced.has(name)) ||
        (WILDCARD_TYPES.has(typeUrl) && [...st.known.keys()].some((name) => st.wants(name) && !included.has(name)))
      if (!differs && !answersAbsence) return []
    }
    const nonce = this.nextNonce()
    out.responses.push({
      _tag: "sotw",
      message: create(DiscoveryResponseSchema, {
        versionInfo: version,
        typeUrl,
        nonce,
        resources: entries.map(([, held]) => held.resource).filter((r) => r !== undefined)
      })
    })
    st.known = new Map(entries)
    st.forced.clear()
    st.sent(nonce, version, now)
    return changedNames
  }

  /** Delta: the wanted resources whose version the client lacks, and removals. Returns changed names. */
  private sendDelta(
    typeUrl: TypeUrl,
    st: TypeState,
    view: ReadonlyMap<string, Held>,
    now: number,
    out: Outcome
  ): ReadonlyArray<string> {
    const candidates = new Set(st.subscribed)
    if (st.wildcard) {
      for (const name of view.keys()) candidates.add(name)
      for (const name of st.known.keys()) candidates.add(name)
    }
    const resources: Array<Resource> = []
    const removed: Array<string> = []
    const changedNames: Array<string> = []
    for (const name of [...candidates].sort(byName)) {
      const want = view.get(name)
      const before = st.known.get(name)
      if (want !== undefined) {
        if (want.resource !== undefined && (before?.version !== want.version || st.forced.has(name))) {
          resources.push(create(ResourceSchema, { name, version: want.version, resource: want.resource }))
          if (before !== undefined && before.version !== want.version) changedNames.push(name)
        }
      } else if (before !== undefined || (st.subscribed.has(name) && !st.absent.has(name))) {
        removed.push(name)
      }
    }
    // A first wildcard request gets an answer even when there is nothing (so the client's initial fetch
    // completes), unless the client reconnected declaring what it holds.
    const answerEmpty = !st.everSent && st.wildcard && st.known.size === 0
    if (resources.length === 0 && removed.length === 0 && !answerEmpty) return []
    const version = this.snapshot?.resources[typeUrl].version ?? ""
    const nonce = this.nextNonce()
    out.responses.push({
      _tag: "delta",
      message: create(DeltaDiscoveryResponseSchema, {
        systemVersionInfo: version,
        typeUrl,
        nonce,
        resources,
        removedResources: removed
      })
    })
    for (const r of resources) {
      st.known.set(r.name, { version: r.version, ...(r.resource === undefined ? {} : { resource: r.resource }) })
      st.absent.delete(r.name)
    }
    for (const name of removed) {
      st.known.delete(name)
      if (st.subscribed.has(name)) st.absent.add(name)
    }
    st.forced.clear()
    st.sent(nonce, version, now)
    return changedNames
  }

  /** When an unanswered response's ACK timeout expires (so the gates should be evaluated again). */
  nextDeadline(now: number): number | undefined {
    let next: number | undefined
    for (const st of this.types.values()) {
      if (st.pendingSince === undefined) continue
      const deadline = st.pendingSince + this.ackTimeoutMs
      if (deadline > now && (next === undefined || deadline < next)) next = deadline
    }
    return next
  }
}
