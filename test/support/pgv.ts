/**
 * protoc-gen-validate, evaluated in tests: walks a message (through `google.protobuf.Any`, via the
 * registry) and checks every `(validate.rules)` annotation the Envoy protos carry — the rules
 * Envoy itself enforces when it loads a resource (a violation is a NACK). The generated
 * descriptors keep the annotations (src/xds/proto/validate/validate_pb.ts declares them), so the
 * rules are read from the protos themselves, never restated here.
 *
 * Covered: required messages and oneofs; string length (runes and bytes), prefix / suffix /
 * contains, in / not_in, pattern (RE2), well-known regexes (HTTP header names and values),
 * hostname / IP / address; numeric and enum const / ranges / in / not_in / defined_only;
 * repeated and map sizes, uniqueness and item rules; Any required / in / not_in; Duration
 * required / ranges; `ignore_empty`. Not covered: timestamps, bytes content, email / URI / UUID
 * formats, inverted (exclusive) numeric ranges.
 */
import { isIP } from "node:net"
import { type DescField, type DescMessage, getOption, hasOption, type Message } from "@bufbuild/protobuf"
import { type ReflectList, type ReflectMap, type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect"
import { anyUnpack } from "@bufbuild/protobuf/wkt"
import { RE2JS } from "re2js"
import {
  disabled,
  type FieldRules,
  FieldRulesSchema,
  ignored,
  KnownRegex,
  required,
  rules as rulesExtension
} from "../../src/xds/proto/validate/validate_pb.ts"
import { registry } from "../../src/xds/Registry.ts"

const WRAPPERS = new Set(
  ["Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"].map(
    (t) => `google.protobuf.${t}Value`
  )
)

/** Whether a proto2 rule field is set (rules messages are proto2: presence is explicit). */
const has = (message: Message, name: string): boolean => {
  const r = reflect(registry.getMessage(message.$typeName) ?? FieldRulesSchema, message)
  const field = r.fields.find((f) => f.localName === name)
  return field !== undefined && r.isSet(field)
}

const get = (message: Message, name: string): unknown => (message as unknown as Record<string, unknown>)[name]

const regexCache = new Map<string, RE2JS>()
const re2 = (pattern: string): RE2JS => {
  let compiled = regexCache.get(pattern)
  if (compiled === undefined) {
    compiled = RE2JS.compile(pattern)
    regexCache.set(pattern, compiled)
  }
  return compiled
}

// PGV's well-known regexes (validate.proto, KnownRegex): strict is the default.
const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/
/** Strict header values: no control characters except horizontal tab. */
const headerValueStrict = (value: string): boolean =>
  [...value].every((c) => {
    const code = c.charCodeAt(0)
    return code === 0x09 || (code >= 0x20 && code !== 0x7f)
  })
/** Loose (strict: false) header names and values: no NUL, CR or LF. */
const headerLoose = (value: string): boolean => !/[\n\r]/.test(value) && !value.includes(String.fromCharCode(0))
const HOSTNAME =
  /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/

type Num = number | bigint

const compareNum = (a: Num, b: Num): number => {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0
  const x = typeof a === "bigint" ? a : BigInt(Math.trunc(a))
  const y = typeof b === "bigint" ? b : BigInt(Math.trunc(b))
  return x < y ? -1 : x > y ? 1 : 0
}

const isDefault = (value: unknown): boolean =>
  value === undefined || value === "" || value === 0 || value === 0n || value === false

/** Numeric-like rules (ints, floats, enums' const/in): const, lt, lte, gt, gte, in, not_in. */
const checkNumber = (value: Num, rules: Message, at: string, out: Array<string>): void => {
  if (has(rules, "ignoreEmpty") && get(rules, "ignoreEmpty") === true && isDefault(value)) return
  const bound = (name: string, ok: (c: number) => boolean, text: string) => {
    if (!has(rules, name)) return
    const limit = get(rules, name) as Num
    if (!ok(compareNum(value, limit))) out.push(`${at}: ${String(value)} must be ${text} ${String(limit)}`)
  }
  bound("const", (c) => c === 0, "equal to")
  bound("lt", (c) => c < 0, "<")
  bound("lte", (c) => c <= 0, "<=")
  bound("gt", (c) => c > 0, ">")
  bound("gte", (c) => c >= 0, ">=")
  const list = (name: string) => (get(rules, name) as ReadonlyArray<Num> | undefined) ?? []
  if (list("in").length > 0 && !list("in").some((v) => compareNum(v, value) === 0)) {
    out.push(`${at}: ${String(value)} must be in [${list("in").join(", ")}]`)
  }
  if (list("notIn").some((v) => compareNum(v, value) === 0)) out.push(`${at}: ${String(value)} is not allowed`)
}

const checkString = (value: string, rules: Message, at: string, out: Array<string>): void => {
  if (has(rules, "ignoreEmpty") && get(rules, "ignoreEmpty") === true && value === "") return
  const runes = [...value].length
  const bytes = Buffer.byteLength(value, "utf8")
  const n = (name: string) => (has(rules, name) ? Number(get(rules, name)) : undefined)
  const fail = (why: string) => out.push(`${at}: ${JSON.stringify(value)} ${why}`)
  const len = n("len")
  if (len !== undefined && runes !== len) fail(`must have ${len} characters`)
  const minLen = n("minLen")
  if (minLen !== undefined && runes < minLen) fail(`must have at least ${minLen} characters`)
  const maxLen = n("maxLen")
  if (maxLen !== undefined && runes > maxLen) fail(`must have at most ${maxLen} characters`)
  const minBytes = n("minBytes")
  if (minBytes !== undefined && bytes < minBytes) fail(`must have at least ${minBytes} bytes`)
  const maxBytes = n("maxBytes")
  if (maxBytes !== undefined && bytes > maxBytes) fail(`must have at most ${maxBytes} bytes`)
  if (has(rules, "const") && value !== get(rules, "const")) fail(`must be ${JSON.stringify(get(rules, "const"))}`)
  if (has(rules, "prefix") && !value.startsWith(String(get(rules, "prefix")))) fail("has the wrong prefix")
  if (has(rules, "suffix") && !value.endsWith(String(get(rules, "suffix")))) fail("has the wrong suffix")
  if (has(rules, "contains") && !value.includes(String(get(rules, "contains")))) fail("misses a required part")
  if (has(rules, "notContains") && value.includes(String(get(rules, "notContains")))) fail("has a forbidden part")
  const inList = (get(rules, "in") as ReadonlyArray<string> | undefined) ?? []
  if (inList.length > 0 && !inList.includes(value)) fail(`must be one of ${inList.join(", ")}`)
  if (((get(rules, "notIn") as ReadonlyArray<string> | undefined) ?? []).includes(value)) fail("is not allowed")
  if (has(rules, "pattern") && !re2(String(get(rules, "pattern"))).test(value)) {
    fail(`must match ${String(get(rules, "pattern"))}`)
  }
  const wellKnown = get(rules, "wellKnown") as { case?: string; value?: unknown }
  const strict = has(rules, "strict") ? get(rules, "strict") === true : true
  switch (wellKnown.case) {
    case "wellKnownRegex":
      if (wellKnown.value === KnownRegex.HTTP_HEADER_NAME) {
        if (!(strict ? HEADER_NAME_STRICT.test(value) : headerLoose(value))) fail("is not an HTTP header name")
      } else if (wellKnown.value === KnownRegex.HTTP_HEADER_VALUE) {
        if (!(strict ? headerValueStrict(value) : headerLoose(value))) fail("is not an HTTP header value")
      }
      break
    case "hostname":
      if (wellKnown.value === true && !HOSTNAME.test(value)) fail("is not a hostname")
      break
    case "ip":
      if (wellKnown.value === true && isIP(value) === 0) fail("is not an IP address")
      break
    case "ipv4":
      if (wellKnown.value === true && isIP(value) !== 4) fail("is not an IPv4 address")
      break
    case "ipv6":
      if (wellKnown.value === true && isIP(value) !== 6) fail("is not an IPv6 address")
      break
    case "address":
      if (wellKnown.value === true && isIP(value) === 0 && !HOSTNAME.test(value)) fail("is not an address")
      break
  }
}

const durationNanos = (message: Message): bigint =>
  BigInt(get(message, "seconds") as bigint) * 1_000_000_000n + BigInt(get(message, "nanos") as number)

const checkDuration = (value: Message, rules: Message, at: string, out: Array<string>): void => {
  const nanos = durationNanos(value)
  const bound = (name: string, ok: (d: bigint) => boolean, text: string) => {
    if (!has(rules, name)) return
    const limit = durationNanos(get(rules, name) as Message)
    if (!ok(nanos - limit)) out.push(`${at}: duration must be ${text} ${limit}ns`)
  }
  bound("const", (d) => d === 0n, "equal to")
  bound("lt", (d) => d < 0n, "<")
  bound("lte", (d) => d <= 0n, "<=")
  bound("gt", (d) => d > 0n, ">")
  bound("gte", (d) => d >= 0n, ">=")
}

/** A scalar or enum value against its field rules. */
const checkScalar = (field: DescField, value: unknown, fieldRules: FieldRules, at: string, out: Array<string>) => {
  const type = fieldRules.type
  if (type.case === undefined) return
  if (type.case === "string" && typeof value === "string") checkString(value, type.value, at, out)
  else if (type.case === "bool") {
    if (has(type.value, "const") && value !== get(type.value, "const"))
      out.push(`${at}: must be ${String(get(type.value, "const"))}`)
  } else if (type.case === "enum" && typeof value === "number") {
    checkNumber(value, type.value, at, out)
    const enumDesc = field.fieldKind === "enum" ? field.enum : field.fieldKind === "list" ? field.enum : undefined
    if (
      get(type.value, "definedOnly") === true &&
      enumDesc !== undefined &&
      !enumDesc.values.some((v) => v.number === value)
    ) {
      out.push(`${at}: ${value} is not a defined value of ${enumDesc.typeName}`)
    }
  } else if (typeof value === "number" || typeof value === "bigint") {
    if (
      type.case !== "bytes" &&
      type.case !== "repeated" &&
      type.case !== "map" &&
      type.case !== "any" &&
      type.case !== "duration" &&
      type.case !== "timestamp"
    ) {
      checkNumber(value, type.value, at, out)
    }
  }
}

const fieldRulesOf = (field: DescField): FieldRules | undefined =>
  hasOption(field, rulesExtension) ? getOption(field, rulesExtension) : undefined

/** A message-typed value (field, list item or map value) against its rules, then its own fields. */
const checkMessageValue = (
  value: ReflectMessage,
  fieldRules: FieldRules | undefined,
  at: string,
  out: Array<string>
) => {
  const typeName = value.desc.typeName
  if (WRAPPERS.has(typeName)) {
    const inner = value.desc.fields[0]
    if (inner !== undefined && fieldRules !== undefined) checkScalar(inner, value.get(inner), fieldRules, at, out)
    return
  }
  if (typeName === "google.protobuf.Duration" && fieldRules?.type.case === "duration") {
    checkDuration(value.message, fieldRules.type.value, at, out)
  }
  if (typeName === "google.protobuf.Any") {
    const typeUrl = String(get(value.message, "typeUrl"))
    if (fieldRules?.type.case === "any") {
      const inList = fieldRules.type.value.in
      if (inList.length > 0 && !inList.includes(typeUrl)) out.push(`${at}: type ${typeUrl} is not allowed here`)
      if (fieldRules.type.value.notIn.includes(typeUrl)) out.push(`${at}: type ${typeUrl} is not allowed here`)
    }
    const unpacked = anyUnpack(value.message as Parameters<typeof anyUnpack>[0], registry)
    if (unpacked === undefined) {
      out.push(`${at}: unknown type ${typeUrl}`)
      return
    }
    const desc = registry.getMessage(unpacked.$typeName)
    if (desc !== undefined) validateMessage(desc, unpacked, `${at}<${unpacked.$typeName}>`, out)
    return
  }
  if (fieldRules?.message?.skip === true) return
  validateMessage(value.desc, value.message, at, out)
}

const checkField = (r: ReflectMessage, field: DescField, at: string, out: Array<string>): void => {
  const fieldRules = fieldRulesOf(field)
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
      if (fieldRules !== undefined) checkScalar(field, r.get(field), fieldRules, at, out)
      return
    case "message": {
      if (!r.isSet(field)) {
        const anyRequired = fieldRules?.type.case === "any" && fieldRules.type.value.required
        const durationRequired = fieldRules?.type.case === "duration" && fieldRules.type.value.required
        if (fieldRules?.message?.required === true || anyRequired || durationRequired) out.push(`${at}: required`)
        return
      }
      checkMessageValue(r.get(field) as ReflectMessage, fieldRules, at, out)
      return
    }
    case "list": {
      const list = r.get(field) as ReflectList
      const repeated = fieldRules?.type.case === "repeated" ? fieldRules.type.value : undefined
      if (repeated !== undefined && !(repeated.ignoreEmpty && list.size === 0)) {
        if (has(repeated, "minItems") && list.size < Number(repeated.minItems)) {
          out.push(`${at}: at least ${repeated.minItems} items required`)
        }
        if (has(repeated, "maxItems") && list.size > Number(repeated.maxItems)) {
          out.push(`${at}: at most ${repeated.maxItems} items allowed`)
        }
        if (repeated.unique && field.listKind !== "message") {
          const values = [...list].map(String)
          if (new Set(values).size !== values.length) out.push(`${at}: items must be unique`)
        }
      }
      let index = 0
      for (const item of list) {
        const itemAt = `${at}[${index++}]`
        if (field.listKind === "message") checkMessageValue(item as ReflectMessage, repeated?.items, itemAt, out)
        else if (repeated?.items !== undefined) checkScalar(field, item, repeated.items, itemAt, out)
      }
      return
    }
    case "map": {
      const map = r.get(field) as ReflectMap
      const mapRules = fieldRules?.type.case === "map" ? fieldRules.type.value : undefined
      if (mapRules !== undefined && !(mapRules.ignoreEmpty && map.size === 0)) {
        if (has(mapRules, "minPairs") && map.size < Number(mapRules.minPairs)) out.push(`${at}: too few entries`)
        if (has(mapRules, "maxPairs") && map.size > Number(mapRules.maxPairs)) out.push(`${at}: too many entries`)
      }
      for (const [key, value] of map) {
        const entryAt = `${at}[${String(key)}]`
        if (mapRules?.keys !== undefined) checkScalar(field, key, mapRules.keys, `${entryAt} (key)`, out)
        if (field.mapKind === "message") checkMessageValue(value as ReflectMessage, mapRules?.values, entryAt, out)
        else if (mapRules?.values !== undefined) checkScalar(field, value, mapRules.values, entryAt, out)
      }
      return
    }
  }
}

/** Every PGV violation in `message` (and what it contains), as `path: reason`. */
export const validateMessage = (
  schema: DescMessage,
  message: Message,
  at: string = schema.name,
  out: Array<string> = []
): Array<string> => {
  if (getOption(schema, disabled) || getOption(schema, ignored)) return out
  const r = reflect(schema, message)
  for (const oneof of r.oneofs) {
    if (getOption(oneof, required) && r.oneofCase(oneof) === undefined)
      out.push(`${at}.${oneof.name}: one of it is required`)
  }
  for (const field of r.fields) {
    if (field.oneof !== undefined && r.oneofCase(field.oneof) !== field) continue
    checkField(r, field, `${at}.${field.name}`, out)
  }
  return out
}
