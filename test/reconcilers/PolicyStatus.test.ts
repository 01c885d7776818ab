/**
 * A BackendTLSPolicy's status function keeps other controllers' ancestor entries untouched (the
 * status writer recomputes from the object's current status), and replaces only ours.
 */
import { readFileSync } from "node:fs"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseDocuments } from "../../src/providers/file/Documents.ts"
import { DEFAULT_CONTROLLER_NAME, translateObjects } from "../../src/reconcilers/Translate.ts"

const file = new URL("../golden/translate/backendtlspolicy-accepted.in.yaml", import.meta.url)
const parsed = parseDocuments("backendtlspolicy-accepted.in.yaml", readFileSync(file, "utf8"))
const objects = Result.isSuccess(parsed) ? parsed.success.map((d) => d.object) : []

describe("BackendTLSPolicy status", () => {
  it("keeps another controller's ancestors and replaces our own", () => {
    const result = translateObjects(objects)
    const [key, compute] = [...result.statuses].find(([k]) => k.startsWith("BackendTLSPolicy/")) ?? []
    expect(key).toBeDefined()
    const theirs = {
      ancestorRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "elsewhere" },
      controllerName: "example.com/other",
      conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "", observedGeneration: 1 }]
    }
    const staleOurs = { ...theirs, controllerName: DEFAULT_CONTROLLER_NAME, ancestorRef: { name: "gone" } }
    const fresh = compute?.(undefined) as { ancestors: ReadonlyArray<unknown> }
    const next = compute?.({ ancestors: [theirs, staleOurs] }) as { ancestors: ReadonlyArray<unknown> }
    expect(next.ancestors[0]).toBe(theirs)
    expect(next.ancestors.slice(1)).toEqual(fresh.ancestors)
    expect(next.ancestors).not.toContainEqual(staleOurs)
  })
})
