import { describe, expect, it } from "vitest"
import { re2Error } from "../../src/reconcilers/Regex.ts"

describe("re2Error", () => {
  it("accepts RE2 syntax, including what JavaScript lacks", () => {
    expect(re2Error("/foo/[0-9]+")).toBeUndefined()
    expect(re2Error("(?P<id>[a-z]+)")).toBeUndefined()
    expect(re2Error("(?i)abc")).toBeUndefined()
  })
  it("rejects what RE2 cannot run (Envoy would NACK it)", () => {
    expect(re2Error("(?=a)b")).toMatch(/Perl syntax/)
    expect(re2Error("(a)\\1")).toBeDefined()
    expect(re2Error("[")).toBeDefined()
  })
})
