/**
 * The conformance harness itself: its checks must fail where the conformance
 * helpers fail (so a passing conformance test means something), and its
 * working set must behave like the API server for generation and timestamps.
 */
import { describe, expect, it } from "vitest"
import { evaluateStatus } from "./Checks.ts"
import type { StatusExpectation } from "./Expectations.ts"
import { CONTROLLER_NAME, prepareManifestObject, SUITE_GATEWAY_CLASS, UNUSABLE_ADDRESSES } from "./Input.ts"
import { mergePatch } from "./Mutations.ts"
import { at, type Rec, WorkingSet } from "./Objects.ts"
import { StateView } from "./Status.ts"

const NS = "ns"
const route = (generation: number, parents: ReadonlyArray<Rec>): Rec => ({
  kind: "HTTPRoute",
  metadata: { name: "r", namespace: NS, generation },
  status: { parents }
})
const parent = (name: string, conditions: ReadonlyArray<Rec>): Rec => ({
  parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name },
  controllerName: CONTROLLER_NAME,
  conditions
})
const cond = (type: string, status: string, reason: string, observedGeneration = 1): Rec => ({
  type,
  status,
  reason,
  message: "m",
  observedGeneration
})
const view = (obj: Rec): StateView => new StateView([obj], [obj])
const routeObject = { kind: "HTTPRoute", namespace: NS, name: "r" }

describe("conformance harness checks", () => {
  const resolved: StatusExpectation = {
    object: routeObject,
    parentRef: { name: "gw", namespace: NS },
    conditions: [{ type: "ResolvedRefs", status: "True", reason: "ResolvedRefs" }]
  }

  it("route condition: holds, wrong reason, stale generation", () => {
    const ok = route(1, [parent("gw", [cond("ResolvedRefs", "True", "ResolvedRefs")])])
    expect(evaluateStatus(resolved, view(ok), undefined).outcome).toBe("pass")
    const wrong = route(1, [parent("gw", [cond("ResolvedRefs", "False", "BackendNotFound")])])
    expect(evaluateStatus(resolved, view(wrong), undefined).problems.join()).toContain(
      "want ResolvedRefs=True/ResolvedRefs, got ResolvedRefs=False/BackendNotFound"
    )
    const stale = route(2, [parent("gw", [cond("ResolvedRefs", "True", "ResolvedRefs", 1)])])
    expect(evaluateStatus(resolved, view(stale), undefined).problems.join()).toContain("observedGeneration 1, want 2")
    expect(evaluateStatus(resolved, view(route(1, [])), undefined).outcome).toBe("fail")
  })

  it("RouteMustHaveNoAcceptedParents: none or exactly one not accepted", () => {
    const s: StatusExpectation = { object: routeObject, helper: "RouteMustHaveNoAcceptedParents" }
    const rejected = cond("Accepted", "False", "NotAllowedByListeners")
    expect(evaluateStatus(s, view(route(1, [])), undefined).outcome).toBe("pass")
    expect(evaluateStatus(s, view(route(1, [parent("a", [rejected])])), undefined).outcome).toBe("pass")
    const two = route(1, [parent("a", [rejected]), parent("b", [rejected])])
    expect(evaluateStatus(s, view(two), undefined).outcome).toBe("fail")
    const accepted = route(1, [parent("a", [cond("Accepted", "True", "Accepted")])])
    expect(evaluateStatus(s, view(accepted), undefined).outcome).toBe("fail")
  })

  it("GatewayStatusMustHaveListeners: count, empty supportedKinds, attachedRoutes", () => {
    const gateway = (listeners: ReadonlyArray<Rec>): Rec => ({
      kind: "Gateway",
      metadata: { name: "gw", namespace: NS, generation: 1 },
      status: { conditions: [cond("Accepted", "True", "Accepted")], listeners }
    })
    const s: StatusExpectation = {
      object: { kind: "Gateway", namespace: NS, name: "gw" },
      helper: "GatewayStatusMustHaveListeners",
      listeners: [
        { name: "l", attachedRoutes: 0, supportedKinds: [], conditions: [{ type: "Accepted", status: "False" }] }
      ]
    }
    const listener = (attachedRoutes: number, kinds: ReadonlyArray<Rec>): Rec => ({
      name: "l",
      attachedRoutes,
      supportedKinds: kinds,
      conditions: [cond("Accepted", "False", "UnsupportedProtocol")]
    })
    expect(evaluateStatus(s, view(gateway([listener(0, [])])), undefined).outcome).toBe("pass")
    const kinds = evaluateStatus(s, view(gateway([listener(0, [{ kind: "HTTPRoute" }])])), undefined)
    expect(kinds.problems.join()).toContain("want no supportedKinds")
    expect(evaluateStatus(s, view(gateway([listener(1, [])])), undefined).problems.join()).toContain(
      "want attachedRoutes 0, got 1"
    )
    const extra = gateway([listener(0, []), { ...listener(0, []), name: "m" }])
    expect(evaluateStatus(s, view(extra), undefined).problems.join()).toContain("want 1 status.listeners, got 2")
  })
})

describe("conformance harness input", () => {
  it("applies the suite's class, controller and address pools", () => {
    const gw = prepareManifestObject({
      kind: "Gateway",
      metadata: { name: "g" },
      spec: { gatewayClassName: "{GATEWAY_CLASS_NAME}", addresses: [{ value: "PLACEHOLDER_UNUSABLE_ADDRS" }] }
    })
    expect(at(gw, "spec", "gatewayClassName")).toBe(SUITE_GATEWAY_CLASS)
    expect(at(gw, "spec", "addresses")).toEqual(UNUSABLE_ADDRESSES)
    const gc = prepareManifestObject({ kind: "GatewayClass", metadata: { name: "c" }, spec: { controllerName: "x" } })
    expect(at(gc, "spec", "controllerName")).toBe(CONTROLLER_NAME)
  })

  it("JSON merge patch replaces arrays, merges maps, deletes on null", () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] })).toEqual({
      a: { c: 2, d: 3 },
      l: [3]
    })
  })

  it("working set: generation bumps on spec changes only, timestamps ascend", () => {
    const set = new WorkingSet()
    const a = set.apply({ kind: "ConfigMap", metadata: { name: "a", namespace: NS }, data: { k: "1" } })
    const b = set.apply({ kind: "HTTPRoute", metadata: { name: "b", namespace: NS }, spec: { x: 1 } }, 3)
    expect(at(a, "metadata", "generation")).toBe(1)
    const ta = Date.parse(String(at(a, "metadata", "creationTimestamp")))
    expect(Date.parse(String(at(b, "metadata", "creationTimestamp"))) - ta).toBe(3000)
    const ref = { kind: "HTTPRoute", namespace: NS, name: "b" }
    set.update("HTTPRoute/ns/b", { ...structuredClone(b), spec: { x: 1 } })
    expect(set.generation(ref)).toBe(1)
    set.update("HTTPRoute/ns/b", { ...structuredClone(b), spec: { x: 2 } })
    expect(set.generation(ref)).toBe(2)
  })
})
