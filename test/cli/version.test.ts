import { execFileSync } from "node:child_process"
import { describe, expect, it } from "vitest"

describe("portico version", () => {
  it("prints the Portico and Gateway API versions", () => {
    const out = execFileSync(process.execPath, ["src/main.ts", "version"], { encoding: "utf8" })
    expect(out).toMatch(/^portico \d+\.\d+\.\d+ \(Gateway API v1\.6\.1, node v\d+/)
  })
})
