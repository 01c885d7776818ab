/**
 * The ADS server: `envoy.service.discovery.v3.AggregatedDiscoveryService` on @grpc/grpc-js, both
 * StreamAggregatedResources (state of the world) and DeltaAggregatedResources (incremental).
 *
 * Every stream is a fiber in the server's scope: it identifies the node from its first request
 * (node.cluster names the fleet; node.id when the cluster is empty), follows that fleet's snapshots
 * through the {@link SnapshotCache} (the only thing it knows of the cache), and runs the protocol in
 * an {@link AdsStreamCore}: nonces per stream, ACK/NACK per type, make-before-break ordering. A node
 * of a fleet without a snapshot gets nothing (one log line) until one is set. A client that goes away
 * ends its fiber; a failing stream is logged and never takes the server down. Closing the scope ends
 * every stream and stops the server.
 *
 * Security (opt-in; the default is plaintext without authentication, for standalone mode on
 * loopback). `tls` serves over TLS, optionally rotating the certificate for new connections.
 * `authenticate` guards every RPC the server exposes (both ADS variants go through one stream
 * handler): once with the call's metadata when the stream opens, and again with the fleet its node
 * names before anything of that fleet is read. A refusal ends the stream with the authenticator's
 * gRPC status (UNAUTHENTICATED, PERMISSION_DENIED or UNAVAILABLE), is logged and counted
 * ({@link adsDeniedCounter}); the client has received nothing. Identity is fixed at the first
 * request that names a node, so a later request naming another fleet changes nothing.
 */

import * as grpc from "@grpc/grpc-js"
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Exit,
  FiberSet,
  Layer,
  Metric,
  Option,
  Queue,
  Schema,
  Stream
} from "effect"
import { adsServiceDefinition } from "./ads/Service.ts"
import { AdsStreamCore, type Mode, type Outcome, type Outgoing } from "./ads/StreamCore.ts"
import { DEFAULT_XDS_ADDRESS, parseHostPort } from "./Bootstrap.ts"
import type { Node } from "./proto/envoy/config/core/v3/base_pb.ts"
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse
} from "./proto/envoy/service/discovery/v3/discovery_pb.ts"
import { kindOfTypeUrl, type Snapshot } from "./Snapshot.ts"
import { type NodeRef, SnapshotCache } from "./SnapshotCache.ts"

export interface AdsServerOptions {
  /** `host:port` to listen on (port 0 picks a free one). Default `127.0.0.1:18000` (standalone). */
  readonly address?: string
  /**
   * How long make-before-break waits for a client's answer (ACK or NACK) to a response before it goes
   * on without it. Default 5 seconds.
   */
  readonly ackTimeout?: Duration.Input
  /** Serve over TLS with this certificate; default plaintext. */
  readonly tls?: AdsTls
  /** Who may read which fleet (see the module doc); default everyone everything. */
  readonly authenticate?: AdsAuthenticate
}

/** A PEM certificate chain and its private key. */
export interface TlsKeyPair {
  readonly cert: string
  readonly key: string
}

export interface AdsTls extends TlsKeyPair {
  /** Later pairs (rotation): each one serves the connections accepted after it. */
  readonly updates?: Stream.Stream<TlsKeyPair>
}

