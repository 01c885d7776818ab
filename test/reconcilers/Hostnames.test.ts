import { describe, expect, it } from "vitest"
import {
  ANY_HOST,
  compareHostSpecificity,
  hostKey,
  hostnameMatches,
  intersectHostnames
} from "../../src/reconcilers/Hostnames.ts"

describe("hostnameMatches", () => {
  it("matches exact names and wildcards over one or more labels, never the bare suffix", () => {
    expect(hostnameMatches("foo.example.com", "foo.example.com")).toBe(true)
    expect(hostnameMatches("*.example.com", "foo.example.com")).toBe(true)
    expect(hostnameMatches("*.example.com", "a.b.example.com")).toBe(true)
    expect(hostnameMatches("*.example.com", "example.com")).toBe(false)
    expect(hostnameMatches("*.example.com", "fooexample.com")).toBe(false)
    expect(hostnameMatches("foo.example.com", "*.example.com")).toBe(false)
  })

  it("treats a more specific wildcard as covered by a less specific one", () => {
    expect(hostnameMatches("*.example.com", "*.foo.example.com")).toBe(true)
    expect(hostnameMatches("*.foo.example.com", "*.example.com")).toBe(false)
  })
})

describe("intersectHostnames", () => {
  it("is unrestricted when neither side names a host", () => {
    expect(intersectHostnames(undefined, [])).toEqual([ANY_HOST])
  })
  it("takes the listener's hostname when the route has none, and the route's when the listener has none", () => {
    expect(intersectHostnames("a.com", [])).toEqual(["a.com"])
    expect(intersectHostnames(undefined, ["a.com", "b.com", "a.com"])).toEqual(["a.com", "b.com"])
  })
  it("keeps the more specific side of each intersecting pair and drops the rest", () => {
    expect(intersectHostnames("*.example.com", ["foo.example.com", "other.org", "*.bar.example.com"])).toEqual([
      "foo.example.com",
      "*.bar.example.com"
    ])
    expect(intersectHostnames("foo.example.com", ["*.example.com"])).toEqual(["foo.example.com"])
    expect(intersectHostnames("foo.example.com", ["bar.example.com"])).toEqual([])
  })
})

describe("compareHostSpecificity", () => {
  it("orders exact, then longer wildcards, then shorter wildcards, then no hostname", () => {
    const hosts = [undefined, "*.example.com", "foo.example.com", "*.foo.example.com"]
    expect([...hosts].sort(compareHostSpecificity)).toEqual([
      "foo.example.com",
      "*.foo.example.com",
      "*.example.com",
      undefined
    ])
  })
})

describe("hostKey", () => {
  it("replaces dots for xDS names", () => {
    expect(hostKey("www.example.com")).toBe("www_example_com")
    expect(hostKey("*")).toBe("*")
  })
})
