/**
 * src/status/TransitionTimes.ts: transition-time stamping at every place a condition lives,
 * other controllers' entries guarded verbatim, merge by type, and the equality that decides writes.
 */
import { describe, expect, it } from "vitest"
import {
  formatTransitionTime,
  guardForeignEntries,
  jsonEqual,
  mergeConditionList,
  prepareStatus
} from "../../src/status/TransitionTimes.ts"

const OURS = "gateway.envoyproxy.io/gatewayclass-controller"
const OTHER = "example.com/other"
const T0 = "2024-01-01T00:00:00Z"
const NOW = "2024-06-01T12:00:00Z"
const OPTIONS = { controllerName: OURS, now: NOW, generation: 2 }

const cond = (type: string, status: string, extra: Record<string, unknown> = {}) => ({
  type,
  status,
  reason: type,
  message: "",
  observedGeneration: 2,
  ...extra
})
const parentRef = { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "ns", name: "gw" }

describe("formatTransitionTime", () => {
  it("is RFC 3339 at second precision", () => {
    expect(formatTransitionTime(Date.UTC(2024, 5, 1, 12, 0, 0, 999))).toBe(NOW)
  })
})

describe("mergeConditionList", () => {
  it("keeps lastTransitionTime when the status is unchanged, takes now when it changed or is new", () => {
    const previous = [
      cond("Accepted", "True", { lastTransitionTime: T0 }),
      cond("Programmed", "True", { lastTransitionTime: T0 })
    ]
    const desired = [
      cond("Accepted", "True", { message: "new message" }),
      cond("Programmed", "False"),
      cond("ResolvedRefs", "True")
    ]
    expect(mergeConditionList(previous, desired, OPTIONS)).toEqual([
      cond("Accepted", "True", { message: "new message", lastTransitionTime: T0 }),
      cond("Programmed", "False", { lastTransitionTime: NOW }),
      cond("ResolvedRefs", "True", { lastTransitionTime: NOW })
    ])
  })

  it("keeps another controller's condition types, drops Gateway API types we stopped emitting", () => {
    const foreign = { type: "example.com/Healthy", status: "True", reason: "Ok", message: "", lastTransitionTime: T0 }
    const previous = [foreign, cond("PartiallyInvalid", "True", { lastTransitionTime: T0 })]
    expect(mergeConditionList(previous, [cond("Accepted", "True")], OPTIONS)).toEqual([
      cond("Accepted", "True", { lastTransitionTime: NOW }),
      foreign
    ])
  })

  it("never overwrites a condition with a newer observedGeneration; fills a missing one", () => {
    const newer = cond("Accepted", "False", { observedGeneration: 5, lastTransitionTime: T0 })
    const { observedGeneration: _, ...noGeneration } = cond("Programmed", "True")
    expect(mergeConditionList([newer], [cond("Accepted", "True"), noGeneration], OPTIONS)).toEqual([
      newer,
      cond("Programmed", "True", { observedGeneration: 2, lastTransitionTime: NOW })
    ])
  })
})

describe("prepareStatus", () => {
  it("stamps gateway conditions, listener conditions by listener name", () => {
    const previous = {
      conditions: [cond("Accepted", "True", { lastTransitionTime: T0 })],
      listeners: [
        { name: "a", attachedRoutes: 1, conditions: [cond("Programmed", "True", { lastTransitionTime: T0 })] },
        { name: "b", attachedRoutes: 0, conditions: [cond("Programmed", "True", { lastTransitionTime: T0 })] }
      ]
    }
    const desired = {
      conditions: [cond("Accepted", "True")],
      listeners: [
        { name: "b", attachedRoutes: 3, conditions: [cond("Programmed", "False")] },
        { name: "a", attachedRoutes: 2, conditions: [cond("Programmed", "True")] },
        { name: "c", attachedRoutes: 0, conditions: [cond("Programmed", "True")] }
      ]
    }
    expect(prepareStatus(previous, desired, OPTIONS)).toEqual({
      conditions: [cond("Accepted", "True", { lastTransitionTime: T0 })],
      listeners: [
        { name: "b", attachedRoutes: 3, conditions: [cond("Programmed", "False", { lastTransitionTime: NOW })] },
        { name: "a", attachedRoutes: 2, conditions: [cond("Programmed", "True", { lastTransitionTime: T0 })] },
        { name: "c", attachedRoutes: 0, conditions: [cond("Programmed", "True", { lastTransitionTime: NOW })] }
      ]
    })
  })

  it("stamps our parents by parentRef (group and kind defaulted), never another controller's", () => {
    const theirs = {
      parentRef,
      controllerName: OTHER,
      conditions: [cond("Accepted", "False", { lastTransitionTime: T0 })]
    }
    const previous = {
      parents: [
        {
          parentRef: { namespace: "ns", name: "gw" },
          controllerName: OURS,
          conditions: [cond("Accepted", "True", { lastTransitionTime: T0 })]
        },
        theirs
      ]
    }
    const desired = {
      parents: [
        theirs,
        { parentRef, controllerName: OURS, conditions: [cond("Accepted", "True"), cond("ResolvedRefs", "False")] }
      ]
    }
    // Positions kept: ours first (where it was), theirs second, the very same object.
    const out = prepareStatus(previous, desired, OPTIONS) as { parents: Array<unknown> }
    expect(out.parents[1]).toBe(theirs)
    expect(out.parents[0]).toEqual({
      parentRef,
      controllerName: OURS,
      conditions: [
        cond("Accepted", "True", { lastTransitionTime: T0 }),
        cond("ResolvedRefs", "False", { lastTransitionTime: NOW })
      ]
    })
  })

  it("stamps our ancestors by ancestorRef", () => {
    const previous = {
      ancestors: [
        {
          ancestorRef: parentRef,
          controllerName: OURS,
          conditions: [cond("Accepted", "True", { lastTransitionTime: T0 })]
        }
      ]
    }
    const desired = {
      ancestors: [{ ancestorRef: parentRef, controllerName: OURS, conditions: [cond("Accepted", "True")] }]
    }
    expect(prepareStatus(previous, desired, OPTIONS)).toEqual(previous)
  })

  it("undefined stays undefined (nothing to write)", () => {
    expect(prepareStatus({ parents: [] }, undefined, OPTIONS)).toBeUndefined()
  })
})

