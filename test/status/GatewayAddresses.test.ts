import { describe, expect, it } from "vitest"
import { makeCondition } from "../../src/status/Conditions.ts"
import { withAssignedAddresses } from "../../src/status/GatewayAddresses.ts"

const programmed = {
  conditions: [
    makeCondition("Accepted", "True", "Accepted", "ok", 3),
    makeCondition("Programmed", "True", "Programmed", "Gateway is programmed", 3)
  ],
  addresses: [{ type: "IPAddress", value: "10.0.0.1" }],
  listeners: []
}

describe("withAssignedAddresses", () => {
  it("a programmed Gateway without an assigned address is AddressNotAssigned, with no addresses", () => {
    const out = withAssignedAddresses(programmed, {
      addresses: [],
      assigned: false,
      service: "default/envoy-x"
    }) as typeof programmed
    expect(out.addresses).toEqual([])
    expect(out.conditions[0]).toEqual(programmed.conditions[0])
    expect(out.conditions[1]).toEqual(
      makeCondition(
        "Programmed",
        "False",
        "AddressNotAssigned",
        "waiting for an address: Service default/envoy-x has none assigned yet",
        3
      )
    )
  })

  it("an assigned address becomes status.addresses and Programmed stays True", () => {
    const out = withAssignedAddresses(programmed, {
      addresses: [
        { type: "IPAddress", value: "172.18.255.200" },
        { type: "Hostname", value: "lb.example.com" }
      ],
      assigned: true,
      service: "default/envoy-x"
    }) as typeof programmed
    expect(out.addresses).toEqual([
      { type: "IPAddress", value: "172.18.255.200" },
      { type: "Hostname", value: "lb.example.com" }
    ])
    expect(out.conditions).toEqual(programmed.conditions)
  })

  it("a Gateway that is not programmed keeps its condition; no infra information changes nothing", () => {
    const invalid = { conditions: [makeCondition("Programmed", "False", "Invalid", "no listener", 1)] }
    const out = withAssignedAddresses(invalid, { addresses: [], assigned: false, service: "a/b" }) as typeof invalid
    expect(out.conditions).toEqual(invalid.conditions)
    expect(withAssignedAddresses(programmed, undefined)).toBe(programmed)
  })
})