/** Why a call is refused: the gRPC status it ends with, and a reason for the log (never sent). */
export class AdsAccessDenied extends Schema.TaggedError<AdsAccessDenied>()("AdsAccessDenied", {
  code: Schema.Literals(["UNAUTHENTICATED", "PERMISSION_DENIED", "UNAVAILABLE"]),
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.code}: ${this.reason}`
  }
}

/**
 * Decides whether a call may go on: with `nodeFleet` undefined when the stream opens, then with the
 * fleet its node names. Succeeds with the peer's identity (for the log).
 */
export type AdsAuthenticate = (
  metadata: grpc.Metadata,
  nodeFleet: string | undefined
) => Effect.Effect<{ readonly identity: string }, AdsAccessDenied>

/** Counts refused streams, with a `code` attribute (the gRPC status name). */
export const adsDeniedCounter = Metric.counter("portico_xds_streams_denied_total", {
  description: "ADS streams refused by authentication or authorization",
  incremental: true
})

/** What the client is told (the reason stays in the server's log). */
const deniedDetails = (denied: AdsAccessDenied, fleet: string | undefined): string => {
  switch (denied.code) {
    case "UNAUTHENTICATED":
      return "missing or invalid xDS token"
    case "PERMISSION_DENIED":
      return fleet === undefined ? "this identity reads no fleet" : `this identity may not read fleet ${fleet}`
    case "UNAVAILABLE":
      return "cannot verify the xDS token now; retry later"
  }
}

export class AdsServerError extends Schema.TaggedError<AdsServerError>()("AdsServerError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `ADS server on ${this.address}: ${this.reason}`
  }
}

export class AdsServer extends Context.Service<
  AdsServer,
  {
    /** The address it listens on, with the actual port. */
    readonly address: string
    readonly port: number
    /** Streams open now. */
    readonly streams: Effect.Effect<number>
  }
>()("portico/xds/AdsServer") {
  /** Serves ADS until the layer's scope closes. */
  static readonly layer = (options: AdsServerOptions = {}): Layer.Layer<AdsServer, AdsServerError, SnapshotCache> =>
    Layer.effect(AdsServer, make(options))
}

type StreamEvent<Req> =
  | { readonly _tag: "Request"; readonly request: Req }
  | { readonly _tag: "Snapshot"; readonly snapshot: Option.Option<Snapshot> }
  | { readonly _tag: "Closed"; readonly reason: string }

/** One gRPC stream, whichever variant. */
interface StreamIo<Req extends DiscoveryRequest | DeltaDiscoveryRequest> {
  readonly mode: Mode
  readonly call: grpc.ServerDuplexStream<Req, DiscoveryResponse | DeltaDiscoveryResponse>
  readonly handle: (core: AdsStreamCore, request: Req) => Outcome
}

/** The fleet and node a request's node names, or undefined when it names neither. */
export const identifyNode = (node: Node | undefined): NodeRef | undefined => {
  if (node === undefined) return undefined
  const fleet = node.cluster !== "" ? node.cluster : node.id
  return fleet === "" ? undefined : { fleet, id: node.id }
}

const make = Effect.fnUntraced(function* (options: AdsServerOptions) {
  const cache = yield* SnapshotCache
  const address = options.address ?? DEFAULT_XDS_ADDRESS
  // Port 0 (any free port) is fine for a server, which parseHostPort (made for clients) rejects.
  const hostPort = parseHostPort(address.replace(/:0$/, ":1"))
  if (hostPort === undefined) return yield* new AdsServerError({ address, reason: "expected host:port" })
  const ackTimeoutMs = Duration.toMillis(options.ackTimeout ?? "5 seconds")
  const fibers = yield* FiberSet.make<void, never>()
  const run = yield* FiberSet.runtime(fibers)<never>()
  let open = 0

  const serve = <Req extends DiscoveryRequest | DeltaDiscoveryRequest>(io: StreamIo<Req>) =>
    Effect.gen(function* () {
      const { call } = io
      const events = yield* Queue.unbounded<StreamEvent<Req>>()
      const onData = (request: Req) => Queue.offerUnsafe(events, { _tag: "Request", request })
      const onEnd = () => Queue.offerUnsafe(events, { _tag: "Closed", reason: "client closed the stream" })
      const onCancel = () => Queue.offerUnsafe(events, { _tag: "Closed", reason: "stream cancelled" })
      const onError = (error: Error) => Queue.offerUnsafe(events, { _tag: "Closed", reason: error.message })
      call.on("data", onData)
      call.on("end", onEnd)
      call.on("cancelled", onCancel)
      call.on("error", onError)
      if (call.cancelled) onCancel()
      open += 1
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          open -= 1
          call.off("data", onData)
          call.off("end", onEnd)
          call.off("cancelled", onCancel)
          call.off("error", onError)
          // Swallow what a finished call may still emit, then end our side (status OK: the client reconnects).
          call.on("error", () => {})
          if (!call.cancelled && call.writable) {
            try {
              call.end()
            } catch {
              // already gone
            }
          }
        })
      )

      const core = new AdsStreamCore(io.mode, { ackTimeoutMs })
      let node: NodeRef | undefined
      let toldNoNode = false
      let toldNoSnapshot = false
      const annotations: Record<string, string> = { ads: io.mode, peer: call.getPeer() }
      const log = (
        level: "debug" | "info" | "warning",
        message: string,
        extra: Readonly<Record<string, string>> = {}
      ) =>
        (level === "debug"
          ? Effect.logDebug(message)
          : level === "info"
            ? Effect.logInfo(message)
            : Effect.logWarning(message)
        ).pipe(Effect.annotateLogs({ ...annotations, ...extra }))

      const write = (out: Outgoing) =>
        Effect.sync(() => {
          if (out._tag !== io.mode) return false
          try {
            call.write(out.message)
            return true
          } catch {
            return false
          }
        })

      const apply = Effect.fnUntraced(function* (outcome: Outcome) {
        for (const note of outcome.notes) yield* log(note.level, note.message, note.annotations)
        for (const ack of outcome.acks) {
          if (node !== undefined) yield* cache.recordAck(node, ack.typeUrl, ack.version)
        }
        for (const nack of outcome.nacks) {
          yield* log("warning", "NACK: the client rejected a response and keeps its last good version", {
            type: kindOfTypeUrl[nack.typeUrl],
            nonce: nack.nonce,
            error: nack.errorDetail
          })
          if (node !== undefined) yield* cache.recordNack(node, nack.typeUrl, nack.nonce, nack.errorDetail)
        }
        for (const response of outcome.responses) {
          if (!(yield* write(response))) {
            Queue.offerUnsafe(events, { _tag: "Closed", reason: "write failed" })
            return
          }
        }
      })

      /** Asks the authenticator; false (and the stream ended with its status) when refused. */
      const admit = Effect.fnUntraced(function* (fleet: string | undefined) {
        if (options.authenticate === undefined) return true
        const exit = yield* Effect.exit(options.authenticate(call.metadata, fleet))
        if (Exit.isSuccess(exit)) {
          annotations.identity = exit.value.identity
          return true
        }
        if (Cause.hasInterruptsOnly(exit.cause)) return false
        const denied = Option.getOrElse(
          Cause.findErrorOption(exit.cause),
          () => new AdsAccessDenied({ code: "UNAVAILABLE", reason: Cause.pretty(exit.cause) })
        )
        yield* log("warning", "ADS stream refused", {
          code: denied.code,
          reason: denied.reason,
          ...(fleet === undefined ? {} : { fleet })
        })
        yield* Metric.update(Metric.withAttributes(adsDeniedCounter, { code: denied.code }), 1)
        if (!call.cancelled && call.writable) {
          call.emit("error", { code: grpc.status[denied.code], details: deniedDetails(denied, fleet) })
        }
        return false
      })

      /** Identifies the node on its first request that names one; false when it may not read that fleet. */
      const identify = Effect.fnUntraced(function* (request: Req) {
        if (node !== undefined) return true
        const identified = identifyNode(request.node)
        if (identified === undefined) {
          if (!toldNoNode) {
            toldNoNode = true
            yield* log("info", "ADS request without node.cluster or node.id: nothing is sent until the node identifies")
          }
          return true
        }
        if (!(yield* admit(identified.fleet))) return false
        node = identified
        annotations.fleet = identified.fleet
        annotations.node = identified.id
        yield* log("info", "ADS stream opened")
        yield* cache.changes(identified.fleet).pipe(
          Stream.runForEach((snapshot) => Queue.offer(events, { _tag: "Snapshot", snapshot })),
          Effect.forkScoped
        )
        return true
      })

      if (!(yield* admit(undefined))) return
      while (true) {
        const now = yield* Clock.currentTimeMillis
        const deadline = core.nextDeadline(now)
        const batch =
          deadline === undefined
            ? yield* Queue.takeAll(events)
            : Option.getOrElse(yield* Effect.timeoutOption(Queue.takeAll(events), deadline - now), () => [])
        // Only the latest snapshot of a batch matters.
        let latest = -1
        batch.forEach((event, index) => {
          if (event._tag === "Snapshot") latest = index
        })
        for (const [index, event] of batch.entries()) {
          switch (event._tag) {
            case "Closed":
              yield* log("debug", "ADS stream closed", { reason: event.reason })
              return
            case "Snapshot":
              if (index !== latest) break
              core.setSnapshot(Option.getOrUndefined(event.snapshot))
              if (Option.isSome(event.snapshot)) toldNoSnapshot = false
              else if (!toldNoSnapshot) {
                toldNoSnapshot = true
                yield* log(
                  "info",
                  "no configuration for this fleet (unknown or cleared): nothing is sent until one is set"
                )
              }
              break
            case "Request":
              if (!(yield* identify(event.request))) return
              yield* apply(io.handle(core, event.request))
              break
          }
        }
        yield* apply(core.reconcile(yield* Clock.currentTimeMillis))
      }
    }).pipe(
      Effect.scoped,
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logError("ADS stream failed", Cause.pretty(cause))
      )
    )

  const server = new grpc.Server({
    // Notice proxies that vanished without closing their stream.
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000
  })
  server.addService(adsServiceDefinition, {
    streamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
      run(serve<DiscoveryRequest>({ mode: "sotw", call, handle: (core, request) => core.onSotwRequest(request) }))
    },
    deltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => {
      run(
        serve<DeltaDiscoveryRequest>({ mode: "delta", call, handle: (core, request) => core.onDeltaRequest(request) })
      )
    }
  })

  const credentials = yield* serverCredentials(options.tls)
  const port = yield* Effect.acquireRelease(
    Effect.callback<number, AdsServerError>((resume) => {
      server.bindAsync(address, credentials, (error, bound) => {
        if (error === null) resume(Effect.succeed(bound))
        else {
          server.forceShutdown()
          resume(Effect.fail(new AdsServerError({ address, reason: error.message })))
        }
      })
    }),
    () =>
      FiberSet.clear(fibers).pipe(
        Effect.andThen(
          Effect.callback<void>((resume) => {
            server.tryShutdown(() => resume(Effect.void))
          }).pipe(Effect.timeoutOption("1 second"), Effect.andThen(Effect.sync(() => server.forceShutdown())))
        )
      )
  )
  const listening = `${hostPort.host.includes(":") ? `[${hostPort.host}]` : hostPort.host}:${port}`
  if (options.tls === undefined && !isLoopback(hostPort.host)) {
    yield* Effect.logWarning(
      options.authenticate === undefined
        ? "ADS in plaintext without authentication beyond loopback: whoever reaches it reads every fleet"
        : "ADS in plaintext beyond loopback: tokens travel unencrypted"
    ).pipe(Effect.annotateLogs({ address: listening }))
  }
  yield* Effect.logInfo("ADS server listening").pipe(
    Effect.annotateLogs({
      address: listening,
      tls: String(options.tls !== undefined),
      authenticated: String(options.authenticate !== undefined)
    })
  )
  return AdsServer.of({ address: listening, port, streams: Effect.sync(() => open) })
})

const isLoopback = (host: string): boolean => host === "localhost" || host === "::1" || /^127\./.test(host)

const identityOf = (pair: TlsKeyPair): grpc.experimental.IdentityCertificateUpdate => ({
  certificate: Buffer.from(pair.cert),
  privateKey: Buffer.from(pair.key)
})

/** Serves one identity at a time to grpc-js (only for a rotating certificate; it holds no CA). */
class RotatingIdentity implements grpc.experimental.CertificateProvider {
  private latest: grpc.experimental.IdentityCertificateUpdate
  private readonly listeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>()
  constructor(pair: TlsKeyPair) {
    this.latest = identityOf(pair)
  }
  set(pair: TlsKeyPair): void {
    this.latest = identityOf(pair)
    for (const listener of this.listeners) listener(this.latest)
  }
  addCaCertificateListener(): void {}
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.listeners.add(listener)
    // Asynchronously, like grpc-js's own providers: grpc-js subscribes before it watches the result.
    process.nextTick(() => {
      if (this.listeners.has(listener)) listener(this.latest)
    })
  }
  removeIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.listeners.delete(listener)
  }
}

/** Plaintext, a fixed certificate, or one that follows `updates` (in the server's scope). */
const serverCredentials = Effect.fnUntraced(function* (tls: AdsTls | undefined) {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure()
  const updates = tls.updates
  if (updates === undefined) {
    return grpc.ServerCredentials.createSsl(null, [
      { cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }
    ])
  }
  const identity = new RotatingIdentity(tls)
  yield* updates.pipe(
    Stream.runForEach((pair) => Effect.sync(() => identity.set(pair))),
    Effect.forkScoped
  )
  // grpc-js passes its first argument on as the identity provider (whatever the parameter's name).
  return grpc.experimental.createCertificateProviderServerCredentials(identity, null, false)
})