describe("guardForeignEntries", () => {
  const theirs1 = {
    parentRef,
    controllerName: OTHER,
    conditions: [cond("Accepted", "True", { lastTransitionTime: T0 })]
  }
  const theirs2 = { parentRef: { ...parentRef, name: "other" }, controllerName: "example.com/third", conditions: [] }
  const ours = { parentRef, controllerName: OURS, conditions: [cond("Accepted", "True")] }

  it("restores entries a reconciler dropped, where they were, and drops entries it invented for others", () => {
    const previous = { parents: [theirs1, { ...ours, conditions: [] }, theirs2] }
    const forged = { parentRef, controllerName: OTHER, conditions: [] }
    const out = guardForeignEntries(previous, { parents: [forged, ours] }, OURS) as { parents: Array<unknown> }
    expect(out.parents).toEqual([theirs1, ours, theirs2])
    expect(out.parents[0]).toBe(theirs1)
    expect(out.parents[2]).toBe(theirs2)
  })

  it("replaces ours in place, removes refs we no longer report, appends new ones", () => {
    const gone = { parentRef: { ...parentRef, name: "gone" }, controllerName: OURS, conditions: [] }
    const added = { parentRef: { ...parentRef, name: "added" }, controllerName: OURS, conditions: [] }
    const previous = { parents: [gone, { ...ours, conditions: [] }, theirs1] }
    const out = guardForeignEntries(previous, { parents: [theirs1, added, ours] }, OURS)
    expect(out).toEqual({ parents: [ours, theirs1, added] })
  })

  it("no write war with a controller that orders the list its own way (its entry last, or first)", () => {
    const route = (previous: unknown) => {
      // What the reconcilers do: others first, ours after.
      const parents = (previous as { parents?: Array<{ controllerName: string }> } | undefined)?.parents ?? []
      return { parents: [...parents.filter((p) => p.controllerName !== OURS), ours] }
    }
    for (const theirFirst of [false, true]) {
      const other = (previous: unknown) => {
        const parents = (previous as { parents?: Array<{ controllerName: string }> } | undefined)?.parents ?? []
        const rest = parents.filter((p) => p.controllerName !== OTHER)
        return { parents: theirFirst ? [theirs1, ...rest] : [...rest, theirs1] }
      }
      let status: unknown
      let writes = 0
      for (let round = 0; round < 5; round++) {
        const mine = prepareStatus(status, route(status), OPTIONS)
        if (!jsonEqual(mine, status)) writes++
        status = mine
        const theirs = other(status)
        if (!jsonEqual(theirs, status)) writes++
        status = theirs
      }
      expect(writes).toBe(2)
    }
  })

  it("keeps other controllers' entries even when the desired status has no list at all", () => {
    expect(guardForeignEntries({ ancestors: [theirs1] }, {}, OURS)).toEqual({ ancestors: [theirs1] })
    expect(guardForeignEntries({ parents: [] }, {}, OURS)).toEqual({})
  })
})

describe("jsonEqual", () => {
  it("ignores key order and undefined members, nothing else", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1, e: undefined })).toBe(true)
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false)
    expect(jsonEqual({ a: 1 }, { a: "1" })).toBe(false)
    expect(jsonEqual(undefined, {})).toBe(false)
  })

  it("a status prepared twice against what was written is equal to it (no second write)", () => {
    const desired = { parents: [{ parentRef, controllerName: OURS, conditions: [cond("Accepted", "True")] }] }
    const first = prepareStatus(undefined, desired, OPTIONS)
    const second = prepareStatus(first, desired, { ...OPTIONS, now: "2030-01-01T00:00:00Z" })
    expect(jsonEqual(first, second)).toBe(true)
  })
})
