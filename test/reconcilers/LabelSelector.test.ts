import { describe, expect, it } from "vitest"
import { matchesSelector } from "../../src/reconcilers/LabelSelector.ts"

describe("matchesSelector", () => {
  const labels = { env: "prod", team: "a" }
  it("matches everything when empty", () => expect(matchesSelector({}, labels)).toBe(true))
  it("requires every matchLabels pair", () => {
    expect(matchesSelector({ matchLabels: { env: "prod" } }, labels)).toBe(true)
    expect(matchesSelector({ matchLabels: { env: "prod", team: "b" } }, labels)).toBe(false)
  })
  it("implements In, NotIn, Exists and DoesNotExist", () => {
    expect(
      matchesSelector({ matchExpressions: [{ key: "env", operator: "In", values: ["prod", "dev"] }] }, labels)
    ).toBe(true)
    expect(matchesSelector({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, labels)).toBe(
      false
    )
    expect(matchesSelector({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["x"] }] }, labels)).toBe(
      true
    )
    expect(matchesSelector({ matchExpressions: [{ key: "team", operator: "Exists" }] }, labels)).toBe(true)
    expect(matchesSelector({ matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, labels)).toBe(false)
  })
  it("rejects unknown operators instead of ignoring them", () => {
    expect(matchesSelector({ matchExpressions: [{ key: "env", operator: "Gt", values: ["1"] }] }, labels)).toBe(false)
  })
})
