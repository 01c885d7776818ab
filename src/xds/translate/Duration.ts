/**
 * Gateway API durations (GEP-2257: `1h`, `30m`, `10s`, `100ms`, combined as `1h30m`) as
 * google.protobuf.Duration. Pure.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { DurationSchema } from "@bufbuild/protobuf/wkt"

export type DurationInit = MessageInitShape<typeof DurationSchema>

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }

/** Milliseconds of a Gateway API duration; `undefined` when it is not one. */
export const parseDurationMs = (value: string): number | undefined => {
  if (!/^(?:\d{1,5}(?:h|m|s|ms)){1,4}$/.test(value)) return undefined
  let total = 0
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|h|m|s)/g))
    total += Number(amount) * (UNIT_MS[unit ?? ""] ?? 0)
  return total
}

/** A Duration of `ms` milliseconds. */
export const durationOfMs = (ms: number): DurationInit => {
  const seconds = Math.floor(ms / 1000)
  const nanos = (ms - seconds * 1000) * 1_000_000
  return nanos === 0 ? { seconds: BigInt(seconds) } : { seconds: BigInt(seconds), nanos }
}
