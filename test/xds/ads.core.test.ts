/**
 * src/xds/ads/StreamCore.ts without gRPC: subscription rules, nonces and answers that the socket
 * tests do not reach easily.
 */
import { create } from "@bufbuild/protobuf"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { AdsStreamCore, type Outgoing } from "../../src/xds/ads/StreamCore.ts"
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema
} from "../../src/xds/proto/envoy/service/discovery/v3/discovery_pb.ts"
import { makeSnapshot } from "../../src/xds/Snapshot.ts"
import { httpFleet, sotwNames, TypeUrl } from "../support/adsClient.ts"

const snapshot = Result.getOrThrow(makeSnapshot(httpFleet("f", ["a", "b"])))

const sotw = (responses: ReadonlyArray<Outgoing>) =>
  responses.map((r) => (r._tag === "sotw" ? `${r.message.nonce}:${sotwNames(r.message).join(",")}` : "delta"))

describe("AdsStreamCore", () => {
  it("sends nothing without a snapshot", () => {
    const core = new AdsStreamCore("sotw", { ackTimeoutMs: 1000 })
    core.onSotwRequest(create(DiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster }))
    expect(core.reconcile(0).responses).toEqual([])
    core.setSnapshot(snapshot)
    expect(sotw(core.reconcile(0).responses)).toEqual(["1:a,b"])
  })

  it("SotW: an empty list is a wildcard only for LDS/CDS and only until names were given; '*' always is", () => {
    const core = new AdsStreamCore("sotw", { ackTimeoutMs: 1000 })
    core.setSnapshot(snapshot)
    core.onSotwRequest(create(DiscoveryRequestSchema, { typeUrl: TypeUrl.ClusterLoadAssignment }))
    expect(core.reconcile(0).responses).toEqual([]) // EDS: empty is nothing
    core.onSotwRequest(create(DiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster, resourceNames: ["a"] }))
    const named = core.reconcile(0).responses
    expect(sotw(named)).toEqual(["1:a"])
    // After names, an empty list means no clusters (not all of them): nothing new to send.
    core.onSotwRequest(create(DiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster, responseNonce: "1" }))
    expect(core.reconcile(0).responses).toEqual([])
    core.onSotwRequest(
      create(DiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster, responseNonce: "1", resourceNames: ["*"] })
    )
    expect(sotw(core.reconcile(0).responses)).toEqual(["2:a,b"])
  })

  it("records a late NACK of an earlier response without taking it for the latest's answer", () => {
    const core = new AdsStreamCore("sotw", { ackTimeoutMs: 1000 })
    core.setSnapshot(snapshot)
    core.onSotwRequest(create(DiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster }))
    core.reconcile(0)
    core.setSnapshot(Result.getOrThrow(makeSnapshot(httpFleet("f", ["a", "b", "c"]))))
    expect(sotw(core.reconcile(0).responses)).toEqual(["2:a,b,c"])
    const late = core.onSotwRequest(
      create(DiscoveryRequestSchema, {
        typeUrl: TypeUrl.Cluster,
        responseNonce: "1",
        errorDetail: { code: 3, message: "bad" }
      })
    )
    expect(late.nacks).toEqual([{ typeUrl: TypeUrl.Cluster, nonce: "1", errorDetail: "bad" }])
    expect(late.notes.map((n) => n.message)).toEqual(["ignoring a request with a stale nonce"])
    expect(core.nextDeadline(0)).toBe(1000) // "2" still waits for its answer
    const ack = core.onSotwRequest(
      create(DiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster, responseNonce: "2", versionInfo: "v" })
    )
    expect(ack.acks).toEqual([{ typeUrl: TypeUrl.Cluster, nonce: "2", version: "v" }])
    expect(core.nextDeadline(0)).toBeUndefined()
  })

  it("ignores types it does not serve", () => {
    const core = new AdsStreamCore("delta", { ackTimeoutMs: 1000 })
    core.setSnapshot(snapshot)
    const out = core.onDeltaRequest(
      create(DeltaDiscoveryRequestSchema, { typeUrl: "type.googleapis.com/envoy.config.route.v3.VirtualHost" })
    )
    expect(out.notes[0]?.message).toBe("ignoring a request for an unserved type")
    expect(core.reconcile(0).responses).toEqual([])
  })

  it("delta: a first wildcard request is answered even when the fleet has nothing of the type", () => {
    const core = new AdsStreamCore("delta", { ackTimeoutMs: 1000 })
    core.setSnapshot(snapshot)
    core.onDeltaRequest(create(DeltaDiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster }))
    core.reconcile(0)
    core.onDeltaRequest(create(DeltaDiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster, responseNonce: "1" }))
    core.onDeltaRequest(create(DeltaDiscoveryRequestSchema, { typeUrl: TypeUrl.Secret, resourceNamesSubscribe: ["*"] }))
    const out = core.reconcile(0).responses
    expect(out.map((r) => (r._tag === "delta" ? [r.message.typeUrl, r.message.resources.length] : []))).toEqual([
      [TypeUrl.Secret, 0]
    ])
  })
})
