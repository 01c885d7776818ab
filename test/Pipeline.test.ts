/**
 * The pipeline: a batch of objects -> statuses and per-fleet snapshots. Only changed fleets are
 * set again (their proxies hear nothing otherwise); vanished fleets are cleared; translation
 * errors name the file they came from.
 */
import { it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { describe, expect } from "vitest"
import { Pipeline } from "../src/Pipeline.ts"
import { fleetNameOf } from "../src/reconcilers/Gateway.ts"
import { SnapshotCache } from "../src/xds/SnapshotCache.ts"

const gatewayClass = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GatewayClass",
  metadata: { name: "eg" },
  spec: { controllerName: "gateway.envoyproxy.io/gatewayclass-controller" }
}
const gateway = (name: string, port: number) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name, namespace: "default" },
  spec: { gatewayClassName: "eg", listeners: [{ name: "http", protocol: "HTTP", port }] }
})

const layer = Pipeline.layer().pipe(Layer.provideMerge(SnapshotCache.layer))

describe("Pipeline", () => {
  it.effect("sets only the fleets that changed and clears the ones that vanished", () =>
    Effect.gen(function* () {
      const pipeline = yield* Pipeline
      const cache = yield* SnapshotCache
      const a = fleetNameOf("default", "a")
      const b = fleetNameOf("default", "b")
      const { view: first } = yield* pipeline.apply({ objects: [gatewayClass, gateway("a", 80), gateway("b", 81)] })
      expect(first.generation).toBe(1)
      expect(first.ready).toBe(true)
      expect(first.changedFleets).toEqual([a, b].sort())
      const snapshotA = yield* cache.getSnapshot(a)
      // b changes, a does not: a's snapshot is the same object.
      const { view: second } = yield* pipeline.apply({ objects: [gatewayClass, gateway("a", 80), gateway("b", 82)] })
      expect(second.changedFleets).toEqual([b])
      expect(yield* cache.getSnapshot(a)).toBe(snapshotA)
      // b is deleted: its snapshot goes.
      const { view: third } = yield* pipeline.apply({ objects: [gatewayClass, gateway("a", 80)] })
      expect(third.changedFleets).toEqual([b])
      expect(third.fleets).toEqual([a])
      expect(Option.isNone(yield* cache.getSnapshot(b))).toBe(true)
      expect(yield* cache.fleets).toEqual([a])
    }).pipe(Effect.provide(layer))
  )

  it.effect("statuses and translation errors, named by the object's origin", () =>
    Effect.gen(function* () {
      const pipeline = yield* Pipeline
      const { view } = yield* pipeline.apply({
        objects: [gatewayClass, gateway("a", 0)],
        origins: [
          { file: "gw.yaml", index: 0 },
          { file: "gw.yaml", index: 1 }
        ],
        sourceErrors: [{ source: "x.yaml", message: "x.yaml: cannot read" }]
      })
      expect(view.errors).toEqual([
        { source: "x.yaml", message: "x.yaml: cannot read" },
        {
          source: "gw.yaml",
          message:
            "gw.yaml: document 2: Gateway default/a: spec.listeners[0].port: expected a value between 1 and 65535, got 0"
        }
      ])
      expect(view.objects.map((o) => o.kind)).toEqual(["GatewayClass"])
      expect(view.fleets).toEqual([])
      expect((yield* pipeline.view).generation).toBe(1)
    }).pipe(Effect.provide(layer))
  )
})
