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
 */

import * as grpc from "@grpc/grpc-js"
import { Cause, Clock, Context, Duration, Effect, FiberSet, Layer, Option, Queue, Schema, Stream } from "effect"
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

      const identify = Effect.fnUntraced(function* (request: Req) {
        if (node !== undefined) return
        const identified = identifyNode(request.node)
        if (identified === undefined) {
          if (!toldNoNode) {
            toldNoNode = true
            yield* log("info", "ADS request without node.cluster or node.id: nothing is sent until the node identifies")
          }
          return
        }
        node = identified
        annotations.fleet = identified.fleet
        annotations.node = identified.id
        yield* log("info", "ADS stream opened")
        yield* cache.changes(identified.fleet).pipe(
          Stream.runForEach((snapshot) => Queue.offer(events, { _tag: "Snapshot", snapshot })),
          Effect.forkScoped
        )
      })

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
              yield* identify(event.request)
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

  const port = yield* Effect.acquireRelease(
    Effect.callback<number, AdsServerError>((resume) => {
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => {
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
  yield* Effect.logInfo("ADS server listening").pipe(Effect.annotateLogs({ address: listening }))
  return AdsServer.of({ address: listening, port, streams: Effect.sync(() => open) })
})
